"""Motion gate, ArUco marker reader, identity marriage and the IoU tracker on real OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.vision.scenery import frame, noisy, scene
from vision.detectors.composite import CompositeDetector, attach_identities
from vision.detectors.markers import MarkerDetector
from vision.motion import FrameDifferenceGate
from vision.stages import Box, Detection
from vision.tracking import IouTracker


def test_the_gate_reports_where_something_moved_and_nothing_for_noise_or_light() -> None:
    rng = np.random.default_rng(0)
    base = scene(5)
    gate = FrameDifferenceGate()
    assert gate.changed(frame(noisy(base, rng), 0)) == [Box(0.0, 0.0, 1.0, 1.0)]  # first frame
    assert gate.changed(frame(noisy(base, rng), 1)) == []
    brighter = np.clip(base.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    assert gate.changed(frame(noisy(brighter, rng), 2)) == []
    moved = brighter.copy()
    cv2.rectangle(moved, (400, 200), (480, 280), (250, 30, 30), -1)
    regions = gate.changed(frame(noisy(moved, rng), 3))
    assert len(regions) == 1
    r = regions[0]
    assert r.x1 <= 400 / 640 + 0.01 and r.x2 >= 480 / 640 - 0.01
    assert r.y1 <= 200 / 360 + 0.02 and r.y2 >= 280 / 360 - 0.02
    assert r.x1 > 0.5 and r.y1 > 0.4  # and nowhere near the rest of the picture


def _with_markers(ids_at: dict[int, tuple[int, int]]) -> np.ndarray:
    img = scene(6)
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    for marker_id, (x, y) in ids_at.items():
        marker = cv2.aruco.generateImageMarker(dictionary, marker_id, 48)
        img[y - 8 : y + 56, x - 8 : x + 56] = 255  # the quiet zone around a printed marker
        img[y : y + 48, x : x + 48] = cv2.cvtColor(marker, cv2.COLOR_GRAY2BGR)
    return img


def test_markers_are_read_with_their_identity_and_box() -> None:
    img = _with_markers({7: (100, 100), 42: (400, 220)})
    found = sorted(MarkerDetector().detect(img), key=lambda d: d.identity or "")
    assert [d.identity for d in found] == ["aruco:42", "aruco:7"]
    box = found[1].box
    corners = [box.x1, box.y1, box.x2, box.y2]
    assert corners == pytest.approx([100 / 640, 100 / 360, 148 / 640, 148 / 360], abs=0.01)


def test_a_goods_box_holding_a_marker_takes_its_identity_and_loose_markers_stay() -> None:
    crate = Detection("pallet", Box(0.1, 0.2, 0.4, 0.6), 0.9)
    big = Detection("pallet", Box(0.0, 0.0, 0.9, 0.9), 0.8)
    forklift = Detection("forklift", Box(0.1, 0.2, 0.4, 0.6), 0.9)
    inside = Detection("marker", Box(0.2, 0.3, 0.25, 0.35), 1.0, "aruco:3")
    loose = Detection("marker", Box(0.95, 0.95, 0.99, 0.99), 1.0, "aruco:4")
    out = attach_identities([crate, big, forklift], [inside, loose], ("pallet",))
    assert out[0].identity == "aruco:3"  # the smallest goods box holding it wins
    assert out[1].identity is None and out[2].identity is None
    assert out[3] == loose


def test_the_composite_detector_runs_the_marker_reader_without_a_model() -> None:
    img = _with_markers({11: (300, 150)})
    found = CompositeDetector(None, MarkerDetector()).detect(img)
    assert [d.identity for d in found] == ["aruco:11"]


def test_the_tracker_keeps_ids_and_identities_across_runs() -> None:
    tracker = IouTracker(max_missed=1)
    a = Detection("pallet", Box(0.1, 0.1, 0.2, 0.2), 0.9, "aruco:1")
    b = Detection("pallet", Box(0.5, 0.5, 0.6, 0.6), 0.9)
    first = tracker.update([a, b])
    ids = {t.detection.box: t.track_id for t in first}
    # The marker is not readable this time and the box moved a little: same track, same identity.
    a2 = Detection("pallet", Box(0.11, 0.1, 0.21, 0.2), 0.9)
    second = tracker.update([a2, b])
    by_box = {t.detection.box: t for t in second}
    assert by_box[a2.box].track_id == ids[a.box]
    assert by_box[a2.box].detection.identity == "aruco:1"
    assert by_box[a2.box].age == 1
    assert by_box[b.box].track_id == ids[b.box]
    # A person where the pallet was is another track; a lost track is dropped after max_missed.
    person = Detection("person", a2.box, 0.9)
    third = tracker.update([person])
    assert third[0].track_id not in ids.values()
    tracker.update([])
    assert all(t.track_id != ids[a.box] for t in tracker.update([a2]))
