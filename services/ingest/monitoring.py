"""Bay monitoring status from the reader registry and camera alerts, and revaluation on change.

A bay is **tampered** while an unresolved `camera_tamper` alert names it (subject `bay_id`, or
`bay_ids` for every bay a camera watches), and **unmonitored** while an unresolved
`camera_offline` alert names it. Otherwise it is **unmonitored** when its warehouse has tag
readers registered but none of the readers placed on the bay is up: either every one of them is
offline, or none is placed there.
A warehouse with no readers registered at all is taken as monitored: it runs without tag
hardware, and valuing every such warehouse at half would punish a choice, not a gap.

Revaluation runs on a schedule and, through `RevalueOnReaderChange`, the moment the ingest
worker records a reader's last will, birth or silence.

"Offline" is the reader's stored status, which the ingest worker keeps: a last will or the
presence check (`mark_silent_readers_offline`) sets it, and any read or heartbeat sets it back
online. Following the worker's verdict keeps one clock for "gone", not two that can disagree.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from loans.ports import BayMonitoring
from loans.valuing import revalue_bank_loans
from pledge.alert_tables import alerts
from pledge.alerts import Alert, AlertState, AlertType
from pledge.model import Bay, Warehouse
from pledge.tables import lots, receipts
from services.ingest.tables import Reader

if TYPE_CHECKING:
    from services.bootstrap import Container

log = logging.getLogger(__name__)

# Where the last run's statuses are kept between runs of the scheduled job.
_SNAPSHOT_KEY = "monitoring.snapshot"
# The scheduled job and the ingest worker's reaction may run at once; they share the snapshot.
_LOCK_KEY = "monitoring.lock"


class SqlMonitoringStatus:
    """Bay monitoring status read from the ingest tables and the alerts in one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def status(self, bay_id: str) -> BayMonitoring:
        """The bay's monitoring status now."""
        bay = self._session.get(Bay, bay_id)
        if bay is None:
            return BayMonitoring.MONITORED
        if bay_id in self._bays_named(AlertType.CAMERA_TAMPER):
            return BayMonitoring.TAMPERED
        # A camera that sends no frames watches nothing, like an offline reader: the bay is
        # unmonitored, not tampered, since an outage is no sign anyone interfered.
        if bay_id in self._bays_named(AlertType.CAMERA_OFFLINE):
            return BayMonitoring.UNMONITORED
        warehouse = self._session.get(Warehouse, bay.warehouse_id)
        if warehouse is None:
            return BayMonitoring.MONITORED
        return self._reader_status(warehouse.code, bay_id)

    def _bays_named(self, kind: AlertType) -> set[str]:
        # The subject is JSON, which SQLite and PostgreSQL query differently; open camera alerts
        # are few, so they are filtered here rather than in SQL. A camera alert names one bay
        # (`bay_id`) or every bay the camera watches (`bay_ids`, comma-separated).
        rows = self._session.scalars(
            select(Alert).where(alerts.c.type == kind, alerts.c.state != AlertState.RESOLVED)
        )
        named: set[str] = set()
        for alert in rows:
            if bay := alert.subject.get("bay_id"):
                named.add(bay)
            named.update(b for b in alert.subject.get("bay_ids", "").split(",") if b)
        return named

    def _reader_status(self, warehouse_code: str, bay_id: str) -> BayMonitoring:
        # Imported here: placement imports the unit of work, which imports this module.
        from services.ingest.placement import ReaderPlacementRow

        registered = self._session.scalar(
            select(Reader.reader_id).where(Reader.warehouse_code == warehouse_code).limit(1)
        )
        if registered is None:
            return BayMonitoring.MONITORED
        statuses = self._session.scalars(
            select(Reader.status)
            .join(ReaderPlacementRow, ReaderPlacementRow.reader_id == Reader.reader_id)
            .where(
                Reader.warehouse_code == warehouse_code,
                ReaderPlacementRow.kind == "bay",
                ReaderPlacementRow.bay_id == bay_id,
            )
        ).all()
        if any(status != "offline" for status in statuses):
            return BayMonitoring.MONITORED
        return BayMonitoring.UNMONITORED


def bay_statuses(session: Session) -> dict[str, BayMonitoring]:
    """Every bay that holds a receipt's lot, with its monitoring status now."""
    monitoring = SqlMonitoringStatus(session)
    bays = session.scalars(
        select(lots.c.bay_id).join(receipts, receipts.c.lot_id == lots.c.id).distinct()
    ).all()
    return {bay_id: monitoring.status(bay_id) for bay_id in bays}


def revalue_for_monitoring(container: Container) -> int:
    """Revalue the running loans of banks lending against bays whose monitoring changed."""
    lock: threading.Lock = container.extras.setdefault(_LOCK_KEY, threading.Lock())
    with lock:
        return _revalue(container)


class RevalueOnReaderChange:
    """The ingest worker's `on_status` callback: revalue as soon as a reader dies or returns.

    A last will or a reader falling silent unmonitors its bays now; waiting for the next
    scheduled run would leave the bank looking at a value that is no longer verified.
    """

    def __init__(self, container: Container) -> None:
        """React on this container's database and clock."""
        self._container = container
        self.runs = 0
        self.margin_calls = 0

    def __call__(self, reader_ids: list[str]) -> None:
        """Revalue the loans whose bays changed monitoring status."""
        log.info("readers changed status (%s): revaluing", ", ".join(reader_ids))
        self.margin_calls += revalue_for_monitoring(self._container)
        self.runs += 1


def _revalue(container: Container) -> int:
    # Imported here: the unit of work imports this module for its monitoring port.
    from services.uow import SqlUnitOfWork

    with SqlUnitOfWork.start(container.session_factory) as uow:
        now = bay_statuses(uow.session)
        before: dict[str, BayMonitoring] | None = container.extras.get(_SNAPSHOT_KEY)
        # The first run after a start revalues every bay: a change while the service was down
        # would otherwise never be seen.
        changed = (
            set(now)
            if before is None
            else {bay for bay in now.keys() | before.keys() if now.get(bay) != before.get(bay)}
        )
        if not changed:
            container.extras[_SNAPSHOT_KEY] = now
            return 0
        loan_ids = set(
            uow.session.scalars(
                select(receipts.c.loan_id)
                .join(lots, lots.c.id == receipts.c.lot_id)
                .where(lots.c.bay_id.in_(changed), receipts.c.loan_id.is_not(None))
            ).all()
        )
        banks = sorted({loan.bank_org_id for lid in loan_ids if (loan := uow.loans.get(lid))})
        calls = 0
        ctx = container.context()
        for bank in banks:
            calls += len(revalue_bank_loans(uow, ctx, bank))
        uow.commit()
    # Only after the commit: a failed run leaves the old snapshot, so the next one retries.
    container.extras[_SNAPSHOT_KEY] = now
    if calls:
        log.warning("monitoring changes raised %d margin call(s)", calls)
    return calls
