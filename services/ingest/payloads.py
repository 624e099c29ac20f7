"""The validated JSON payloads readers publish, and the dedup key of a read."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from pledge.storable import time_problem

# A reader batches many reads per message; anything bigger is refused before parsing.
MAX_PAYLOAD_BYTES = 256 * 1024

_EPC_PATTERN = r"^([0-9A-Fa-f]{24}|urn:epc:(id|tag):[A-Za-z0-9-]+:[A-Za-z0-9.*%:-]+)$"


class TagRead(BaseModel):
    """One observation of one tag by one antenna of a reader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reader_id: str = Field(min_length=1, max_length=64)
    antenna: int = Field(ge=0, le=255)
    # Checked by a pattern rather than a Python validator: parsing stays in pydantic's core.
    epc: str = Field(max_length=128, pattern=_EPC_PATTERN)
    rssi: float | None = Field(default=None, ge=-200, le=50)
    seen_at: AwareDatetime
    seq: int | None = Field(default=None, ge=0)

    @field_validator("seen_at")
    @classmethod
    def _exists_in_utc(cls, value: datetime) -> datetime:
        """A time near year 1 or 9999 whose offset pushes it out of range has no UTC moment."""
        problem = time_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def canonical_epc(self) -> str:
        """One spelling per tag (hex in upper case), or the dedup key would split on case."""
        return self.epc if self.epc.startswith("urn:") else self.epc.upper()

    def seen_at_utc(self) -> datetime:
        """The moment of the read in UTC."""
        return self.seen_at.astimezone(UTC)

    def dedup_key(self) -> str:
        """Hash of what identifies this observation, identical on every redelivery."""
        moment = self.seen_at_utc().isoformat()
        raw = f"{self.reader_id}|{self.canonical_epc()}|{moment}|{self.antenna}"
        return hashlib.sha256(raw.encode()).hexdigest()


class ReadBatch(BaseModel):
    """The body of a ``reads`` message: ``{"reads": [...]}``."""

    model_config = ConfigDict(extra="forbid")

    reads: Annotated[list[TagRead], Field(min_length=1, max_length=10_000)]


_BATCH = TypeAdapter(ReadBatch)


def parse_read_batch(payload: bytes) -> ReadBatch:
    """Validate a ``reads`` payload; raises pydantic.ValidationError (or ValueError) if bad."""
    return _BATCH.validate_json(payload)


def parse_status(payload: bytes) -> str | None:
    """``online`` or ``offline`` from a status payload (plain text or {"status": ...})."""
    text = payload.decode("utf-8", errors="replace").strip().strip('"').lower()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("status", "")).lower()
        except (ValueError, AttributeError):
            return None
    return text if text in ("online", "offline") else None
