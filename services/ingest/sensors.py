"""Tag presence for reconciliation, over the stored tag reads (a `TagPresence` implementation)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from pledge.presence import DEFAULT_WINDOW, bay_readers, count_present, gate_readers
from services.ingest.movement import tag_sightings
from services.ingest.placement import all_placements
from services.ingest.readers import DEFAULT_HEARTBEAT_TIMEOUT, offline_readers
from services.uow import SqlUnitOfWork


class TagReadPresence:
    """Quantity present per bay and commodity: the lots' tags that the bay's readers see."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        window: timedelta = DEFAULT_WINDOW,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
    ) -> None:
        """Read presence from this database, judged at the clock's time."""
        self._sessions = session_factory
        self._clock = clock
        self._window = window
        self._timeout = heartbeat_timeout

    def quantity_present(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """The quantity the present tags stand for; None when no online reader watches the bay."""
        now = self._clock()
        with SqlUnitOfWork.start(self._sessions) as uow:
            bay = uow.bays.get(bay_id)
            if bay is None:
                return None
            places = all_placements(uow.session)
            offline = offline_readers(uow.session, now, self._timeout)
            in_bay = bay_readers(places, bay_id)
            gates = gate_readers(places, bay.warehouse_id)
            total = Decimal(0)
            for lot in uow.lots.find(bay_id=bay_id, commodity_code=commodity_code):
                if not lot.epcs:
                    continue
                seen = {e: tag_sightings(uow.session, e, in_bay, gates) for e in lot.epcs}
                present = count_present(
                    seen,
                    lot.epcs,
                    bay_id=bay_id,
                    warehouse_id=bay.warehouse_id,
                    placements=places,
                    offline=offline,
                    now=now,
                    window=self._window,
                )
                if present is None:
                    return None
                # One tag per piece for counted goods; for bulk goods each tag carries an
                # equal share of what the lot holds on the book.
                total += Decimal(present) * lot.quantity / Decimal(len(lot.epcs))
            return total
