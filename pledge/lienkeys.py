"""Keyed hashes: lien keys for unit identities and commitments for clear terms."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping


def lien_keys(secret: bytes, warehouse_id: str, lot_id: str, epcs: list[str]) -> list[str]:
    """One key per tagged unit (so duplicate receipts for the same tags collide), else per lot."""
    identities = [f"epc|{epc.lower()}" for epc in epcs] or [f"lot|{lot_id}"]
    return sorted(
        hmac.new(secret, f"{warehouse_id}|{ident}".encode(), hashlib.sha256).hexdigest()
        for ident in identities
    )


def commitment(secret: bytes, object_id: str, data: Mapping[str, object]) -> str:
    """A keyed hash of an object's clear terms: on chain it proves them without showing them."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret, f"{object_id}|{body}".encode(), hashlib.sha256).hexdigest()
