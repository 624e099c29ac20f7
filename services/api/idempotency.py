"""Idempotency-Key for money-moving POSTs: one effect per key, replays get the first answer."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from pledge.errors import Conflict, Invalid
from services.db import Base, UtcDateTime
from services.ledger.outbox import utcnow

IN_PROGRESS = 0
KEY_PATTERN_MAX = 200


class IdempotencyRecord(Base):
    """The first response given to a key, per organisation."""

    __tablename__ = "idempotency_keys"

    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_PATTERN_MAX), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


def body_hash(endpoint: str, body: Any) -> str:
    """Hash of what the request asks for, so a reused key with another body is caught."""
    data = json.dumps({"endpoint": endpoint, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def check_key(key: str | None) -> str:
    """Refuse a missing or unreasonable key."""
    if key is None or not key.strip():
        raise Invalid(
            "idempotency_key_required", "money-moving requests need an Idempotency-Key header"
        )
    if len(key) > KEY_PATTERN_MAX or not key.isprintable():
        raise Invalid("invalid_idempotency_key", "Idempotency-Key must be printable, <= 200 chars")
    return key


class Idempotency:
    """Claims a key before the work and stores the answer after it."""

    def __init__(self, session_factory: sessionmaker[Session], wait_seconds: float = 10.0) -> None:
        self._factory = session_factory
        self._wait = wait_seconds

    def claim(self, org_id: str, key: str, endpoint: str, digest: str) -> tuple[int, Any] | None:
        """Claim the key; return the stored (status, body) when this is a replay."""
        deadline = time.monotonic() + self._wait
        while True:
            with self._factory() as session:
                record = session.get(IdempotencyRecord, (org_id, key))
                if record is None:
                    session.add(
                        IdempotencyRecord(
                            org_id=org_id,
                            key=key,
                            endpoint=endpoint,
                            body_hash=digest,
                            status_code=IN_PROGRESS,
                            response="",
                            created_at=utcnow(),
                        )
                    )
                    try:
                        session.commit()
                        return None
                    except IntegrityError:
                        session.rollback()
                        continue
                if record.body_hash != digest:
                    raise Invalid(
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different request; use a new key",
                    )
                if record.status_code != IN_PROGRESS:
                    return record.status_code, json.loads(record.response)
            # A concurrent duplicate is still running: wait for its answer instead of acting twice.
            if time.monotonic() > deadline:
                raise Conflict("request_in_progress", "the same request is still being processed")
            time.sleep(0.05)

    def complete(self, org_id: str, key: str, status: int, body: Any) -> None:
        """Store the answer that every replay of this key will get."""
        with self._factory() as session:
            record = session.get(IdempotencyRecord, (org_id, key))
            if record is not None:
                record.status_code = status
                record.response = json.dumps(body, default=str)
                session.commit()

    def release(self, org_id: str, key: str) -> None:
        """Forget a claim whose request failed, so the client may retry with the same key."""
        with self._factory() as session:
            record = session.get(IdempotencyRecord, (org_id, key))
            if record is not None and record.status_code == IN_PROGRESS:
                session.delete(record)
                session.commit()
