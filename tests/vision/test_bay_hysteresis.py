"""The bay evaluator: changes count once stable, occlusion pauses, goods never fade away."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from tests.vision.scenery import T0
from vision.bays import BayEvaluator
from vision.stages import BayChange, Box, Detection, MovementKind

BAY = [(0.1, 0.1), (0.5, 0.1), (0.5, 0.6), (0.1, 0.6)]


def pallet(x: float, identity: str | None = None) -> Detection:
    """A pallet standing in the bay at horizontal position x."""
    return Detection("pallet", Box(x, 0.3, x + 0.08, 0.5), 0.9, identity)


def person(x: float) -> Detection:
    """A person in front of the bay."""
    return Detection("person", Box(x, 0.25, x + 0.1, 0.7), 0.8)


def run(
    evaluator: BayEvaluator, seconds: list[float], dets: list[list[Detection]]
) -> list[BayChange]:
    """Feed observations at the given stream times; return all changes."""
    changes: list[BayChange] = []
    for i, (s, d) in enumerate(zip(seconds, dets, strict=True)):
        changes += evaluator.observe(T0 + timedelta(seconds=s), i, d, ["bay-1"])
    return changes


def test_a_removal_counts_only_after_it_held_for_stable_seconds() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    three = [pallet(0.12, "aruco:1"), pallet(0.22, "aruco:2"), pallet(0.32, "aruco:3")]
    two = three[:2]
    times = [0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]  # after the first look's 2 s warm-up
    changes = run(ev, times, [three, three, two, two, two, two, two, two])
    assert len(changes) == 1
    change = changes[0]
    assert change.kind is MovementKind.REMOVED
    assert (change.delta, change.count_before, change.count_after) == (-1, 3, 2)
    assert change.identities == ("aruco:3",)
    # Missing from 3.0; counted as missing once that held 0.5 s (3.5), then stable 2 s later.
    assert change.at == T0 + timedelta(seconds=5.5)
    assert 0.5 < change.confidence <= 1.0
    assert ev.views()[0].count == 2 and ev.views()[0].identities == {"aruco:1", "aruco:2"}


def test_a_flicker_shorter_than_stable_seconds_is_no_change() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    two = [pallet(0.12), pallet(0.3)]
    seq = [two, two, two[:1], two[:1], two[:1], two, two, [], two, two]
    assert run(ev, [i * 0.5 for i in range(len(seq))], seq) == []
    assert ev.views()[0].count == 2


def test_a_person_standing_in_front_pauses_the_bay_instead_of_removing_goods() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=1.0)
    two = [pallet(0.12), pallet(0.3)]
    hidden = [pallet(0.12), person(0.28)]
    seq = [two] + [hidden] * 12 + [two, two, two]
    assert run(ev, [i * 0.5 for i in range(len(seq))], seq) == []


def test_an_addition_reports_the_new_identity() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=1.0)
    one = [pallet(0.12, "aruco:7")]
    two = [*one, pallet(0.3, "aruco:9")]
    changes = run(ev, [0, 1.5, 2.0, 2.5, 3.0, 3.5], [one, one, two, two, two, two])
    assert [(c.kind, c.delta, c.identities) for c in changes] == [
        (MovementKind.ADDED, 1, ("aruco:9",))
    ]


def test_stationary_goods_stay_counted_for_hours_without_any_detection() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    run(ev, [0.0], [[pallet(0.12), pallet(0.3)]])
    # Hours pass with nothing moving: no detector run, no decay.
    later = T0 + timedelta(hours=6)
    assert ev.needing_detection(later) == set()
    assert ev.views()[0].count == 2
    # A refresh six hours on still sees and keeps both.
    assert ev.observe(later, 99, [pallet(0.12), pallet(0.3)], ["bay-1"]) == []
    assert ev.views()[0].count == 2


def test_a_bay_keeps_needing_the_detector_while_a_change_is_settling() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    run(ev, [0.0, 2.5, 3.0], [[pallet(0.12)], [], []])
    assert ev.needing_detection(T0 + timedelta(hours=1)) == {"bay-1"}


def test_motion_reaching_into_a_bay_keeps_it_watched_a_little_longer() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY, "bay-2": [(0.6, 0.1), (0.9, 0.1), (0.9, 0.6)]})
    run(ev, [0.0], [[pallet(0.12)]])
    ev.observe(T0, 0, [], ["bay-2"])
    touched = ev.touched_by([Box(0.4, 0.4, 0.45, 0.45)])
    assert touched == {"bay-1"}
    assert ev.touched_by([Box(0.3, 0.595, 0.8, 0.7)]) == set()  # grazing the bays' bottom edge
    later = T0 + timedelta(seconds=10)  # long after the first look's warm-up
    assert ev.needing_detection(later) == set()
    ev.watch(touched, later)
    assert ev.needing_detection(later + timedelta(seconds=1.0)) == {"bay-1"}
    assert ev.needing_detection(later + timedelta(seconds=1.5)) == set()


def test_a_baseline_records_count_identities_and_the_bay_picture() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY})
    run(ev, [0.0], [[pallet(0.12, "aruco:4")]])
    grey = np.full((180, 320), 100, np.uint8)
    base = ev.take_baseline("bay-1", T0, grey)
    assert base.count == 1 and base.identities == frozenset({"aruco:4"})
    assert ev.difference("bay-1", grey) == 0.0
    brighter = grey + 30  # lighting alone is no difference
    assert ev.difference("bay-1", brighter) == 0.0
    changed = grey.copy()
    changed[40:100, 50:130] = 200  # something in the bay changed
    assert (ev.difference("bay-1", changed) or 0.0) > 0.1


def test_a_detector_missing_a_unit_every_other_frame_neither_loses_it_nor_hides_a_removal() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    four = [pallet(0.11), pallet(0.2), pallet(0.29), pallet(0.38)]
    flicker = [four if i % 2 == 0 else four[:3] for i in range(12)]
    assert run(ev, [i * 0.5 for i in range(12)], flicker) == []
    # One unit leaves; the detector keeps dropping another one every other frame.
    after = [four[:3] if i % 2 == 0 else four[:2] for i in range(12)]
    changes = run(ev, [6 + i * 0.5 for i in range(12)], after)
    assert [(c.delta, c.count_after) for c in changes] == [(-1, 3)]
    assert changes[0].at <= T0 + timedelta(seconds=9.0)


def test_a_unit_missed_on_the_first_look_is_no_arrival() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    one, two = [pallet(0.12)], [pallet(0.12), pallet(0.3)]
    assert run(ev, [i * 0.5 for i in range(10)], [one, *[two] * 9]) == []
    assert ev.views()[0].count == 2


def test_a_phantom_unit_during_an_addition_neither_delays_nor_inflates_it() -> None:
    ev = BayEvaluator("cam", {"bay-1": BAY}, stable_seconds=2.0)
    two = [pallet(0.11), pallet(0.2)]
    three = [*two, pallet(0.29)]
    four = [*three, pallet(0.38)]  # a forklift part taken for goods, for one frame
    seq = [two, two, three, four, three, three, three, three, three]
    changes = run(ev, [0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5], seq)
    assert [(c.delta, c.count_after) for c in changes] == [(1, 3)]
    assert changes[0].at == T0 + timedelta(seconds=5.5)  # first seen at 3.5, stable 2 s on
