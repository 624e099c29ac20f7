"""Requests to reconcile one bay soon: queued per bay, coalesced, persisted, due after settling.

Something happened in a bay (goods received or released, a tag left, an EPCIS event was
captured, a camera's count changed): the bay should be reconciled, but not at once. The sensors
lag the book: released goods stay in the camera's view until the truck is loaded, new goods are
not counted until the reader has read them, and a tag stays present for its read window. Counting
at once would freeze the bay for nothing. A request therefore names the moment from which
the bay may be counted (`not_before`); requests for a bay that is already waiting merge into one
row that waits for the latest of them. The rows live in the database, in the caller's
transaction: a request is kept exactly when its cause is, and a restart loses none.

Callers outside this package (the camera service) use `request_reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    String,
    Table,
    and_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pledge.epcis import BizStep, Disposition, bay_of_location, biz_step_urn, disposition_urn
from pledge.epcis_tables import epcis_events
from pledge.presence import DEFAULT_WINDOW
from pledge.tables import bays
from services.db import UtcDateTime, metadata

# The presence read window plus a margin for reads that arrive late.
DEFAULT_SETTLE = DEFAULT_WINDOW + timedelta(seconds=15)
# Reasons kept per waiting request: enough to tell why, bounded however busy the bay is.
MAX_REASONS = 20
# Events are scanned again this far back: a transaction that committed late is still seen.
SCAN_LOOKBACK = timedelta(seconds=60)
_SCAN = "epcis_events"

reconcile_requests = Table(
    "reconcile_requests",
    metadata,
    Column("bay_id", String(36), primary_key=True),
    Column("warehouse_id", String(36), nullable=False, index=True),
    Column("pending", Boolean, nullable=False, default=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("reasons", JSON, nullable=False),
    # Bumped by every request, so finishing a run never swallows a request that came meanwhile.
    Column("revision", Integer, nullable=False, default=0),
    Column("last_run_at", UtcDateTime, nullable=True),
)

# How far the EPCIS event table has been turned into requests.
reconcile_scans = Table(
    "reconcile_scans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("through", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class DueRequest:
    """A bay whose settle time has passed, as read when the run started."""

    bay_id: str
    warehouse_id: str
    not_before: datetime
    reasons: tuple[str, ...]
    revision: int


def _session_of(session_or_uow: Any) -> Session:
    session: Session = getattr(session_or_uow, "session", session_or_uow)
    return session


def _insert_missing(session: Session, row: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(make(reconcile_requests).values(**row).on_conflict_do_nothing())


def request_reconcile(
    session_or_uow: Any,
    bay_id: str,
    reason: str,
    not_before: datetime | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Ask for the bay to be reconciled from `not_before` (default: now + DEFAULT_SETTLE).

    Runs in the caller's transaction (a Session or a SqlUnitOfWork); the caller commits.
    Returns False when nothing was queued: no such bay, or the bay was already reconciled
    after `not_before`.
    """
    session = _session_of(session_or_uow)
    now = now or datetime.now(UTC)
    due = not_before or now + DEFAULT_SETTLE
    warehouse_id = session.scalar(select(bays.c.warehouse_id).where(bays.c.id == bay_id))
    if warehouse_id is None:
        return False
    _insert_missing(
        session,
        {
            "bay_id": bay_id,
            "warehouse_id": warehouse_id,
            "pending": False,
            "not_before": due,
            "requested_at": now,
            "reasons": [],
            "revision": 0,
            "last_run_at": None,
        },
    )
    # Locked (on PostgreSQL) so two requests for one bay merge instead of overwriting each other.
    row = session.execute(
        select(reconcile_requests).where(reconcile_requests.c.bay_id == bay_id).with_for_update()
    ).one()
    if row.pending:
        reasons = list(row.reasons)
        if reason not in reasons and len(reasons) < MAX_REASONS:
            reasons.append(reason)
        values = {"not_before": max(row.not_before, due), "reasons": reasons}
    elif row.last_run_at is not None and due <= row.last_run_at:
        return False
    else:
        values = {"pending": True, "not_before": due, "requested_at": now, "reasons": [reason]}
    session.execute(
        update(reconcile_requests)
        .where(reconcile_requests.c.bay_id == bay_id)
        .values(**values, revision=row.revision + 1)
    )
    return True


def due_requests(session: Session, now: datetime) -> list[DueRequest]:
    """Waiting requests whose bays may be counted now, oldest first."""
    rows = session.execute(
        select(reconcile_requests)
        .where(reconcile_requests.c.pending.is_(True), reconcile_requests.c.not_before <= now)
        .order_by(reconcile_requests.c.not_before)
    )
    return [
        DueRequest(r.bay_id, r.warehouse_id, r.not_before, tuple(r.reasons), r.revision)
        for r in rows
    ]


def settling_bays(session: Session, now: datetime) -> set[str]:
    """Bays with a request still waiting for its settle time: not to be frozen yet."""
    rows = session.scalars(
        select(reconcile_requests.c.bay_id).where(
            reconcile_requests.c.pending.is_(True), reconcile_requests.c.not_before > now
        )
    )
    return set(rows)


def finish(session: Session, request: DueRequest, now: datetime) -> bool:
    """Mark a request done, unless another one arrived since it was read (that one stays)."""
    result = session.execute(
        update(reconcile_requests)
        .where(
            and_(
                reconcile_requests.c.bay_id == request.bay_id,
                reconcile_requests.c.revision == request.revision,
            )
        )
        .values(pending=False, last_run_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def _reason_of(biz_step: str | None, action: str) -> str:
    step = (biz_step or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return f"epcis:{step or action.lower()}"


def requests_from_events(
    session: Session, now: datetime, settle: timedelta = DEFAULT_SETTLE
) -> int:
    """Queue a request for every bay an EPCIS event recorded since the last scan touched.

    Receipts, releases, unauthorised departures and captured documents are all recorded as
    EPCIS events, so this one scan covers each of them. Stock-taking mismatches are our own
    output and are skipped. Returns how many requests were queued or merged.
    """
    through = session.scalar(
        select(reconcile_scans.c.through).where(reconcile_scans.c.name == _SCAN)
    )
    # The first scan after installation starts one settle period back: older events are
    # covered by the scheduled reconciliation of every bay.
    since = (through if through is not None else now - settle) - SCAN_LOOKBACK
    events = epcis_events
    rows = session.execute(
        select(
            events.c.biz_location,
            events.c.read_point,
            events.c.biz_step,
            events.c.disposition,
            events.c.action,
            events.c.record_time,
        )
        .where(events.c.record_time > since, events.c.record_time <= now)
        .order_by(events.c.record_time)
    )
    mismatch = (
        biz_step_urn(BizStep.STOCK_TAKING.value),
        disposition_urn(Disposition.MISMATCH_QUANTITY.value),
    )
    queued = 0
    for row in rows:
        if (row.biz_step, row.disposition) == mismatch:
            continue
        bay_id = bay_of_location(row.biz_location) or bay_of_location(row.read_point)
        if bay_id is None:
            continue
        reason = _reason_of(row.biz_step, row.action)
        queued += request_reconcile(session, bay_id, reason, row.record_time + settle, now=now)
    _advance(session, now if through is None else max(through, now))
    return queued


def _advance(session: Session, through: datetime) -> None:
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(reconcile_scans).values(name=_SCAN, through=through)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"through": through}))
