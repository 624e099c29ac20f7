"""Reader registry and presence: registration, status changes and the offline check."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from services.ingest.tables import Reader

# A reader that sends nothing for this long is considered gone.
DEFAULT_HEARTBEAT_TIMEOUT = timedelta(seconds=90)


def register_reader(session: Session, warehouse_code: str, reader_id: str) -> None:
    """Make a reader known to the worker (idempotent); the caller commits."""
    row = session.get(Reader, reader_id)
    if row is None:
        session.add(Reader(reader_id=reader_id, warehouse_code=warehouse_code, status="unknown"))
    else:
        row.warehouse_code = warehouse_code


def known_readers(conn: Connection) -> dict[str, str]:
    """Reader id → warehouse code of every registered reader."""
    rows = conn.execute(select(Reader.reader_id, Reader.warehouse_code))
    return {reader_id: code for reader_id, code in rows}


def mark_silent_readers_offline(
    session: Session, now: datetime, timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT
) -> list[str]:
    """Set readers not heard from within `timeout` offline; return their ids (caller commits)."""
    cutoff = now - timeout
    silent = list(
        session.scalars(
            select(Reader.reader_id).where(
                Reader.status != "offline",
                or_(Reader.last_seen_at.is_(None), Reader.last_seen_at < cutoff),
            )
        )
    )
    if silent:
        session.execute(
            update(Reader)
            .where(Reader.reader_id.in_(silent))
            .values(status="offline", status_reason="heartbeat_timeout", status_changed_at=now)
        )
    return silent


def offline_readers(
    session: Session, now: datetime, timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT
) -> list[str]:
    """Ids of readers that are offline now: by last will or status, or silent past `timeout`."""
    cutoff = now - timeout
    rows = session.scalars(
        select(Reader.reader_id)
        .where(
            or_(
                Reader.status == "offline",
                Reader.last_seen_at.is_(None),
                Reader.last_seen_at < cutoff,
            )
        )
        .order_by(Reader.reader_id)
    )
    return list(rows)
