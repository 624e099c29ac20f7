"""Warehouse receipts: issued by the warehouse that holds the goods, retired when goods leave."""

from __future__ import annotations

from typing import Any

from chaincode.access import WAREHOUSE, require_own_warehouse, require_role
from chaincode.args import Fields
from chaincode.errors import ContractError
from chaincode.state import RECEIPT, Record, emit, key, load, save
from chaincode.stub import Stub

ISSUED = "issued"
PLEDGED = "pledged"
RELEASED = "released"
LIQUIDATED = "liquidated"


def load_receipt(stub: Stub, receipt_id: str) -> Record:
    """The receipt, or RECEIPT_NOT_FOUND."""
    receipt = load(stub, key(RECEIPT, receipt_id))
    if receipt is None:
        raise ContractError("RECEIPT_NOT_FOUND", f"receipt {receipt_id} does not exist")
    return receipt


def set_receipt_status(stub: Stub, receipt: Record, status: str, loan_id: str | None) -> None:
    """Store receipt with a new status and the loan it is (or is no longer) pledged to."""
    updated = {**receipt, "status": status, "loan_id": loan_id, "updated_at": stub.tx_timestamp}
    save(stub, key(RECEIPT, receipt["receipt_id"]), updated)


def issue_receipt(stub: Stub, raw: dict[str, Any]) -> Record:
    """Record a new warehouse receipt for goods the submitting warehouse holds."""
    creator = require_role(stub, "issue_receipt", WAREHOUSE)
    fields = Fields(raw, ("receipt_id", "warehouse_id", "lien_keys", "commitment"))
    receipt_id = fields.ident("receipt_id")
    warehouse_id = fields.ident("warehouse_id")
    lien_keys = fields.hex64_list("lien_keys", allow_empty=False)
    commitment = fields.hex64("commitment")
    state_key = key(RECEIPT, receipt_id)
    if stub.get_state(state_key) is not None:
        raise ContractError("RECEIPT_EXISTS", f"receipt {receipt_id} already exists")
    # Duplicate receipts for the same goods are allowed here on purpose: they carry the same
    # lien keys, and the second pledge of those keys is what the ledger refuses.
    save(
        stub,
        state_key,
        {
            "receipt_id": receipt_id,
            "warehouse_id": warehouse_id,
            "warehouse_msp": creator.msp_id,
            "lien_keys": lien_keys,
            "commitment": commitment,
            "status": ISSUED,
            "loan_id": None,
            "issued_at": stub.tx_timestamp,
            "updated_at": stub.tx_timestamp,
        },
    )
    return emit(
        stub,
        "ReceiptIssued",
        {
            "receipt_id": receipt_id,
            "warehouse_id": warehouse_id,
            "warehouse_msp": creator.msp_id,
            "lien_keys": lien_keys,
            "status": ISSUED,
        },
    )


def retire_receipt(stub: Stub, raw: dict[str, Any]) -> Record:
    """Close an unpledged receipt because its goods left the warehouse."""
    creator = require_role(stub, "retire_receipt", WAREHOUSE)
    receipt_id = Fields(raw, ("receipt_id",)).ident("receipt_id")
    receipt = load_receipt(stub, receipt_id)
    require_own_warehouse(creator, receipt["warehouse_msp"], f"receipt {receipt_id}")
    if receipt["status"] != ISSUED:
        raise ContractError(
            "RECEIPT_NOT_AVAILABLE",
            f"receipt {receipt_id} is {receipt['status']}; only an issued receipt can be retired",
        )
    set_receipt_status(stub, receipt, RELEASED, None)
    return emit(stub, "ReceiptRetired", {"receipt_id": receipt_id, "status": RELEASED})
