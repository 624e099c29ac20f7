"""Read-only functions; what they return is what any member of the channel may read."""

from __future__ import annotations

from typing import Any

from chaincode import liens, loans, receipts, releases
from chaincode.args import Fields, bad, is_hex64, is_ident
from chaincode.errors import ContractError
from chaincode.state import ANCHOR, LIEN, PREFIXES, Record, decode, key, load
from chaincode.stub import Stub


def public_lien(lien: Record) -> Record:
    """The part of a lien other banks may see: the hashed key and its status, never the holder."""
    return {"lien_key": lien["lien_key"], "status": lien["status"]}


def get_receipt(stub: Stub, raw: dict[str, Any]) -> Record:
    """A receipt by id."""
    return receipts.load_receipt(stub, Fields(raw, ("receipt_id",)).ident("receipt_id"))


def get_loan(stub: Stub, raw: dict[str, Any]) -> Record:
    """A loan by id."""
    return loans.load_loan(stub, Fields(raw, ("loan_id",)).ident("loan_id"))


def get_lien(stub: Stub, raw: dict[str, Any]) -> Record:
    """A lien's key and status."""
    lien_key = Fields(raw, ("lien_key",)).hex64("lien_key")
    lien = liens.load_lien(stub, lien_key)
    if lien is None:
        raise ContractError("LIEN_NOT_FOUND", f"no lien was ever registered on key {lien_key}")
    return public_lien(lien)


def get_release_order(stub: Stub, raw: dict[str, Any]) -> Record:
    """A release order by id."""
    return releases.load_order(stub, Fields(raw, ("order_id",)).ident("order_id"))


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
        entries.append(
            {
                "tx_id": entry.tx_id,
                "timestamp": entry.timestamp,
                "value": value,
                "is_delete": entry.is_delete,
            }
        )
    return {"key": state_key, "history": entries}
