"""Keyed hashes: lien keys for unit identities and commitments for clear terms."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping


def lien_keys(secret: bytes, warehouse_id: str, lot_id: str, epcs: list[str]) -> list[str]:
    """One key per tagged unit, else one per lot; duplicate receipts for the same tags collide."""
    # An EPC is globally unique, so its key leaves the warehouse out: the same tagged goods
    # booked again in another warehouse still hit the first lien. Untagged bulk goods have no
    # identity but their lot, which only means something inside its warehouse.
    identities = [f"epc|{epc.lower()}" for epc in epcs] or [f"lot|{warehouse_id}|{lot_id}"]
    return sorted(
        hmac.new(secret, ident.encode(), hashlib.sha256).hexdigest() for ident in identities
    )


def commitment(secret: bytes, object_id: str, data: Mapping[str, object]) -> str:
    """A keyed hash of an object's clear terms: on chain it proves them without showing them."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret, f"{object_id}|{body}".encode(), hashlib.sha256).hexdigest()
