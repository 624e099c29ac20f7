"""What a confirmed or rejected ledger command changes in local state, per command kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from loans import lending
from pledge import service as pledge
from pledge.anchoring import ANCHOR_EXISTS, ANCHOR_KIND
from services.ledger.outbox import CONFIRMED, HandlerRegistry
from services.ledger.port import LedgerEvent
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork

Confirmed = Callable[[Session, LedgerCommand, LedgerEvent | None], None]
Refused = Callable[[Session, LedgerCommand], None]


def reason_of(command: LedgerCommand) -> str:
    """The ledger's reason for a refusal, with its code."""
    if command.reason_code:
        return f"{command.reason_code}: {command.reason}"
    return command.reason or ""


def on_confirmed(repo: str, apply: Callable[[SqlUnitOfWork, Any], None]) -> Confirmed:
    """A handler that loads the command's subject from `repo` and applies the confirmation."""

    def handle(session: Session, command: LedgerCommand, _event: LedgerEvent | None) -> None:
        uow = SqlUnitOfWork(session)
        subject = getattr(uow, repo).get(command.subject_id)
        if subject is not None:
            apply(uow, subject)

    return handle


def on_refused(repo: str, apply: Callable[[Any, str], None]) -> Refused:
    """A handler that loads the command's subject from `repo` and records the refusal."""

    def handle(session: Session, command: LedgerCommand) -> None:
        subject = getattr(SqlUnitOfWork(session), repo).get(command.subject_id)
        if subject is not None:
            apply(subject, reason_of(command))

    return handle


def _note_on_loan(loan: Any, reason: str) -> None:
    # A refused loan update means the ledger and the bank disagree: keep it visible on the loan.
    loan.reasons = [*loan.reasons, f"the ledger refused an update: {reason}"]


def _note_on_order(order: Any, reason: str) -> None:
    order.reason = f"the ledger refused the release confirmation: {reason}"


def _anchor_refused(_session: Session, command: LedgerCommand) -> None:
    # The hash is on the ledger already (another party anchored the same event, or an earlier
    # submission landed): that is the state this command wanted, so it is not a failure.
    if command.reason_code == ANCHOR_EXISTS:
        command.status = CONFIRMED
        command.reason = "already anchored on the ledger"


def _nothing(_session: Session, _command: LedgerCommand, _event: LedgerEvent | None) -> None:
    return None


def _ignore(_session: Session, _command: LedgerCommand) -> None:
    return None


def build_handlers() -> HandlerRegistry:
    """Handlers for every kind of command the use cases enqueue."""
    registry = HandlerRegistry()
    registry.register(
        "issue_receipt",
        on_confirmed("receipts", lambda _uow, r: pledge.on_receipt_confirmed(r)),
        on_refused("receipts", pledge.on_receipt_rejected),
    )
    registry.register(
        "register_pledge",
        on_confirmed("loans", lending.on_pledge_confirmed),
        on_refused("loans", lending.on_pledge_rejected),
    )
    registry.register("update_loan", _nothing, on_refused("loans", _note_on_loan))
    registry.register(
        "lift_lien",
        on_confirmed("loans", lending.on_lien_lifted),
        on_refused("loans", _note_on_loan),
    )
    registry.register(
        "issue_release_order",
        on_confirmed("orders", lambda _uow, o: pledge.on_order_confirmed(o)),
        on_refused("orders", pledge.on_order_rejected),
    )
    registry.register("confirm_release", _nothing, on_refused("orders", _note_on_order))
    registry.register("retire_receipt", _nothing, _ignore)
    registry.register(ANCHOR_KIND, _nothing, _anchor_refused)
    return registry
