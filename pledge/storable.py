"""Values every store can hold: text without NUL or lone surrogates, times that exist in UTC.

PostgreSQL text refuses NUL, UTF-8 cannot encode a lone surrogate, and a time near year 1 or
9999 with an offset has no UTC equivalent: such input is refused at the edge with its place
named, rather than failing (differently on each database) when it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character (0x00)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid Unicode"
    return None


def time_problem(moment: datetime) -> str | None:
    """Why an aware time cannot be stored (no UTC equivalent), or None when it can."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return f"{moment.isoformat()} lies outside the years 1-9999 once converted to UTC"
    return None


def first_problem(value: Any, path: str = "$") -> tuple[str, str] | None:
    """The JSON path and reason of the first unstorable string or time inside a value."""
    if isinstance(value, str):
        reason = text_problem(value)
        return (path, reason) if reason else None
    if isinstance(value, datetime):
        reason = time_problem(value) if value.tzinfo is not None else None
        return (path, reason) if reason else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = first_problem(str(key), f"{path} (a key)") or first_problem(
                item, f"{path}.{key}"
            )
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = first_problem(item, f"{path}[{index}]")
            if found:
                return found
    return None
