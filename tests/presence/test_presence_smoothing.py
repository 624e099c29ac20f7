"""Read-window smoothing: present, left when silent, left at once at an exit gate, unmonitored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pledge.presence import (
    DEFAULT_WINDOW,
    Placement,
    PlacementKind,
    Sighting,
    TagState,
    count_present,
    tag_verdict,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EPC = "30340000000000000000AAAA"
PLACES = (
    Placement("bay-r1", "wh", PlacementKind.BAY, "A1"),
    Placement("bay-r2", "wh", PlacementKind.BAY, "A1"),
    Placement("other-bay", "wh", PlacementKind.BAY, "B1"),
    Placement("gate", "wh", PlacementKind.EXIT_GATE),
    Placement("foreign-gate", "wh2", PlacementKind.EXIT_GATE),
)


def seen(reader: str, seconds: float, epc: str = EPC) -> Sighting:
    """A read `seconds` after T0."""
    return Sighting(epc, reader, T0 + timedelta(seconds=seconds))


def state(reads: list[Sighting], now_s: float, offline: tuple[str, ...] = ()) -> TagState:
    """The verdict on the tag in bay A1 at T0 + `now_s`."""
    return tag_verdict(
        reads,
        bay_id="A1",
        warehouse_id="wh",
        placements=PLACES,
        offline=offline,
        now=T0 + timedelta(seconds=now_s),
    ).state


def test_a_tag_seen_by_a_bay_reader_within_the_window_is_present() -> None:
    assert state([seen("bay-r1", 0), seen("bay-r2", 30)], now_s=80) is TagState.PRESENT


def test_a_tag_silent_for_exactly_the_window_is_still_present() -> None:
    assert state([seen("bay-r1", 0)], now_s=DEFAULT_WINDOW.total_seconds()) is TagState.PRESENT


def test_a_tag_silent_past_the_window_has_left_the_bay_at_window_end() -> None:
    verdict = tag_verdict(
        [seen("bay-r1", 0)],
        bay_id="A1",
        warehouse_id="wh",
        placements=PLACES,
        offline=(),
        now=T0 + timedelta(seconds=61),
    )
    assert verdict.state is TagState.LEFT_BAY
    assert verdict.left_at == T0 + DEFAULT_WINDOW
    assert verdict.gone


def test_a_tag_read_only_by_another_bay_counts_as_not_seen_here() -> None:
    assert state([seen("other-bay", 0)], now_s=1) is TagState.NEVER_SEEN


def test_an_exit_gate_read_means_the_tag_left_at_once_even_inside_the_window() -> None:
    verdict = tag_verdict(
        [seen("bay-r1", 0), seen("gate", 5), seen("gate", 6)],
        bay_id="A1",
        warehouse_id="wh",
        placements=PLACES,
        offline=(),
        now=T0 + timedelta(seconds=6),
    )
    assert verdict.state is TagState.PASSED_EXIT_GATE
    assert verdict.left_at == T0 + timedelta(seconds=5)
    # The proof is stable under more gate reads: the last bay read and the first gate read.
    assert [s.reader_id for s in verdict.proof] == ["bay-r1", "gate"]


def test_a_gate_read_before_the_tag_came_back_into_the_bay_is_forgotten() -> None:
    assert state([seen("gate", 0), seen("bay-r1", 10)], now_s=20) is TagState.PRESENT


def test_another_warehouses_gate_does_not_move_the_tag() -> None:
    assert state([seen("bay-r1", 0), seen("foreign-gate", 5)], now_s=10) is TagState.PRESENT


def test_a_bay_whose_readers_are_all_offline_is_unmonitored() -> None:
    reads = [seen("bay-r1", 0)]
    assert state(reads, now_s=500, offline=("bay-r1", "bay-r2")) is TagState.UNMONITORED
    # One reader still up keeps the bay watched: silence there means the tag left.
    assert state(reads, now_s=500, offline=("bay-r1",)) is TagState.LEFT_BAY


def test_a_gate_read_counts_even_when_the_bay_is_unmonitored() -> None:
    reads = [seen("bay-r1", 0), seen("gate", 5)]
    assert state(reads, now_s=6, offline=("bay-r1", "bay-r2")) is TagState.PASSED_EXIT_GATE


def present_in_a1(
    reads: dict[str, list[Sighting]], epcs: list[str], offline: tuple[str, ...]
) -> int | None:
    """How many of `epcs` are present in bay A1 at T0."""
    return count_present(
        reads, epcs, bay_id="A1", warehouse_id="wh", placements=PLACES, offline=offline, now=T0
    )


def test_counting_present_tags_gives_none_for_an_unmonitored_bay() -> None:
    other = "30340000000000000000BBBB"
    reads = {EPC: [seen("bay-r1", 0)], other: [seen("bay-r2", 0, other)]}
    assert present_in_a1(reads, [EPC, other, "never-read"], offline=()) == 2
    assert present_in_a1(reads, [EPC, other], offline=("bay-r1", "bay-r2")) is None


@given(
    offsets=st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=20),
    now_s=st.floats(min_value=0, max_value=1200),
    window_s=st.floats(min_value=1, max_value=300),
)
def test_a_tag_is_present_exactly_when_its_latest_bay_read_is_within_the_window(
    offsets: list[float], now_s: float, window_s: float
) -> None:
    now = T0 + timedelta(seconds=max(now_s, *offsets))
    window = timedelta(seconds=window_s)
    reads = [seen("bay-r1", s) for s in offsets]
    verdict = tag_verdict(
        reads, bay_id="A1", warehouse_id="wh", placements=PLACES, offline=(), now=now, window=window
    )
    latest = max(r.seen_at for r in reads)
    expected = TagState.PRESENT if now - latest <= window else TagState.LEFT_BAY
    assert verdict.state is expected


@given(
    bay_s=st.lists(st.floats(min_value=0, max_value=100), max_size=10),
    gate_s=st.floats(min_value=0, max_value=200),
)
def test_a_gate_read_after_every_bay_read_always_means_gone(
    bay_s: list[float], gate_s: float
) -> None:
    reads = [seen("bay-r1", s) for s in bay_s]
    after = max([*bay_s, gate_s - 1]) + 1
    verdict = tag_verdict(
        [*reads, seen("gate", after)],
        bay_id="A1",
        warehouse_id="wh",
        placements=PLACES,
        offline=("bay-r1", "bay-r2"),
        now=T0 + timedelta(seconds=after),
    )
    assert verdict.state is TagState.PASSED_EXIT_GATE
