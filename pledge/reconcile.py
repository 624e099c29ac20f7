"""Four-way reconciliation of one bay: ledger pledge, warehouse book, tag presence, camera count.

The physical sources (book, tags, camera) should all tell the quantity in the bay. Their median
is the reference, so one source that drifts is named alone instead of blaming every other one.
The pledged quantity is a claim on goods, not a count of them: it may be below the reference
(part of the bay is free stock) but never above it. A `None` count means the source has no data
(unmonitored bay, reader down): it is reported as unmonitored, never as a mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pledge.errors import Invalid


class Source(StrEnum):
    """Where a count comes from."""

    PLEDGED = "pledged"
    BOOK = "book"
    TAGS = "tags"
    CAMERA = "camera"


PHYSICAL = (Source.BOOK, Source.TAGS, Source.CAMERA)


class Status(StrEnum):
    """One source's verdict."""

    AGREES = "agrees"
    MISMATCH = "mismatch"
    UNMONITORED = "unmonitored"


@dataclass(frozen=True)
class Tolerance:
    """How far a count may stray: the larger of an absolute band and a share of the reference."""

    absolute: Decimal = Decimal(0)
    relative: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.absolute < 0 or not Decimal(0) <= self.relative < 1:
            raise Invalid("invalid_tolerance", "tolerance bands are >= 0 and relative below 1")

    def allowed(self, reference: Decimal) -> Decimal:
        """The largest difference that still agrees with `reference`."""
        return max(self.absolute, self.relative * abs(reference))


EXACT = Tolerance()


@dataclass(frozen=True)
class BayCounts:
    """The four counts of one commodity in one bay, in the commodity's unit."""

    bay_id: str
    commodity_code: str
    pledged: Decimal | None
    book: Decimal | None
    tags: Decimal | None
    camera: Decimal | None

    def of(self, source: Source) -> Decimal | None:
        """The count one source reported."""
        value: Decimal | None = getattr(self, source.value)
        return value


@dataclass(frozen=True)
class SourceVerdict:
    """What one source said, against the reference, and whether that is within tolerance."""

    source: Source
    status: Status
    count: Decimal | None
    difference: Decimal | None

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-ready form for events, freezes and the API."""
        return {
            "source": self.source.value,
            "status": self.status.value,
            "count": None if self.count is None else str(self.count),
            "difference": None if self.difference is None else str(self.difference),
        }


@dataclass(frozen=True)
class BayVerdict:
    """The reconciliation of one commodity in one bay."""

    bay_id: str
    commodity_code: str
    reference: Decimal | None
    allowed: Decimal
    sources: tuple[SourceVerdict, ...]

    @property
    def mismatched(self) -> tuple[SourceVerdict, ...]:
        """The sources that disagree beyond tolerance."""
        return tuple(v for v in self.sources if v.status is Status.MISMATCH)

    @property
    def unmonitored(self) -> tuple[SourceVerdict, ...]:
        """The sources without data."""
        return tuple(v for v in self.sources if v.status is Status.UNMONITORED)


@dataclass
class BayFreeze:
    """Releases from a bay are stopped until a person resolves the mismatch that froze it."""

    id: str
    bay_id: str
    warehouse_id: str
    reason: str
    event_hash: str
    verdicts: list[dict[str, object]]
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str = ""

    @property
    def active(self) -> bool:
        """Whether releases are still stopped."""
        return self.resolved_at is None


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def reconcile_bay(counts: BayCounts, tolerance: Tolerance = EXACT) -> BayVerdict:
    """Compare the four counts of a bay and name each source that disagrees."""
    physical = [c for c in (counts.of(s) for s in PHYSICAL) if c is not None]
    reference = _median(physical) if physical else None
    allowed = tolerance.allowed(reference) if reference is not None else Decimal(0)
    verdicts = []
    for source in (Source.PLEDGED, *PHYSICAL):
        count = counts.of(source)
        if count is None or reference is None:
            verdicts.append(SourceVerdict(source, Status.UNMONITORED, count, None))
            continue
        difference = count - reference
        # Pledged goods may be fewer than what lies in the bay; only a shortfall is a mismatch.
        excess = difference if source is Source.PLEDGED else abs(difference)
        status = Status.MISMATCH if excess > allowed else Status.AGREES
        verdicts.append(SourceVerdict(source, status, count, difference))
    return BayVerdict(counts.bay_id, counts.commodity_code, reference, allowed, tuple(verdicts))


@dataclass(frozen=True)
class ToleranceBands:
    """Tolerance bands per commodity code, and the band of every commodity not named."""

    by_commodity: Mapping[str, Tolerance] = field(default_factory=dict)
    default: Tolerance = EXACT

    def band(self, commodity_code: str) -> Tolerance:
        """The commodity's own band, else the default."""
        return self.by_commodity.get(commodity_code, self.default)


# What reconciliation accepts as its bands: a plain mapping (exact for the rest) or the full table.
Tolerances = Mapping[str, Tolerance] | ToleranceBands


def tolerance_for(tolerances: Tolerances, commodity_code: str) -> Tolerance:
    """The commodity's tolerance band; a plain mapping means exact agreement when none is named."""
    if isinstance(tolerances, ToleranceBands):
        return tolerances.band(commodity_code)
    return tolerances.get(commodity_code, EXACT)
