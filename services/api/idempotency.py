"""Idempotency-Key for money-moving POSTs: one effect per key, replays get the first answer."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, event, update
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
    """Claims a key before the work and stores the answer after it.

    A claim holds a token of its own (in `response` while in progress) and is fenced: the
    request's unit of work marks the key APPLIED in the same transaction as its effect, and only
    while the token is still the claim's. So a claim left behind by a process that died can be
    taken over after `lease_seconds` without risking a second effect: either the effect never
    committed (the new owner runs it), or the key says APPLIED (it is not run again).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        wait_seconds: float = 10.0,
        lease_seconds: float | None = None,
    ) -> None:
        self._factory = session_factory
        self._wait = wait_seconds
        self._lease = wait_seconds if lease_seconds is None else lease_seconds

    def claim(self, org_id: str, key: str, endpoint: str, digest: str) -> tuple[int, Any] | None:
        """Claim the key; return the stored (status, body) when this is a replay."""
        deadline = time.monotonic() + self._wait
        while True:
            with self._factory() as session:
                record = session.get(IdempotencyRecord, (org_id, key))
                if record is None:
                    token = _token()
                    session.add(
                        IdempotencyRecord(
                            org_id=org_id,
                            key=key,
                            endpoint=endpoint,
                            body_hash=digest,
                            status_code=IN_PROGRESS,
                            response=token,
                            created_at=utcnow(),
                        )
                    )
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()
                        continue
                    _CLAIM.set(_Claim(org_id, key, token))
                    return None
                if record.body_hash != digest:
                    raise Invalid(
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different request; use a new key",
                    )
                if record.status_code not in (IN_PROGRESS, APPLIED):
                    return record.status_code, json.loads(record.response)
                stale = utcnow() - record.created_at > timedelta(seconds=self._lease)
                if stale and record.status_code == IN_PROGRESS:
                    # Its owner is gone (or hung) before the effect committed: take over.
                    token = _token()
                    taken = session.execute(
                        update(IdempotencyRecord)
                        .where(IdempotencyRecord.org_id == org_id)
                        .where(IdempotencyRecord.key == key)
                        .where(IdempotencyRecord.status_code == IN_PROGRESS)
                        .where(IdempotencyRecord.response == record.response)
                        .values(response=token, created_at=utcnow())
                    )
                    session.commit()
                    if _rowcount(taken) == 1:
                        _CLAIM.set(_Claim(org_id, key, token))
                        return None
                    continue
                if stale:
                    raise Conflict(
                        "request_applied",
                        "this request took effect, but its answer was lost when the server "
                        "stopped; look the result up instead of sending it again",
                    )
            # A concurrent duplicate is still running: wait for its answer instead of acting twice.
            if time.monotonic() > deadline:
                raise Conflict("request_in_progress", "the same request is still being processed")
            time.sleep(0.05)

    def complete(self, org_id: str, key: str, status: int, body: Any) -> None:
        """Store the answer that every replay of this key will get."""
        claim = _CLAIM.get()
        _CLAIM.set(None)
        with self._factory() as session:
            record = session.get(IdempotencyRecord, (org_id, key))
            # Only the claim's owner answers: one taken over after its lease ran out does not.
            if record is not None and (claim is None or record.response == claim.token):
                record.status_code = status
                record.response = json.dumps(body, default=str)
                session.commit()

    def release(self, org_id: str, key: str) -> None:
        """Forget a claim whose request failed, so the client may retry with the same key."""
        claim = _CLAIM.get()
        _CLAIM.set(None)
        with self._factory() as session:
            record = session.get(IdempotencyRecord, (org_id, key))
            # A claim marked APPLIED stays: its effect committed, so a retry must not redo it.
            if (
                record is not None
                and record.status_code == IN_PROGRESS
                and (claim is None or record.response == claim.token)
            ):
                session.delete(record)
                session.commit()


# Status of a key whose effect committed while its answer is not stored yet.
APPLIED = 1


@dataclass(frozen=True)
class _Claim:
    org_id: str
    key: str
    token: str


# The claim the current request holds, so its unit of work can fence its commit with it.
_CLAIM: ContextVar[_Claim | None] = ContextVar("idempotency_claim", default=None)


def _token() -> str:
    return "claim:" + uuid.uuid4().hex


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def fence(session: Session) -> None:
    """Tie the current request's claim (if any) to this session's commit, in one transaction."""
    claim = _CLAIM.get()
    if claim is None:
        return

    def mark_applied(current: Session) -> None:
        marked = current.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.org_id == claim.org_id)
            .where(IdempotencyRecord.key == claim.key)
            .where(IdempotencyRecord.response == claim.token)
            .where(IdempotencyRecord.status_code.in_((IN_PROGRESS, APPLIED)))
            .values(status_code=APPLIED)
        )
        if _rowcount(marked) != 1:
            # The claim was taken over: this (late) request must not take effect as well.
            raise Conflict("request_taken_over", "the same request was run again meanwhile")

    event.listen(session, "before_commit", mark_applied)
