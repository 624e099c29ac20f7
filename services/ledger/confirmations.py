"""What a confirmed or rejected ledger command changes in local state, per command kind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from loans import lending
from pledge import service as pledge
from services.ledger.outbox import HandlerRegistry
from services.ledger.port import LedgerEvent
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork


def _reason(command: LedgerCommand) -> str:
    return (
        f"{command.reason_code}: {command.reason}" if command.reason_code else command.reason or ""
    )


def _receipt_ok(session: Session, command: LedgerCommand, _event: LedgerEvent | None) -> None:
    receipt = SqlUnitOfWork(session).receipts.get(command.subject_id)
    if receipt is not None:
        pledge.on_receipt_confirmed(receipt)


def _receipt_refused(session: Session, command: LedgerCommand) -> None:
    receipt = SqlUnitOfWork(session).receipts.get(command.subject_id)
    if receipt is not None:
        pledge.on_receipt_rejected(receipt, _reason(command))


def _pledge_ok(session: Session, command: LedgerCommand, _event: LedgerEvent | None) -> None:
    uow = SqlUnitOfWork(session)
    loan = uow.loans.get(command.subject_id)
    if loan is not None:
        lending.on_pledge_confirmed(uow, loan)


def _pledge_refused(session: Session, command: LedgerCommand) -> None:
    loan = SqlUnitOfWork(session).loans.get(command.subject_id)
    if loan is not None:
        lending.on_pledge_rejected(loan, _reason(command))


def _lien_lifted(session: Session, command: LedgerCommand, _event: LedgerEvent | None) -> None:
    uow = SqlUnitOfWork(session)
    loan = uow.loans.get(command.subject_id)
    if loan is not None:
        lending.on_lien_lifted(uow, loan)


def _order_ok(session: Session, command: LedgerCommand, _event: LedgerEvent | None) -> None:
    order = SqlUnitOfWork(session).orders.get(command.subject_id)
    if order is not None:
        pledge.on_order_confirmed(order)


def _order_refused(session: Session, command: LedgerCommand) -> None:
    order = SqlUnitOfWork(session).orders.get(command.subject_id)
    if order is not None:
        pledge.on_order_rejected(order, _reason(command))


def _loan_note(session: Session, command: LedgerCommand) -> None:
    # A refused loan update means the ledger and the bank disagree: keep it visible on the loan.
    loan = SqlUnitOfWork(session).loans.get(command.subject_id)
    if loan is not None:
        loan.reasons = [*loan.reasons, f"ledger refused {command.kind}: {_reason(command)}"]


def _nothing(_session: Session, _command: LedgerCommand, _event: LedgerEvent | None) -> None:
    return None


def _order_note(session: Session, command: LedgerCommand) -> None:
    order = SqlUnitOfWork(session).orders.get(command.subject_id)
    if order is not None:
        order.reason = f"ledger refused the release confirmation: {_reason(command)}"


def _ignore(_session: Session, _command: LedgerCommand) -> None:
    return None


def build_handlers() -> HandlerRegistry:
    """Handlers for every kind of command the use cases enqueue."""
    registry = HandlerRegistry()
    registry.register("issue_receipt", _receipt_ok, _receipt_refused)
    registry.register("register_pledge", _pledge_ok, _pledge_refused)
    registry.register("update_loan", _nothing, _loan_note)
    registry.register("lift_lien", _lien_lifted, _loan_note)
    registry.register("issue_release_order", _order_ok, _order_refused)
    registry.register("confirm_release", _nothing, _order_note)
    registry.register("retire_receipt", _nothing, _ignore)
    registry.register("anchor", _nothing, _ignore)
    return registry
