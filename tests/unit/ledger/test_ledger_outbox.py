"""Outbox: commands written with local state, submitted with retries, confirmed exactly once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.embedded import EmbeddedLedger
from services.ledger.outbox import (
    EventListener,
    HandlerRegistry,
    OutboxWorker,
    enqueue,
    pump,
    submission_for,
)
from services.ledger.port import (
    Conflict,
    LedgerEvent,
    Submission,
    SubmitResult,
    Unavailable,
    VerifyReport,
)
from services.ledger.tables import LedgerCheckpoint, LedgerCommand

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        """The current test time."""
        return self.now


class Recorder:
    """Handlers that remember what they were called with."""

    def __init__(self) -> None:
        self.confirmed: list[tuple[str, int | None, str]] = []
        self.rejected: list[tuple[str, str | None, bool]] = []

    def on_confirmed(
        self, session: Session, command: LedgerCommand, event: LedgerEvent | None
    ) -> None:
        """Remember a confirmation."""
        self.confirmed.append(
            (command.subject_id, command.block_number, event.name if event else "")
        )

    def on_rejected(self, session: Session, command: LedgerCommand) -> None:
        """Remember a rejection and whether it ran inside a transaction."""
        self.rejected.append((command.subject_id, command.reason_code, session.in_transaction()))


class FlakyLedger:
    """A ledger whose submit raises the queued errors first, then commits."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[str] = []

    def submit(self, submission: Submission) -> SubmitResult:
        """Raise the next queued error, or commit."""
        self.calls.append(submission.tx_id)
        if self.errors:
            raise self.errors.pop(0)
        return SubmitResult(submission.tx_id, len(self.calls))

    def evaluate(self, fn: str, args: Mapping[str, Any], msp_id: str) -> Any:
        """No queries here."""
        return None

    def events(self, after_block: int) -> Iterator[LedgerEvent]:
        """No events here."""
        return iter(())

    def verify(self) -> VerifyReport:
        """Nothing to verify."""
        return VerifyReport(True, 0)


@pytest.fixture
def recorder() -> Recorder:
    """Handlers that record their calls."""
    return Recorder()


@pytest.fixture
def handlers(recorder: Recorder) -> HandlerRegistry:
    """A registry with the recorder on kind put_thing."""
    registry = HandlerRegistry()
    registry.register("put_thing", recorder.on_confirmed, recorder.on_rejected)
    return registry


def add_command(
    sessions: sessionmaker[Session],
    subject_id: str,
    fn: str = "put",
    args: Mapping[str, Any] | None = None,
    kind: str = "put_thing",
    now: datetime = START,
) -> LedgerCommand:
    """Enqueue and commit one command."""
    with sessions() as session, session.begin():
        return enqueue(
            session,
            org_id="bank-a",
            kind=kind,
            subject_type="thing",
            subject_id=subject_id,
            fn=fn,
            args=args if args is not None else {"key": subject_id, "value": 1},
            submitter_msp="BankAMSP",
            now=now,
        )


def load(sessions: sessionmaker[Session], command_id: str) -> LedgerCommand:
    """The stored command row."""
    with sessions() as session:
        row = session.get(LedgerCommand, command_id)
        assert row is not None
        return row


