"""Parsing and validation of transaction arguments; every refusal is BAD_ARGS naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from chaincode.errors import ContractError

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_IDENT = 128


def bad(message: str) -> ContractError:
    """A BAD_ARGS refusal."""
    return ContractError("BAD_ARGS", message)


def _no_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated name would be read differently by different JSON parsers.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise bad(f"field {name!r} appears more than once")
        result[name] = value
    return result


def parse_object(args_json: str) -> dict[str, Any]:
    """Parse args_json, which must be a JSON object."""
    if not isinstance(args_json, str):
        raise bad("arguments must be a JSON object in a string")
    try:
        value = json.loads(args_json, object_pairs_hook=_no_duplicate_names)
    except ValueError as exc:
        raise bad(f"arguments are not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad("arguments must be a JSON object")
    return value


def is_ident(value: object) -> bool:
    """True for a non-empty identifier of visible characters without spaces."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_IDENT
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    )


def is_hex64(value: object) -> bool:
    """True for 64 lowercase hex characters (a SHA-256 digest)."""
    # Lowercase only: an uppercase copy of a lien key must not count as different goods.
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


class Fields:
    """Typed, validated access to one transaction's arguments."""

    def __init__(self, raw: dict[str, Any], names: Collection[str]) -> None:
        missing = sorted(set(names) - raw.keys())
        if missing:
            raise bad(f"missing field(s): {', '.join(missing)}")
        unexpected = sorted(raw.keys() - set(names))
        if unexpected:
            raise bad(f"unexpected field(s): {', '.join(unexpected)}")
        self._raw = raw

    def _text(self, name: str) -> str:
        value = self._raw[name]
        if not isinstance(value, str):
            raise bad(f"{name} must be a string")
        if not value:
            raise bad(f"{name} must not be empty")
        return value

    def ident(self, name: str) -> str:
        """An identifier: 1-128 visible characters, no whitespace."""
        value = self._text(name)
        if not is_ident(value):
            raise bad(f"{name} must be 1-{MAX_IDENT} visible characters without whitespace")
        return value

    def hex64(self, name: str) -> str:
        """A SHA-256 digest as 64 lowercase hex characters."""
        value = self._text(name)
        if not is_hex64(value):
            raise bad(f"{name} must be 64 lowercase hex characters")
        return value

    def choice(self, name: str, allowed: Collection[str]) -> str:
        """One of a fixed set of strings."""
        value = self._text(name)
        if value not in allowed:
            raise bad(f"{name} must be one of {', '.join(sorted(allowed))}")
        return value

    def flag(self, name: str) -> bool:
        """A JSON boolean (0 and 1 are refused: they are not a yes or no)."""
        value = self._raw[name]
        if not isinstance(value, bool):
            raise bad(f"{name} must be true or false")
        return value

    def _list(self, name: str, *, allow_empty: bool) -> list[Any]:
        value = self._raw[name]
        if not isinstance(value, list):
            raise bad(f"{name} must be a list")
        if not value and not allow_empty:
            raise bad(f"{name} must not be empty")
        return value

    def ident_list(self, name: str) -> list[str]:
        """A non-empty list of distinct identifiers."""
        items = self._list(name, allow_empty=False)
        for index, item in enumerate(items):
            if not is_ident(item):
                raise bad(
                    f"{name}[{index}] must be 1-{MAX_IDENT} visible characters without whitespace"
                )
        return _distinct(name, items)

    def hex64_list(self, name: str, *, allow_empty: bool) -> list[str]:
        """A list of distinct 64-char lowercase hex digests."""
        items = self._list(name, allow_empty=allow_empty)
        for index, item in enumerate(items):
            if not is_hex64(item):
                raise bad(f"{name}[{index}] must be 64 lowercase hex characters")
        return _distinct(name, items)


def _distinct(name: str, items: list[str]) -> list[str]:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise bad(f"{name} lists {item!r} more than once")
        seen.add(item)
    return list(items)
