"""Loan records and the status changes the lien-holding bank may make."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from chaincode import liens, receipts
from chaincode.access import BANK, require_lien_holder, require_role
from chaincode.args import Fields
from chaincode.errors import ContractError
from chaincode.state import LOAN, Record, emit, key, load, save
from chaincode.stub import Stub

PLEDGED = "pledged"
ACTIVE = "active"
MARGIN_CALL = "margin_call"
DEFAULTED = "defaulted"
LIQUIDATED = "liquidated"
CLOSED = "closed"
STATUSES = frozenset({PLEDGED, ACTIVE, MARGIN_CALL, DEFAULTED, LIQUIDATED, CLOSED})
# Statuses in which the bank still holds its collateral and may release or lift it.
OPEN_STATUSES = frozenset({PLEDGED, ACTIVE, MARGIN_CALL})

TRANSITIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        PLEDGED: frozenset({ACTIVE}),
        # active -> active records a repayment: only the commitment changes.
        ACTIVE: frozenset({ACTIVE, MARGIN_CALL, DEFAULTED}),
        MARGIN_CALL: frozenset({MARGIN_CALL, ACTIVE, DEFAULTED}),
        DEFAULTED: frozenset({LIQUIDATED}),
        LIQUIDATED: frozenset(),
        CLOSED: frozenset(),
    }
)


def load_loan(stub: Stub, loan_id: str) -> Record:
    """The loan, or LOAN_NOT_FOUND."""
    loan = load(stub, key(LOAN, loan_id))
    if loan is None:
        raise ContractError("LOAN_NOT_FOUND", f"loan {loan_id} does not exist")
    return loan


def save_loan(stub: Stub, loan: Record, *, status: str, commitment: str) -> None:
    """Store loan with a new status and commitment."""
    updated = {
        **loan,
        "status": status,
        "commitment": commitment,
        "updated_at": stub.tx_timestamp,
    }
    save(stub, key(LOAN, loan["loan_id"]), updated)


def require_status(loan: Record, allowed: frozenset[str], action: str) -> None:
    """Refuse with INVALID_TRANSITION unless the loan's status is in allowed."""
    if loan["status"] not in allowed:
        raise ContractError(
            "INVALID_TRANSITION",
            f"cannot {action} loan {loan['loan_id']} while it is {loan['status']}",
        )


def update_loan(stub: Stub, raw: dict[str, Any]) -> Record:
    """Move a loan along its life cycle (disbursed, repaid, margin call, default, liquidation)."""
    creator = require_role(stub, "update_loan", BANK)
    fields = Fields(raw, ("loan_id", "status", "commitment"))
    loan_id = fields.ident("loan_id")
    status = fields.choice("status", STATUSES)
    commitment = fields.hex64("commitment")
    loan = load_loan(stub, loan_id)
    require_lien_holder(creator, loan)
    previous = loan["status"]
    if status not in TRANSITIONS.get(previous, frozenset()):
        raise ContractError(
            "INVALID_TRANSITION", f"loan {loan_id} cannot go from {previous} to {status}"
        )
    liquidated_keys: list[str] = []
    liquidated_receipts: list[str] = []
    if status == LIQUIDATED:
        liquidated_keys, liquidated_receipts = liens.end_loan_collateral(
            stub, loan, lien_status=liens.LIQUIDATED, receipt_status=receipts.LIQUIDATED
        )
    save_loan(stub, loan, status=status, commitment=commitment)
    return emit(
        stub,
        "LoanUpdated",
        {
            "loan_id": loan_id,
            "previous_status": previous,
            "status": status,
            "liquidated_lien_keys": liquidated_keys,
            "liquidated_receipt_ids": liquidated_receipts,
        },
    )