def test_enqueue_adds_a_pending_command_only_when_the_caller_commits(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        command = enqueue(
            session,
            org_id="bank-a",
            kind="put_thing",
            subject_type="thing",
            subject_id="t1",
            fn="put",
            args={"value": 1, "key": "t1"},
            submitter_msp="BankAMSP",
            endorsers=["WarehouseMSP"],
        )
        session.rollback()
    with sessions() as session:
        assert session.scalars(select(LedgerCommand)).all() == []

    command = add_command(sessions, "t1")
    stored = load(sessions, command.id)
    expected_tx = hashlib.sha256(f"pledgewatch-command:{command.id}".encode()).hexdigest()
    assert (stored.status, stored.attempts, stored.tx_id) == ("pending", 0, expected_tx)
    assert stored.args == '{"key":"t1","value":1}'
    assert stored.created_at == START and stored.created_at.tzinfo is not None


def test_the_submission_of_a_command_is_the_same_on_every_attempt(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        command = enqueue(
            session,
            org_id="bank-a",
            kind="pledge",
            subject_type="loan",
            subject_id="L1",
            fn="pair",
            args={"key": "p"},
            submitter_msp="BankAMSP",
            endorsers=("WarehouseMSP",),
            now=START,
        )
    stored = load(sessions, command.id)
    assert submission_for(stored) == submission_for(load(sessions, command.id))
    assert submission_for(stored) == Submission(
        tx_id=command.tx_id,
        fn="pair",
        args={"key": "p"},
        submitter_msp="BankAMSP",
        endorsers=("WarehouseMSP",),
        timestamp="2026-05-01T12:00:00.000000Z",
    )


def test_a_drained_command_is_submitted_and_the_listener_confirms_it_once(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    command = add_command(sessions, "t1")
    worker = OutboxWorker(sessions, ledger, handlers)
    listener = EventListener(sessions, ledger, handlers)

    assert worker.drain() == 1
    assert load(sessions, command.id).status == "submitted"
    assert load(sessions, command.id).block_number == 1
    assert listener.poll() == 1

    stored = load(sessions, command.id)
    assert (stored.status, stored.block_number, stored.attempts) == ("confirmed", 1, 1)
    assert recorder.confirmed == [("t1", 1, "Put")]
    assert ledger.evaluate("get", {"key": "t1"}, "BankAMSP") == {"value": 1}
    assert pump(worker, listener) == (0, 0)
    assert recorder.confirmed == [("t1", 1, "Put")]


def test_a_rejected_command_records_the_reason_and_runs_the_rejection_handler(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    command = add_command(sessions, "t1", fn="refuse", args={"why": "goods already pledged"})
    listener = EventListener(sessions, ledger, handlers)
    pump(OutboxWorker(sessions, ledger, handlers), listener)

    stored = load(sessions, command.id)
    assert (stored.status, stored.reason_code, stored.reason) == (
        "rejected",
        "REFUSED",
        "goods already pledged",
    )
    assert recorder.rejected == [("t1", "REFUSED", True)]
    assert recorder.confirmed == []


def test_a_failing_rejection_handler_leaves_the_command_pending_for_a_retry(
    sessions: sessionmaker[Session], ledger: EmbeddedLedger
) -> None:
    def broken(session: Session, command: LedgerCommand) -> None:
        """Fail like a domain update would."""
        raise RuntimeError("domain update failed")

    handlers = HandlerRegistry()
    handlers.register("put_thing", on_rejected=broken)
    clock = Clock()
    command = add_command(sessions, "t1", fn="refuse")
    OutboxWorker(sessions, ledger, handlers, clock=clock).drain()

    stored = load(sessions, command.id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.next_attempt_at > clock.now
    assert stored.reason == "domain update failed"


def test_an_unavailable_ledger_backs_off_exponentially_and_then_succeeds(
    sessions: sessionmaker[Session], handlers: HandlerRegistry
) -> None:
    clock = Clock()
    ledger = FlakyLedger(Unavailable("peer down"), Unavailable("still down"))
    worker = OutboxWorker(sessions, ledger, handlers, clock=clock, base_delay=2, max_delay=60)
    command = add_command(sessions, "t1")

    assert worker.drain() == 1
    stored = load(sessions, command.id)
    assert (stored.status, stored.attempts, stored.reason) == ("pending", 1, "peer down")
    assert stored.next_attempt_at == START + timedelta(seconds=2)

    assert worker.drain() == 0  # not due yet
    clock.now = START + timedelta(seconds=2)
    worker.drain()
    stored = load(sessions, command.id)
    assert (stored.attempts, stored.reason) == (2, "still down")
    assert stored.next_attempt_at == clock.now + timedelta(seconds=4)

    clock.now += timedelta(seconds=4)
    worker.drain()
    stored = load(sessions, command.id)
    assert (stored.status, stored.attempts, stored.reason) == ("submitted", 3, None)
    assert len(set(ledger.calls)) == 1


def test_backoff_never_exceeds_the_maximum_delay(
    sessions: sessionmaker[Session], handlers: HandlerRegistry
) -> None:
    clock = Clock()
    ledger = FlakyLedger(*[Unavailable("down")] * 10)
    worker = OutboxWorker(sessions, ledger, handlers, clock=clock, base_delay=1, max_delay=5)
    command = add_command(sessions, "t1")
    for _ in range(6):
        clock.now = load(sessions, command.id).next_attempt_at
        worker.drain()
    stored = load(sessions, command.id)
    assert stored.next_attempt_at - clock.now == timedelta(seconds=5)


def test_an_unexpected_error_does_not_stop_the_other_commands(
    sessions: sessionmaker[Session], handlers: HandlerRegistry
) -> None:
    ledger = FlakyLedger(ValueError("bad response"))
    first = add_command(sessions, "t1", now=START - timedelta(seconds=2))
    second = add_command(sessions, "t2", now=START - timedelta(seconds=1))
    assert OutboxWorker(sessions, ledger, handlers, clock=Clock()).drain() == 2

    assert load(sessions, first.id).status == "pending"
    assert load(sessions, first.id).reason == "bad response"
    assert load(sessions, second.id).status == "submitted"


def test_a_conflict_is_retried_soon(
    sessions: sessionmaker[Session], handlers: HandlerRegistry
) -> None:
    clock = Clock()
    ledger = FlakyLedger(Conflict("mvcc read conflict"))
    worker = OutboxWorker(sessions, ledger, handlers, clock=clock, conflict_delay=0)
    command = add_command(sessions, "t1")
    worker.drain()
    stored = load(sessions, command.id)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 1, START)
    worker.drain()
    assert load(sessions, command.id).status == "submitted"


def test_drain_takes_the_oldest_due_commands_first_up_to_the_limit(
    sessions: sessionmaker[Session], handlers: HandlerRegistry
) -> None:
    ledger = FlakyLedger()
    newer = add_command(sessions, "newer", now=START - timedelta(seconds=1))
    older = add_command(sessions, "older", now=START - timedelta(seconds=5))
    add_command(sessions, "future", now=START + timedelta(hours=1))
    worker = OutboxWorker(sessions, ledger, handlers, clock=Clock())

    assert worker.drain(limit=1) == 1
    assert ledger.calls == [older.tx_id]
    assert worker.drain() == 1
    assert ledger.calls == [older.tx_id, newer.tx_id]


def test_a_command_already_committed_before_a_crash_is_not_committed_twice(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    command = add_command(sessions, "t1")
    # The previous worker committed on the ledger, then died before updating the row.
    committed = ledger.submit(submission_for(load(sessions, command.id)))
    pump(OutboxWorker(sessions, ledger, handlers), EventListener(sessions, ledger, handlers))

    stored = load(sessions, command.id)
    assert (stored.status, stored.block_number) == ("confirmed", committed.block_number)
    assert [e.tx_id for e in ledger.events(0)] == [command.tx_id]
    assert recorder.confirmed == [("t1", 1, "Put")]


def test_a_command_the_listener_confirmed_first_stays_confirmed_after_drain(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    command = add_command(sessions, "t1")
    ledger.submit(submission_for(load(sessions, command.id)))
    EventListener(sessions, ledger, handlers).poll()
    OutboxWorker(sessions, ledger, handlers).drain()

    assert load(sessions, command.id).status == "confirmed"
    assert len(recorder.confirmed) == 1


def test_a_replayed_event_never_confirms_twice(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    add_command(sessions, "t1")
    worker = OutboxWorker(sessions, ledger, handlers)
    pump(worker, EventListener(sessions, ledger, handlers))
    # A lost checkpoint makes the listener read the whole chain again.
    with sessions() as session, session.begin():
        checkpoint = session.get(LedgerCheckpoint, "service")
        assert checkpoint is not None
        checkpoint.block_number = 0
    assert EventListener(sessions, ledger, handlers).poll() == 1

    assert recorder.confirmed == [("t1", 1, "Put")]


def test_a_restarted_listener_resumes_from_its_checkpoint(
    sessions: sessionmaker[Session],
    ledger: EmbeddedLedger,
    handlers: HandlerRegistry,
    recorder: Recorder,
) -> None:
    worker = OutboxWorker(sessions, ledger, handlers)
    add_command(sessions, "t1")
    worker.drain()
    first = EventListener(sessions, ledger, handlers)
    assert first.poll() == 1

    add_command(sessions, "t2")
    add_command(sessions, "t3", kind="unhandled_kind")
    ledger.submit(Submission("other-party-tx", "put", {"key": "x", "value": 0}, "BankBMSP"))
    worker.drain()
    restarted = EventListener(sessions, ledger, handlers)
    assert restarted.checkpoint() == 1
    assert restarted.poll() == 3

    assert restarted.checkpoint() == 4
    assert [c[0] for c in recorder.confirmed] == ["t1", "t2"]
    with sessions() as session:
        statuses = {c.subject_id: c.status for c in session.scalars(select(LedgerCommand))}
    assert statuses == {"t1": "confirmed", "t2": "confirmed", "t3": "confirmed"}


def test_each_consumer_keeps_its_own_checkpoint(
    sessions: sessionmaker[Session], ledger: EmbeddedLedger, handlers: HandlerRegistry
) -> None:
    ledger.submit(Submission("tx-1", "put", {"key": "x", "value": 0}, "BankBMSP"))
    assert EventListener(sessions, ledger, handlers).poll() == 1
    alerts = EventListener(sessions, ledger, handlers, consumer="alerts")
    assert alerts.checkpoint() == 0
    assert alerts.poll() == 1


def test_a_failing_confirmation_handler_keeps_the_checkpoint_on_that_event(
    sessions: sessionmaker[Session], ledger: EmbeddedLedger
) -> None:
    calls: list[str] = []

    def flaky(session: Session, command: LedgerCommand, event: LedgerEvent | None) -> None:
        """Fail on the first call only."""
        calls.append(command.subject_id)
        if len(calls) == 1:
            raise RuntimeError("domain update failed")

    handlers = HandlerRegistry()
    handlers.register("put_thing", on_confirmed=flaky)
    command = add_command(sessions, "t1")
    OutboxWorker(sessions, ledger, handlers).drain()
    listener = EventListener(sessions, ledger, handlers)

    with pytest.raises(RuntimeError):
        listener.poll()
    assert listener.checkpoint() == 0
    assert load(sessions, command.id).status == "submitted"
    assert listener.poll() == 1
    assert load(sessions, command.id).status == "confirmed"
    assert calls == ["t1", "t1"]


def test_enqueued_args_are_stored_as_canonical_json(sessions: sessionmaker[Session]) -> None:
    command = add_command(sessions, "t1", args={"b": [1, 2], "a": "é"})
    assert load(sessions, command.id).args == '{"a":"é","b":[1,2]}'
    assert json.loads(load(sessions, command.id).endorsers) == []


class BatchingLedger(FlakyLedger):
    """A ledger that, like a Fabric orderer, cuts several transactions into one block."""

    def __init__(self, blocks: list[list[str]]) -> None:
        super().__init__()
        self.blocks = blocks

    def events(self, after_block: int) -> Iterator[LedgerEvent]:
        """Every transaction of every block after the checkpoint, in order."""
        for number, tx_ids in enumerate(self.blocks, start=1):
            if number > after_block:
                for tx_id in tx_ids:
                    yield LedgerEvent(number, tx_id, "Put", {"tx": tx_id})


def test_every_transaction_of_a_block_is_confirmed_and_the_block_settles_whole(
    sessions: sessionmaker[Session], handlers: HandlerRegistry, recorder: Recorder
) -> None:
    commands = [add_command(sessions, f"thing-{i}") for i in range(5)]
    ledger = BatchingLedger([[c.tx_id for c in commands[:3]], [c.tx_id for c in commands[3:]]])
    listener = EventListener(sessions, ledger, handlers)
    assert listener.poll() == 5
    assert {load(sessions, c.id).status for c in commands} == {"confirmed"}
    assert [load(sessions, c.id).block_number for c in commands] == [1, 1, 1, 2, 2]
    assert listener.checkpoint() == 2
    assert listener.poll() == 0
    assert len(recorder.confirmed) == 5
