"""Release orders: the bank frees pledged goods, the warehouse confirms they went out."""

from __future__ import annotations

from typing import Any

from chaincode import liens, loans, receipts
from chaincode.access import (
    BANK,
    WAREHOUSE,
    require_lien_holder,
    require_own_warehouse,
    require_role,
)
from chaincode.args import Fields
from chaincode.errors import ContractError
from chaincode.state import RELEASE, Record, emit, key, load, save
from chaincode.stub import Stub

OPEN = "open"
EXECUTED = "executed"


def load_order(stub: Stub, order_id: str) -> Record:
    """The release order, or ORDER_NOT_FOUND."""
    order = load(stub, key(RELEASE, order_id))
    if order is None:
        raise ContractError("ORDER_NOT_FOUND", f"release order {order_id} does not exist")
    return order


def _not_under_loan(receipt_id: str, loan_id: str) -> ContractError:
    return ContractError(
        "RECEIPT_NOT_PLEDGED_TO_LOAN", f"receipt {receipt_id} is not pledged to loan {loan_id}"
    )


def issue_release_order(stub: Stub, raw: dict[str, Any]) -> Record:
    """Order the release of goods under a pledged receipt (all, some keys, or a bulk quantity)."""
    creator = require_role(stub, "issue_release_order", BANK)
    fields = Fields(raw, ("order_id", "loan_id", "receipt_id", "lien_keys", "commitment"))
    order_id = fields.ident("order_id")
    loan_id = fields.ident("loan_id")
    receipt_id = fields.ident("receipt_id")
    # Empty is allowed: part of an untagged bulk lot leaves while the lot's lien stays.
    lien_keys = fields.hex64_list("lien_keys", allow_empty=True)
    commitment = fields.hex64("commitment")
    order_key = key(RELEASE, order_id)
    if stub.get_state(order_key) is not None:
        raise ContractError("ORDER_EXISTS", f"release order {order_id} already exists")
    loan = loans.load_loan(stub, loan_id)
    require_lien_holder(creator, loan)
    loans.require_status(loan, loans.OPEN_STATUSES, "release goods of")
    receipt = receipts.load_receipt(stub, receipt_id) if receipt_id in loan["receipt_ids"] else None
    if receipt is None or receipt["status"] != receipts.PLEDGED or receipt["loan_id"] != loan_id:
        raise _not_under_loan(receipt_id, loan_id)
    for lien_key in lien_keys:
        if lien_key not in receipt["lien_keys"] or not liens.is_held_by(
            liens.load_lien(stub, lien_key), loan_id
        ):
            raise ContractError(
                "LIEN_KEY_NOT_HELD",
                f"lien key {lien_key} is not an active lien of loan {loan_id} "
                f"on receipt {receipt_id}",
            )
    save(
        stub,
        order_key,
        {
            "order_id": order_id,
            "loan_id": loan_id,
            "receipt_id": receipt_id,
            "lien_keys": lien_keys,
            "bank_msp": creator.msp_id,
            "warehouse_msp": loan["warehouse_msp"],
            "status": OPEN,
            "commitment": commitment,
            "issued_at": stub.tx_timestamp,
        },
    )
    return emit(
        stub,
        "ReleaseOrdered",
        {
            "order_id": order_id,
            "loan_id": loan_id,
            "receipt_id": receipt_id,
            "lien_keys": lien_keys,
            "status": OPEN,
        },
    )


def confirm_release(stub: Stub, raw: dict[str, Any]) -> Record:
    """Record that the warehouse executed a release order; close the receipt if all goods left."""
    creator = require_role(stub, "confirm_release", WAREHOUSE)
    fields = Fields(raw, ("order_id", "receipt_closed"))
    order_id = fields.ident("order_id")
    receipt_closed = fields.flag("receipt_closed")
    order = load_order(stub, order_id)
    require_own_warehouse(creator, order["warehouse_msp"], f"release order {order_id}")
    if order["status"] != OPEN:
        raise ContractError("ORDER_NOT_OPEN", f"release order {order_id} is {order['status']}")
    loan_id = order["loan_id"]
    receipt = receipts.load_receipt(stub, order["receipt_id"])
    # After a lift the receipt is free ("issued") and executing the order is still sound; once
    # it is pledged to another loan, or gone, the old order must not touch it.
    if receipt["status"] == receipts.PLEDGED and receipt["loan_id"] != loan_id:
        raise _not_under_loan(receipt["receipt_id"], loan_id)
    if receipt["status"] not in (receipts.PLEDGED, receipts.ISSUED):
        raise ContractError(
            "RECEIPT_NOT_AVAILABLE", f"receipt {receipt['receipt_id']} is {receipt['status']}"
        )
    released: list[str] = []
    for lien_key in order["lien_keys"]:
        lien = liens.load_lien(stub, lien_key)
        if lien is not None and liens.is_held_by(lien, loan_id):
            liens.set_lien_status(stub, lien, liens.RELEASED)
            released.append(lien_key)
    receipt_status = receipt["status"]
    if receipt_closed:
        receipt_status = receipts.RELEASED
        receipts.set_receipt_status(stub, receipt, receipt_status, receipt["loan_id"])
    save(
        stub,
        key(RELEASE, order_id),
        {**order, "status": EXECUTED, "executed_at": stub.tx_timestamp},
    )
    return emit(
        stub,
        "ReleaseConfirmed",
        {
            "order_id": order_id,
            "loan_id": loan_id,
            "receipt_id": receipt["receipt_id"],
            "status": EXECUTED,
            "released_lien_keys": released,
            "receipt_status": receipt_status,
        },
    )
