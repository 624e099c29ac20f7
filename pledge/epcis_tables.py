"""SQL adapter for EPCIS events and bay freezes: tables, mappings and their stores."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Select,
    String,
    Table,
    Text,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from pledge.epcis import EpcisRecord
from pledge.epcis_service import EventQuery
from pledge.reconcile import BayFreeze
from services.db import UtcDateTime, mapper_registry, metadata

epcis_events = Table(
    "epcis_events",
    metadata,
    Column("id", String(36), primary_key=True),
    # The canonical hash is the dedup key: the same event captured twice is one row.
    Column("event_hash", String(80), nullable=False, unique=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=True, index=True),
    Column("event_type", String(32), nullable=False),
    Column("action", String(8), nullable=False),
    Column("biz_step", String(256), nullable=True),
    Column("disposition", String(256), nullable=True),
    Column("event_time", UtcDateTime, nullable=False, index=True),
    Column("record_time", UtcDateTime, nullable=False),
    Column("read_point", String(512), nullable=True),
    Column("biz_location", String(512), nullable=True, index=True),
    Column("epcs", JSON, nullable=False),
    Column("document", JSON, nullable=False),
)

# One row per EPC of an event, so MATCH_epc is an indexed lookup on every database.
epcis_event_epcs = Table(
    "epcis_event_epcs",
    metadata,
    Column("event_id", String(36), ForeignKey("epcis_events.id"), primary_key=True),
    Column("epc", String(256), primary_key=True),
    Index("ix_epcis_event_epcs_epc", "epc"),
)

bay_freezes = Table(
    "bay_freezes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("bay_id", String(36), ForeignKey("bays.id"), nullable=False, index=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("event_hash", String(80), nullable=False),
    Column("verdicts", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(40), nullable=True),
    Column("note", Text, nullable=False, default=""),
)


class SqlEventStore:
    """EPCIS events in the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def with_hash(self, event_hash: str) -> EpcisRecord | None:
        """The stored event with this canonical hash, or None."""
        stmt = select(EpcisRecord).where(epcis_events.c.event_hash == event_hash)
        return self._session.scalars(stmt).first()

    def add(self, record: EpcisRecord) -> None:
        """Store the event and its EPC index rows."""
        self._session.add(record)
        # Flushed at once so a repeat of the same event later in the request finds it.
        self._session.flush()
        if record.epcs:
            rows = [{"event_id": record.id, "epc": epc} for epc in record.epcs]
            self._session.execute(insert(epcis_event_epcs), rows)

    def query(self, query: EventQuery) -> tuple[list[EpcisRecord], int]:
        """One page of visible matching events in event-time order, and the total."""
        stmt = _filtered(select(EpcisRecord), query)
        total = self._session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = stmt.order_by(epcis_events.c.event_time, epcis_events.c.id)
        rows = self._session.scalars(page.limit(query.limit).offset(query.offset))
        return list(rows), int(total)


def _filtered(stmt: Select[Any], query: EventQuery) -> Select[Any]:
    c = epcis_events.c
    visible = [c.org_id == query.org_id]
    if query.warehouse_ids:
        visible.append(c.warehouse_id.in_(query.warehouse_ids))
    stmt = stmt.where(or_(*visible))
    equals = {
        c.event_type: query.event_type,
        c.action: query.action,
        c.biz_step: query.biz_step,
        c.disposition: query.disposition,
        c.biz_location: query.biz_location,
    }
    for column, value in equals.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if query.epc is not None:
        tagged = select(epcis_event_epcs.c.event_id).where(epcis_event_epcs.c.epc == query.epc)
        stmt = stmt.where(c.id.in_(tagged))
    if query.ge_event_time is not None:
        stmt = stmt.where(c.event_time >= query.ge_event_time)
    if query.lt_event_time is not None:
        stmt = stmt.where(c.event_time < query.lt_event_time)
    return stmt


class SqlFreezes:
    """Bay freezes in the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def active(self, bay_id: str) -> BayFreeze | None:
        """The freeze currently stopping releases from the bay, or None."""
        stmt = select(BayFreeze).where(
            bay_freezes.c.bay_id == bay_id, bay_freezes.c.resolved_at.is_(None)
        )
        return self._session.scalars(stmt).first()

    def latest(self, bay_id: str) -> BayFreeze | None:
        """The most recent freeze of the bay, active or resolved."""
        stmt = (
            select(BayFreeze)
            .where(bay_freezes.c.bay_id == bay_id)
            .order_by(bay_freezes.c.created_at.desc(), bay_freezes.c.id)
        )
        return self._session.scalars(stmt).first()

    def add(self, freeze: BayFreeze) -> None:
        """Store a new freeze."""
        self._session.add(freeze)
        self._session.flush()


def map_epcis() -> None:
    """Map the EPCIS and freeze dataclasses onto their tables (once per process)."""
    for cls, table in ((EpcisRecord, epcis_events), (BayFreeze, bay_freezes)):
        if not hasattr(cls, "__mapper__"):
            mapper_registry.map_imperatively(cls, table)


map_epcis()
