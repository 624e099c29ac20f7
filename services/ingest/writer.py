"""Write one batch in one transaction: COPY + ON CONFLICT on PostgreSQL, INSERT OR IGNORE on SQLite.

Reads carry a unique dedup key, so writing the same batch twice (a redelivery after a crash
between commit and acknowledgement) stores nothing new.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, insert, update

from services.ingest.batching import Batch
from services.ingest.tables import DeadLetter, Reader, TagReadRow

READ_COLUMNS = (
    "dedup_key",
    "warehouse_code",
    "reader_id",
    "antenna",
    "epc",
    "rssi",
    "seen_at",
    "seq",
    "received_at",
)
_STAGING = "tag_reads_staging"
# ON COMMIT DELETE ROWS: the staging table lives per connection and empties itself every commit.
_CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (
    dedup_key varchar(64), warehouse_code varchar(64), reader_id varchar(64), antenna integer,
    epc varchar(128), rssi double precision, seen_at timestamptz, seq bigint,
    received_at timestamptz
) ON COMMIT DELETE ROWS
"""
_COLS = ", ".join(READ_COLUMNS)
# Every name here is a constant of this module: nothing from a message reaches the SQL text.
_TARGET = TagReadRow.__tablename__
_MERGE = (
    " ".join(("INSERT INTO", _TARGET, f"({_COLS})", "SELECT", _COLS, "FROM", _STAGING))
    + " ON CONFLICT (dedup_key) DO NOTHING"
)


def write_batch(engine: Engine, batch: Batch) -> int:
    """Commit a batch; return how many reads were new (redelivered ones are skipped)."""
    with engine.begin() as conn:
        inserted = _write_reads(conn, list(batch.reads.values()))
        if batch.dead_letters:
            conn.execute(insert(DeadLetter), batch.dead_letters)
        _touch_readers(conn, batch)
    return inserted


def _write_reads(conn: Connection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_reads(conn, rows)
    result = conn.execute(insert(TagReadRow).prefix_with("OR IGNORE"), rows)
    return max(result.rowcount, 0)


def _copy_reads(conn: Connection, rows: list[dict[str, Any]]) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(_CREATE_STAGING)
        with cur.copy(f"COPY {_STAGING} ({_COLS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in READ_COLUMNS))
        cur.execute(_MERGE)
        inserted: int = cur.rowcount
    return max(inserted, 0)


def _touch_readers(conn: Connection, batch: Batch) -> None:
    seen = [
        {"rid": reader_id, "seen": moment}
        for reader_id, moment in batch.last_seen.items()
        if reader_id not in batch.statuses
    ]
    if seen:
        # A heartbeat or a read proves the reader alive: it comes back online if it was not.
        stmt = (
            update(Reader)
            .where(Reader.reader_id == bindparam("rid"))
            .values(
                last_seen_at=bindparam("seen"),
                status_changed_at=case(
                    (Reader.status != "online", bindparam("seen")), else_=Reader.status_changed_at
                ),
                status_reason=case((Reader.status != "online", "seen"), else_=Reader.status_reason),
                status="online",
            )
        )
        conn.execute(stmt, seen)
    for reader_id, (status, moment) in batch.statuses.items():
        values: dict[str, Any] = {
            "status": status,
            "status_reason": "last_will" if status == "offline" else "birth",
            "status_changed_at": moment,
        }
        if status == "online":
            values["last_seen_at"] = moment
        conn.execute(update(Reader).where(Reader.reader_id == reader_id).values(**values))
