"""Shared API schema pieces: decimal strings, pagination, command status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pledge.storable import first_problem

T = TypeVar("T")

# Amounts and quantities travel as strings so no client ever rounds them through a float.
DecimalStr = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]{1,20}(\.[0-9]{1,12})?$",
        max_length=34,
        examples=["1250.50"],
        description="a decimal number written as a string",
    ),
]


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object, info: ValidationInfo) -> object:
        """Refuse NUL, lone surrogates and times without a UTC equivalent, in any field."""
        found = first_problem(value, info.field_name or "")
        if found:
            where, reason = found
            raise ValueError(f"{where} {reason}")
        return value


class Output(BaseModel):
    """Base of response bodies, built from domain objects' attributes."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CommandOut(Output):
    """A ledger-bound command: follow `href` until it is confirmed or rejected."""

    id: str
    kind: str
    subject_type: str
    subject_id: str
    status: str
    reason_code: str | None = None
    reason: str | None = None
    tx_id: str
    block_number: int | None = None
    created_at: datetime
    updated_at: datetime
    href: str = ""


class Paging(BaseModel):
    """Query parameters of list endpoints."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


def paginate(items: Sequence[T], limit: int, offset: int) -> dict[str, object]:
    """Cut one page out of an ordered list."""
    return {
        "items": list(items[offset : offset + limit]),
        "total": len(items),
        "limit": limit,
        "offset": offset,
    }
