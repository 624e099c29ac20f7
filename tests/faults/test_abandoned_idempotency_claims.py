"""An Idempotency-Key claimed by a request whose process died: taken over, never applied twice.

The kill -9 of the API found it: a claim left in progress blocked every retry of that key for
good (409 request_in_progress). Claims are now fenced: the request's commit marks the key
applied in the same transaction as its effect, so a stale claim is taken over only when its
effect never committed, and a late owner cannot commit after a takeover.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from pledge.errors import Conflict
from services.api.idempotency import Idempotency, IdempotencyRecord, fence
from services.db import make_engine, make_session_factory

LEASE_S = 0.3


class _Effects(DeclarativeBase):
    pass


class Effect(_Effects):
    """Stands for whatever a money-moving request writes."""

    __tablename__ = "fault_test_effects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40))


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a SQLite file holding the idempotency table and an effects table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'claims.sqlite3'}")
    IdempotencyRecord.__table__.create(engine)  # type: ignore[attr-defined]
    _Effects.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


def in_request(work: Callable[[], Any]) -> Any:
    """Run `work` in a context of its own, as each HTTP request runs."""
    return contextvars.copy_context().run(work)


def apply_effect(sessions: sessionmaker[Session], key: str) -> None:
    """Commit one effect the way a request's unit of work does: fenced by its claim."""
    with sessions() as session:
        fence(session)
        session.add(Effect(key=key))
        session.commit()


def effects(sessions: sessionmaker[Session]) -> int:
    """How many effects were committed."""
    with sessions() as session:
        return len(session.scalars(select(Effect)).all())


def test_a_claim_whose_request_died_before_its_effect_is_taken_over_after_the_lease(
    sessions: sessionmaker[Session],
) -> None:
    guard = Idempotency(sessions, wait_seconds=2, lease_seconds=LEASE_S)
    # The first request claims the key and dies: no effect, no answer, no release.
    assert in_request(lambda: guard.claim("bank1", "k-1", "POST /x", "h")) is None

    def retry() -> Any:
        started = time.monotonic()
        claimed = guard.claim("bank1", "k-1", "POST /x", "h")
        apply_effect(sessions, "k-1")
        guard.complete("bank1", "k-1", 202, {"ok": True})
        return claimed, time.monotonic() - started

    claimed, waited = in_request(retry)

    assert claimed is None and waited >= LEASE_S * 0.9
    assert effects(sessions) == 1
    assert in_request(lambda: guard.claim("bank1", "k-1", "POST /x", "h")) == (202, {"ok": True})


def test_a_claim_whose_effect_committed_before_the_crash_is_never_run_again(
    sessions: sessionmaker[Session],
) -> None:
    guard = Idempotency(sessions, wait_seconds=2, lease_seconds=LEASE_S)

    def dies_after_its_commit() -> None:
        guard.claim("bank1", "k-2", "POST /x", "h")
        apply_effect(sessions, "k-2")  # ...and the process dies before storing the answer

    in_request(dies_after_its_commit)

    with pytest.raises(Conflict) as applied:
        in_request(lambda: guard.claim("bank1", "k-2", "POST /x", "h"))

    assert applied.value.code == "request_applied"
    assert effects(sessions) == 1


def test_a_late_owner_cannot_commit_after_its_claim_was_taken_over(
    sessions: sessionmaker[Session],
) -> None:
    guard = Idempotency(sessions, wait_seconds=2, lease_seconds=LEASE_S)
    slow = contextvars.copy_context()
    slow.run(lambda: guard.claim("bank1", "k-3", "POST /x", "h"))

    def retry() -> None:
        guard.claim("bank1", "k-3", "POST /x", "h")
        apply_effect(sessions, "k-3")

    # The slow owner is still working when a retry takes the claim over and applies it.
    in_request(retry)

    with pytest.raises(Conflict) as late:
        slow.run(lambda: apply_effect(sessions, "k-3"))

    assert late.value.code == "request_taken_over"
    assert effects(sessions) == 1
