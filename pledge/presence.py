"""Tag presence per bay from raw reads, smoothed over a read window (pure, no I/O).

A tag is present in its bay while a reader of that bay has seen it within the window. It has
left when no such reader has seen it for the whole window, or at once when an exit-gate reader
sees it after its last read in the bay. A bay whose readers are all offline is unmonitored:
silence there proves nothing, so its tags' presence is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Readers miss tags now and then (orientation, metal, collisions); one missed sweep is not a move.
DEFAULT_WINDOW = timedelta(seconds=60)


class PlacementKind(StrEnum):
    """What a reader watches: the inside of a bay, or a gate goods leave the warehouse by."""

    BAY = "bay"
    EXIT_GATE = "exit_gate"


@dataclass(frozen=True)
class Placement:
    """Where one reader is installed."""

    reader_id: str
    warehouse_id: str
    kind: PlacementKind
    bay_id: str | None = None


@dataclass(frozen=True)
class Sighting:
    """One read of one tag by one reader."""

    epc: str
    reader_id: str
    seen_at: datetime


class TagState(StrEnum):
    """What the reads say about one tag and its bay."""

    PRESENT = "present"
    LEFT_BAY = "left_bay"
    PASSED_EXIT_GATE = "passed_exit_gate"
    UNMONITORED = "unmonitored"
    NEVER_SEEN = "never_seen"


@dataclass(frozen=True)
class Verdict:
    """A tag's state and the reads that prove it, oldest first."""

    state: TagState
    proof: tuple[Sighting, ...] = ()
    # When the tag is taken to have gone: the first gate read, or the last bay read + window.
    left_at: datetime | None = None

    @property
    def gone(self) -> bool:
        """Whether the reads say the tag is no longer in its bay."""
        return self.state in (TagState.LEFT_BAY, TagState.PASSED_EXIT_GATE)


def bay_readers(placements: Iterable[Placement], bay_id: str) -> set[str]:
    """Ids of the readers that watch `bay_id`."""
    return {p.reader_id for p in placements if p.kind is PlacementKind.BAY and p.bay_id == bay_id}


def gate_readers(placements: Iterable[Placement], warehouse_id: str) -> set[str]:
    """Ids of the exit-gate readers of a warehouse."""
    return {
        p.reader_id
        for p in placements
        if p.kind is PlacementKind.EXIT_GATE and p.warehouse_id == warehouse_id
    }


def is_monitored(placements: Iterable[Placement], bay_id: str, offline: Iterable[str]) -> bool:
    """Whether at least one reader of the bay is online."""
    return bool(bay_readers(placements, bay_id) - set(offline))


def tag_verdict(
    sightings: Iterable[Sighting],
    *,
    bay_id: str,
    warehouse_id: str,
    placements: Iterable[Placement],
    offline: Iterable[str],
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> Verdict:
    """Decide whether one tag is in its bay, gone from it, or unknown, from its reads."""
    places = list(placements)
    in_bay = bay_readers(places, bay_id)
    gates = gate_readers(places, warehouse_id)
    reads = sorted(sightings, key=lambda s: (s.seen_at, s.reader_id))
    bay_reads = [s for s in reads if s.reader_id in in_bay]
    last_in_bay = bay_reads[-1] if bay_reads else None
    # Only gate reads after the last bay read count: a tag that came back in is in again.
    gate_reads = [
        s
        for s in reads
        if s.reader_id in gates and (last_in_bay is None or s.seen_at > last_in_bay.seen_at)
    ]
    if gate_reads:
        # A gate read is positive evidence, so it counts even when the bay's readers are down.
        # The proof names only the first gate read: later reads of the same exit change nothing.
        proof = ((last_in_bay,) if last_in_bay else ()) + (gate_reads[0],)
        return Verdict(TagState.PASSED_EXIT_GATE, proof, gate_reads[0].seen_at)
    if not in_bay - set(offline):
        return Verdict(TagState.UNMONITORED)
    if last_in_bay is None:
        return Verdict(TagState.NEVER_SEEN)
    if now - last_in_bay.seen_at <= window:
        return Verdict(TagState.PRESENT, (last_in_bay,))
    return Verdict(TagState.LEFT_BAY, (last_in_bay,), last_in_bay.seen_at + window)


def count_present(
    sightings_by_epc: Mapping[str, Iterable[Sighting]],
    epcs: Iterable[str],
    *,
    bay_id: str,
    warehouse_id: str,
    placements: Iterable[Placement],
    offline: Iterable[str],
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> int | None:
    """How many of `epcs` are present in the bay; None when the bay is unmonitored."""
    places = list(placements)
    down = set(offline)
    if not is_monitored(places, bay_id, down):
        return None
    present = 0
    for epc in epcs:
        verdict = tag_verdict(
            sightings_by_epc.get(epc, ()),
            bay_id=bay_id,
            warehouse_id=warehouse_id,
            placements=places,
            offline=down,
            now=now,
            window=window,
        )
        present += verdict.state is TagState.PRESENT
    return present
