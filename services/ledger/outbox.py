"""Outbox: ledger commands written with local state, submitted later, confirmed by events."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaincode.canonical import canonical_json
from services.ledger.port import Conflict, LedgerEvent, LedgerPort, Rejected, Submission
from services.ledger.tables import LedgerCheckpoint, LedgerCommand

log = logging.getLogger(__name__)

PENDING = "pending"
SUBMITTED = "submitted"
CONFIRMED = "confirmed"
REJECTED = "rejected"

OnConfirmed = Callable[[Session, LedgerCommand, LedgerEvent | None], None]
OnRejected = Callable[[Session, LedgerCommand], None]


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def command_tx_id(command_id: str) -> str:
    """Deterministic transaction id of a command, so every resubmission is the same tx."""
    return hashlib.sha256(f"pledgewatch-command:{command_id}".encode()).hexdigest()


def enqueue(
    session: Session,
    *,
    org_id: str,
    kind: str,
    subject_type: str,
    subject_id: str,
    fn: str,
    args: Mapping[str, Any],
    submitter_msp: str,
    endorsers: Iterable[str] = (),
    now: datetime | None = None,
) -> LedgerCommand:
    """Add a pending command to the caller's session; the caller's unit of work commits it."""
    moment = now or utcnow()
    command_id = uuid.uuid4().hex
    command = LedgerCommand(
        id=command_id,
        org_id=org_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        fn=fn,
        args=canonical_json(dict(args)).decode("utf-8"),
        submitter_msp=submitter_msp,
        endorsers=json.dumps(list(endorsers)),
        tx_id=command_tx_id(command_id),
        status=PENDING,
        attempts=0,
        next_attempt_at=moment,
        created_at=moment,
        updated_at=moment,
    )
    session.add(command)
    return command


def submission_for(command: LedgerCommand) -> Submission:
    """The ledger submission a command stands for; identical on every attempt."""
    # The command's creation time is the tx timestamp, so a retry replays the same transaction.
    created = command.created_at.astimezone(UTC)
    timestamp = created.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return Submission(
        tx_id=command.tx_id,
        fn=command.fn,
        args=json.loads(command.args),
        submitter_msp=command.submitter_msp,
        endorsers=tuple(json.loads(command.endorsers)),
        timestamp=timestamp,
    )


@dataclass(frozen=True)
class _Handlers:
    on_confirmed: OnConfirmed | None
    on_rejected: OnRejected | None


class HandlerRegistry:
    """Per command kind, what to do to local domain state when the ledger confirms or refuses."""

    def __init__(self) -> None:
        self._by_kind: dict[str, _Handlers] = {}

    def register(
        self,
        kind: str,
        on_confirmed: OnConfirmed | None = None,
        on_rejected: OnRejected | None = None,
    ) -> None:
        """Set the handlers of a kind, replacing any earlier ones."""
        self._by_kind[kind] = _Handlers(on_confirmed, on_rejected)

    def confirmed(
        self, session: Session, command: LedgerCommand, event: LedgerEvent | None
    ) -> None:
        """Run the kind's confirmation handler, if there is one."""
        handlers = self._by_kind.get(command.kind)
        if handlers is not None and handlers.on_confirmed is not None:
            handlers.on_confirmed(session, command, event)

    def rejected(self, session: Session, command: LedgerCommand) -> None:
        """Run the kind's rejection handler, if there is one."""
        handlers = self._by_kind.get(command.kind)
        if handlers is not None and handlers.on_rejected is not None:
            handlers.on_rejected(session, command)


