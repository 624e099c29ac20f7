"""World-state keys, record encoding and the single event each transaction emits."""

from __future__ import annotations

import json
from typing import Any

from chaincode.canonical import canonical_json
from chaincode.stub import Stub

Record = dict[str, Any]

RECEIPT = "receipt"
LIEN = "lien"
LOAN = "loan"
RELEASE = "release"
ANCHOR = "anchor"
PREFIXES = (RECEIPT, LIEN, LOAN, RELEASE, ANCHOR)


def key(prefix: str, ident: str) -> str:
    """World-state key for an object: a type prefix keeps each kind in its own range."""
    return f"{prefix}:{ident}"


def load(stub: Stub, state_key: str) -> Record | None:
    """Committed record stored under state_key, or None."""
    raw = stub.get_state(state_key)
    if raw is None:
        return None
    return decode(raw)


def decode(raw: bytes) -> Record:
    """Decode a stored record."""
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("state value is not a JSON object")
    return value


def save(stub: Stub, state_key: str, record: Record) -> None:
    """Write record as canonical JSON so every peer hashes identical bytes."""
    stub.put_state(state_key, canonical_json(record))


def emit(stub: Stub, name: str, payload: Record) -> Record:
    """Set the transaction's one event and hand the payload back as the result."""
    stub.set_event(name, canonical_json(payload))
    return payload
