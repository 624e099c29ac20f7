"""Machine API keys: random secrets shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

KEY_MARK = "pw"
PREFIX_LENGTH = 8


class KeyPurpose(StrEnum):
    """What kind of device holds the key."""

    READER = "reader"
    CAMERA = "camera"


def hash_key(secret: str) -> str:
    """The SHA-256 hex digest of a key secret, as stored in the database."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """Make a key as (secret, prefix, key_hash); the secret reads pw_<prefix>_<rest>."""
    # The prefix is hex so it never contains "_" and the secret splits unambiguously.
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    rest = secrets.token_urlsafe(32)
    secret = f"{KEY_MARK}_{prefix}_{rest}"
    return secret, prefix, hash_key(secret)


def prefix_of(secret: str) -> str | None:
    """The prefix of a well-formed secret, or None when the secret is not one of ours."""
    mark, sep, tail = secret.partition("_")
    if mark != KEY_MARK or not sep:
        return None
    prefix, sep, rest = tail.partition("_")
    if len(prefix) != PREFIX_LENGTH or not sep or not rest:
        return None
    return prefix


def key_matches(secret: str, key_hash: str) -> bool:
    """Tell whether `secret` hashes to `key_hash`, in time independent of where they differ."""
    return hmac.compare_digest(hash_key(secret), key_hash)
