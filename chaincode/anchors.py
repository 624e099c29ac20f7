"""Anchors: hashes of off-chain evidence (EPCIS events, snapshots) fixed on the ledger."""

from __future__ import annotations

from typing import Any

from chaincode.access import BANK, WAREHOUSE, require_role
from chaincode.args import Fields
from chaincode.errors import ContractError
from chaincode.state import ANCHOR, Record, emit, key, save
from chaincode.stub import Stub


def anchor(stub: Stub, raw: dict[str, Any]) -> Record:
    """Anchor a hash once; the first anchoring fixes who anchored it and when."""
    creator = require_role(stub, "anchor", WAREHOUSE, BANK)
    fields = Fields(raw, ("anchor_id", "kind", "hash"))
    anchor_id = fields.ident("anchor_id")
    kind = fields.ident("kind")
    digest = fields.hex64("hash")
    state_key = key(ANCHOR, digest)
    if stub.get_state(state_key) is not None:
        raise ContractError("ANCHOR_EXISTS", f"hash {digest} is already anchored")
    save(
        stub,
        state_key,
        {
            "anchor_id": anchor_id,
            "kind": kind,
            "hash": digest,
            "msp": creator.msp_id,
            "anchored_at": stub.tx_timestamp,
        },
    )
    return emit(stub, "Anchored", {"anchor_id": anchor_id, "kind": kind, "hash": digest})
