"""Lien records: one per lien key, overwritten when a no-longer-active key is pledged again."""

from __future__ import annotations

from chaincode.receipts import ISSUED, PLEDGED, load_receipt, set_receipt_status
from chaincode.state import LIEN, Record, key, load, save
from chaincode.stub import Stub

ACTIVE = "active"
RELEASED = "released"
LIFTED = "lifted"
LIQUIDATED = "liquidated"


def load_lien(stub: Stub, lien_key: str) -> Record | None:
    """The lien record for lien_key, whatever its status, or None."""
    return load(stub, key(LIEN, lien_key))


def is_active(stub: Stub, lien_key: str) -> bool:
    """True when some loan holds an active lien on lien_key."""
    lien = load_lien(stub, lien_key)
    return lien is not None and lien["status"] == ACTIVE


def is_held_by(lien: Record | None, loan_id: str) -> bool:
    """True when lien is active under loan_id."""
    return lien is not None and lien["status"] == ACTIVE and lien["loan_id"] == loan_id


def put_new_lien(
    stub: Stub, lien_key: str, *, loan_id: str, bank_msp: str, receipt_id: str
) -> None:
    """Store an active lien of loan_id on lien_key."""
    save(
        stub,
        key(LIEN, lien_key),
        {
            "lien_key": lien_key,
            "loan_id": loan_id,
            "bank_msp": bank_msp,
            "receipt_id": receipt_id,
            "status": ACTIVE,
            "since": stub.tx_timestamp,
            "updated_at": stub.tx_timestamp,
        },
    )


def set_lien_status(stub: Stub, lien: Record, status: str) -> None:
    """Store lien with a new status."""
    updated = {**lien, "status": status, "updated_at": stub.tx_timestamp}
    save(stub, key(LIEN, lien["lien_key"]), updated)


def end_loan_collateral(
    stub: Stub, loan: Record, *, lien_status: str, receipt_status: str
) -> tuple[list[str], list[str]]:
    """Move the loan's active liens and still-pledged receipts to their final statuses."""
    loan_id = loan["loan_id"]
    ended_keys: list[str] = []
    ended_receipts: list[str] = []
    for receipt_id in loan["receipt_ids"]:
        receipt = load_receipt(stub, receipt_id)
        for lien_key in receipt["lien_keys"]:
            lien = load_lien(stub, lien_key)
            # A key released earlier, or since pledged to another loan, is not ours to touch.
            if lien is not None and is_held_by(lien, loan_id):
                set_lien_status(stub, lien, lien_status)
                ended_keys.append(lien_key)
        if receipt["status"] == PLEDGED and receipt["loan_id"] == loan_id:
            # A receipt back in "issued" is free again, so it no longer names the old loan.
            set_receipt_status(
                stub, receipt, receipt_status, None if receipt_status == ISSUED else loan_id
            )
            ended_receipts.append(receipt_id)
    return ended_keys, ended_receipts
