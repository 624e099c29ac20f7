"""Camera counts for reconciliation, and the baseline each bay gets when it is pledged.

The cameras count objects (pallets, coils, boxes); reconciliation wants the commodity's unit.
The baseline taken at pledge time ties the two: each object then stood for the book quantity
divided by the object count. Without a baseline a camera count says nothing about quantity.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from services.cameras.tables import BayCountRow
from services.uow import SqlUnitOfWork


class SqlCameraCounts:
    """A `CameraCounts` over the latest camera counts and baselines (for reconciliation)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        """Read counts from this database."""
        self._sessions = session_factory

    def count_in_bay(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """The quantity of the commodity the cameras see in the bay; None without a baseline."""
        with self._sessions() as session:
            row = session.get(BayCountRow, bay_id)
            if row is None or not row.baseline_count or not row.baseline_quantities:
                return None
            base = row.baseline_quantities.get(commodity_code)
            if base is None:
                return None
            return Decimal(base) * row.count / row.baseline_count


def book_quantities(uow: SqlUnitOfWork, bay_id: str) -> dict[str, str]:
    """Book quantity per commodity in the bay now, as decimal strings."""
    totals: dict[str, Decimal] = {}
    for lot in uow.lots.find(bay_id=bay_id):
        if lot.quantity > 0:
            totals[lot.commodity_code] = totals.get(lot.commodity_code, Decimal(0)) + lot.quantity
    return {code: format(q.normalize(), "f") for code, q in sorted(totals.items())}


def record_baseline(
    uow: SqlUnitOfWork, bay_id: str, camera_id: str, count: int, identities: list[str], at: datetime
) -> BayCountRow:
    """Fix the bay's baseline: the camera's count now against the book quantity now."""
    row = uow.session.get(BayCountRow, bay_id)
    if row is None:
        row = BayCountRow(bay_id=bay_id, camera_id=camera_id, confidence=1.0)
        uow.session.add(row)
    row.camera_id = camera_id
    row.count = count
    row.identities = sorted(identities)
    row.updated_at = at
    row.baseline_count = count
    row.baseline_quantities = book_quantities(uow, bay_id)
    row.baseline_at = at
    uow.commit()
    return row
