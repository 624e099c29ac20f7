"""Pledges: registering a lien over receipts for a loan, and lifting it when the loan is repaid."""

from __future__ import annotations

from typing import Any

from chaincode import liens, loans, receipts
from chaincode.access import BANK, require_lien_holder, require_role
from chaincode.args import Fields
from chaincode.errors import ContractError
from chaincode.state import LOAN, Record, emit, key, save
from chaincode.stub import Stub


def _already_pledged(receipt_id: str) -> ContractError:
    # The message is the same whoever holds the lien: naming the bank would leak its book.
    return ContractError(
        "LIEN_EXISTS", f"goods under receipt {receipt_id} are already pledged (active lien)"
    )


def register_pledge(stub: Stub, raw: dict[str, Any]) -> Record:
    """Register a loan and an active lien on every lien key of its receipts."""
    creator = require_role(stub, "register_pledge", BANK)
    fields = Fields(raw, ("loan_id", "receipt_ids", "warehouse_msp", "commitment"))
    loan_id = fields.ident("loan_id")
    receipt_ids = fields.ident_list("receipt_ids")
    warehouse_msp = fields.ident("warehouse_msp")
    commitment = fields.hex64("commitment")
    loan_key = key(LOAN, loan_id)
    if stub.get_state(loan_key) is not None:
        raise ContractError("LOAN_EXISTS", f"loan {loan_id} already exists")

    pledged: list[Record] = []
    for receipt_id in receipt_ids:
        receipt = receipts.load_receipt(stub, receipt_id)
        if receipt["status"] != receipts.ISSUED:
            raise ContractError(
                "RECEIPT_NOT_AVAILABLE",
                f"receipt {receipt_id} is {receipt['status']}, not issued",
            )
        if receipt["warehouse_msp"] != warehouse_msp:
            raise ContractError(
                "WRONG_WAREHOUSE", f"receipt {receipt_id} is not held by warehouse {warehouse_msp}"
            )
        pledged.append(receipt)

    # Reads do not see this transaction's own writes (as on Fabric), so keys repeated across
    # the receipts of this very pledge are caught here rather than through the world state.
    claimed: set[str] = set()
    lien_keys: list[str] = []
    for receipt in pledged:
        for lien_key in receipt["lien_keys"]:
            if lien_key in claimed or liens.is_active(stub, lien_key):
                raise _already_pledged(receipt["receipt_id"])
            claimed.add(lien_key)
            lien_keys.append(lien_key)

    for receipt in pledged:
        for lien_key in receipt["lien_keys"]:
            liens.put_new_lien(
                stub,
                lien_key,
                loan_id=loan_id,
                bank_msp=creator.msp_id,
                receipt_id=receipt["receipt_id"],
            )
        receipts.set_receipt_status(stub, receipt, receipts.PLEDGED, loan_id)
    save(
        stub,
        loan_key,
        {
            "loan_id": loan_id,
            "bank_msp": creator.msp_id,
            "warehouse_msp": warehouse_msp,
            "receipt_ids": receipt_ids,
            "status": loans.PLEDGED,
            "commitment": commitment,
            "updated_at": stub.tx_timestamp,
        },
    )
    return emit(
        stub,
        "PledgeRegistered",
        {
            "loan_id": loan_id,
            "receipt_ids": receipt_ids,
            "lien_keys": lien_keys,
            "warehouse_msp": warehouse_msp,
            "status": loans.PLEDGED,
        },
    )


def lift_lien(stub: Stub, raw: dict[str, Any]) -> Record:
    """Close a repaid loan: lift its active liens and free its still-pledged receipts."""
    creator = require_role(stub, "lift_lien", BANK)
    fields = Fields(raw, ("loan_id", "commitment"))
    loan_id = fields.ident("loan_id")
    commitment = fields.hex64("commitment")
    loan = loans.load_loan(stub, loan_id)
    require_lien_holder(creator, loan)
    loans.require_status(loan, loans.OPEN_STATUSES, "lift the lien of")
    lifted_keys, freed_receipts = liens.end_loan_collateral(
        stub, loan, lien_status=liens.LIFTED, receipt_status=receipts.ISSUED
    )
    loans.save_loan(stub, loan, status=loans.CLOSED, commitment=commitment)
    return emit(
        stub,
        "LienLifted",
        {
            "loan_id": loan_id,
            "status": loans.CLOSED,
            "lifted_lien_keys": lifted_keys,
            "freed_receipt_ids": freed_receipts,
        },
    )