class OutboxWorker:
    """Submits due pending commands; refusals are final, failures back off and retry."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        ledger: LedgerPort,
        handlers: HandlerRegistry,
        *,
        clock: Callable[[], datetime] = utcnow,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        conflict_delay: float = 0.05,
    ) -> None:
        self._sessions = session_factory
        self._ledger = ledger
        self._handlers = handlers
        self._clock = clock
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._conflict_delay = conflict_delay

    def drain(self, limit: int = 100) -> int:
        """Submit up to limit due pending commands, oldest first; returns how many were tried."""
        with self._sessions() as session:
            due = list(
                session.scalars(
                    select(LedgerCommand)
                    .where(LedgerCommand.status == PENDING)
                    .where(LedgerCommand.next_attempt_at <= self._clock())
                    .order_by(LedgerCommand.created_at, LedgerCommand.id)
                    .limit(limit)
                )
            )
        for command in due:
            self._attempt(command)
        return len(due)

    def _attempt(self, command: LedgerCommand) -> None:
        # No DB transaction is held during the ledger call: a Fabric round trip takes a while,
        # and the embedded ledger may need to write to this same database.
        try:
            result = self._ledger.submit(submission_for(command))
        except Rejected as exc:
            self._settle(command.id, self._rejected(exc))
        except Conflict as exc:
            self._settle(command.id, self._retry(exc, lambda _attempts: self._conflict_delay))
        except Exception as exc:
            log.warning("ledger submit of command %s failed: %s", command.id, exc)
            self._settle(command.id, self._retry(exc, self._backoff))
        else:
            self._settle(command.id, self._submitted(result.block_number))

    def _submitted(self, block_number: int) -> Callable[[Session, LedgerCommand], None]:
        def apply(_session: Session, row: LedgerCommand) -> None:
            row.status = SUBMITTED
            row.block_number = block_number
            row.attempts += 1
            row.reason_code = None
            row.reason = None

        return apply

    def _rejected(self, exc: Rejected) -> Callable[[Session, LedgerCommand], None]:
        def apply(session: Session, row: LedgerCommand) -> None:
            row.status = REJECTED
            row.attempts += 1
            row.reason_code = exc.code
            row.reason = exc.message
            self._handlers.rejected(session, row)

        return apply

    def _retry(
        self, exc: Exception, delay: Callable[[int], float]
    ) -> Callable[[Session, LedgerCommand], None]:
        def apply(_session: Session, row: LedgerCommand) -> None:
            row.attempts += 1
            row.reason_code = type(exc).__name__
            row.reason = str(exc) or type(exc).__name__
            row.next_attempt_at = self._clock() + timedelta(seconds=delay(row.attempts))

        return apply

    def _backoff(self, attempts: int) -> float:
        return float(min(self._max_delay, self._base_delay * 2 ** max(0, attempts - 1)))

    def _settle(self, command_id: str, apply: Callable[[Session, LedgerCommand], None]) -> None:
        try:
            self._update(command_id, apply)
        except Exception as exc:
            # The row stays pending and is retried later; a resubmission is idempotent on tx_id.
            log.exception("could not record the outcome of command %s", command_id)
            try:
                self._update(command_id, self._retry(exc, self._backoff))
            except Exception:
                log.exception("could not schedule a retry of command %s", command_id)

    def _update(self, command_id: str, apply: Callable[[Session, LedgerCommand], None]) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(LedgerCommand, command_id, with_for_update=True)
            # The listener may already have confirmed it; never move a command backwards.
            if row is None or row.status != PENDING:
                return
            apply(session, row)
            row.updated_at = self._clock()


class EventListener:
    """Confirms commands from ledger events, exactly once, resuming from a stored checkpoint."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        ledger: LedgerPort,
        handlers: HandlerRegistry,
        consumer: str = "service",
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self._ledger = ledger
        self._handlers = handlers
        self._consumer = consumer
        self._clock = clock

    def checkpoint(self) -> int:
        """Number of the last block this consumer has processed (0 before the first)."""
        with self._sessions() as session:
            row = session.get(LedgerCheckpoint, self._consumer)
            return 0 if row is None else row.block_number

    def poll(self) -> int:
        """Process every event after the checkpoint; returns how many were processed."""
        processed = 0
        # A Fabric block carries many transactions: a block is settled whole, or not at all,
        # so the checkpoint never points into the middle of one.
        for number, events in groupby(self._ledger.events(self.checkpoint()), key=_block_of):
            processed += self._process_block(number, list(events))
        return processed

    def _process_block(self, number: int, events: list[LedgerEvent]) -> int:
        with self._sessions() as session, session.begin():
            checkpoint = session.get(LedgerCheckpoint, self._consumer, with_for_update=True)
            if checkpoint is None:
                checkpoint = LedgerCheckpoint(consumer=self._consumer, block_number=0)
                session.add(checkpoint)
            elif checkpoint.block_number >= number:
                return 0
            for event in events:
                self._confirm(session, event)
            checkpoint.block_number = number
        return len(events)

    def _confirm(self, session: Session, event: LedgerEvent) -> None:
        command = session.scalar(select(LedgerCommand).where(LedgerCommand.tx_id == event.tx_id))
        if command is not None and command.status != CONFIRMED:
            command.status = CONFIRMED
            command.block_number = event.block_number
            command.reason_code = None
            command.reason = None
            command.updated_at = self._clock()
            self._handlers.confirmed(session, command, event)


def _block_of(event: LedgerEvent) -> int:
    return event.block_number


def pump(worker: OutboxWorker, listener: EventListener, limit: int = 100) -> tuple[int, int]:
    """Drain the outbox, then poll events; returns (commands tried, events processed)."""
    return worker.drain(limit), listener.poll()
