"""Read-only functions; what they return is what any member of the channel may read."""

from __future__ import annotations

from typing import Any

from chaincode import liens, loans, receipts, releases
from chaincode.args import Fields, bad, is_hex64, is_ident
from chaincode.errors import ContractError
from chaincode.state import (
    ANCHOR,
    LIEN,
    LOAN,
    PREFIXES,
    RECEIPT,
    RELEASE,
    Record,
    decode,
    key,
    load,
)
from chaincode.stub import Stub


def public_lien(lien: Record) -> Record:
    """The part of a lien other banks may see: the hashed key and its status, never the holder."""
    return {"lien_key": lien["lien_key"], "status": lien["status"]}


def _require_party(stub: Stub, record: Record, what: str) -> Record:
    """Only the lending bank, the warehouse and auditors read a loan or a release order."""
    creator = stub.creator()
    parties = {record.get("bank_msp"), record.get("warehouse_msp")}
    if creator.role == "auditor" or creator.msp_id in parties:
        return record
    raise ContractError("NOT_A_PARTY", f"only the parties to this {what} may read it")


def get_receipt(stub: Stub, raw: dict[str, Any]) -> Record:
    """A receipt by id; the loan it secures is shown only to its warehouse and auditors."""
    receipt = receipts.load_receipt(stub, Fields(raw, ("receipt_id",)).ident("receipt_id"))
    return get_receipt_view(stub, receipt)


def get_receipt_view(stub: Stub, receipt: Record) -> Record:
    """A receipt as the caller may see it: without its loan unless they are its warehouse."""
    creator = stub.creator()
    if creator.role == "auditor" or creator.msp_id == receipt.get("warehouse_msp"):
        return receipt
    # Another bank would otherwise walk receipt -> loan -> lending bank.
    return {k: v for k, v in receipt.items() if k != "loan_id"}


def get_loan(stub: Stub, raw: dict[str, Any]) -> Record:
    """A loan by id, for its parties."""
    loan = loans.load_loan(stub, Fields(raw, ("loan_id",)).ident("loan_id"))
    return _require_party(stub, loan, "loan")


def get_lien(stub: Stub, raw: dict[str, Any]) -> Record:
    """A lien's key and status."""
    lien_key = Fields(raw, ("lien_key",)).hex64("lien_key")
    lien = liens.load_lien(stub, lien_key)
    if lien is None:
        raise ContractError("LIEN_NOT_FOUND", f"no lien was ever registered on key {lien_key}")
    return public_lien(lien)


def get_release_order(stub: Stub, raw: dict[str, Any]) -> Record:
    """A release order by id, for its parties."""
    order = releases.load_order(stub, Fields(raw, ("order_id",)).ident("order_id"))
    return _require_party(stub, order, "release order")


def get_anchor(stub: Stub, raw: dict[str, Any]) -> Record:
    """An anchor by the hash it anchors."""
    digest = Fields(raw, ("hash",)).hex64("hash")
    found = load(stub, key(ANCHOR, digest))
    if found is None:
        raise ContractError("ANCHOR_NOT_FOUND", f"hash {digest} is not anchored")
    return found


def _history_key(state_key: str) -> tuple[str, str]:
    prefix, sep, ident = state_key.partition(":")
    if not sep or prefix not in PREFIXES:
        raise bad(f"key must start with one of {', '.join(p + ':' for p in PREFIXES)}")
    valid = is_hex64(ident) if prefix in (LIEN, ANCHOR) else is_ident(ident)
    if not valid:
        raise bad(f"key {state_key!r} does not name a valid {prefix} id")
    return prefix, ident


def history(stub: Stub, raw: dict[str, Any]) -> Record:
    """Every committed value of a key, oldest first."""
    state_key = Fields(raw, ("key",)).ident("key")
    prefix, _ = _history_key(state_key)
    entries: list[Record] = []
    for entry in stub.get_history(state_key):
        value = None if entry.value is None else decode(entry.value)
        if value is not None and prefix == LIEN:
            # Without this, a lien's past values would name the bank that get_lien hides.
            value = public_lien(value)
        elif value is not None and prefix in (LOAN, RELEASE):
            value = _require_party(stub, value, prefix)
        elif value is not None and prefix == RECEIPT:
            value = get_receipt_view(stub, value)
        entries.append(
            {
                "tx_id": entry.tx_id,
                "timestamp": entry.timestamp,
                "value": value,
                "is_delete": entry.is_delete,
            }
        )
    return {"key": state_key, "history": entries}
