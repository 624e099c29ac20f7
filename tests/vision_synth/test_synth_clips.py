"""Synth clips are readable videos whose truth documents match the contract and the pictures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision_synth.synth_helpers import SEED, decode_markers, inside, load_truth, read_frames
from vision.synth import SCENARIOS, SynthClip, render
from vision.synth.render import frames as draw_frames
from vision.synth.scenarios import build_script

NO_CHANGE = ("static", "occlusion", "lighting_drift", "shake")
TAMPERS = ("covered", "blinded", "defocused", "moved", "frozen", "signal_loss")
EVENT_KEYS = {"t", "frame", "type", "bay", "delta", "identities", "tamper", "until"}


def test_the_scenario_list_covers_the_contract() -> None:
    expected = {
        "static",
        "removal",
        "addition",
        "occlusion",
        "lighting_drift",
        "shake",
        "mixed",
        *TAMPERS,
    }
    assert set(SCENARIOS) == expected
    assert all(isinstance(v, str) and v for v in SCENARIOS.values())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_renders_a_video_opencv_reads_frame_for_frame(
    name: str, clips: dict[str, SynthClip]
) -> None:
    clip = clips[name]
    truth = load_truth(clip)
    frames = read_frames(clip.video)
    assert clip.video.suffix == ".mp4" and clip.truth.suffix == ".json"
    assert len(frames) == truth["frames"] == clip.frames > 0
    assert frames[0].shape == (truth["height"], truth["width"], 3) == (360, 640, 3)
    cap = cv2.VideoCapture(str(clip.video))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(clip.fps)
    cap.release()
    # The sample description names the codec; decoders report it under their own tag (FMP4).
    assert b"mp4v" in clip.video.read_bytes()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_truth_documents_follow_the_contract(name: str, clips: dict[str, SynthClip]) -> None:
    clip = clips[name]
    truth = load_truth(clip)
    assert truth["camera_id"] == clip.camera_id
    assert truth["fps"] == clip.fps == 10
    assert set(truth["bays"]) == set(clip.bays) == set(truth["initial"])
    assert 2 <= len(clip.bays) <= 3
    for bay, polygon in truth["bays"].items():
        assert [tuple(p) for p in polygon] == clip.bays[bay]
        assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in polygon)
        assert truth["initial"][bay]["count"] >= len(truth["initial"][bay]["identities"])
    for event in truth["events"]:
        assert set(event) == EVENT_KEYS
        assert event["t"] == pytest.approx(event["frame"] / truth["fps"])
        if event["type"] == "tamper":
            assert event["bay"] is None and event["delta"] == 0 and event["tamper"] in TAMPERS
        else:
            assert event["type"] in ("removed", "added") and event["bay"] in truth["bays"]
            assert event["delta"] == (1 if event["type"] == "added" else -1)
            assert event["tamper"] is None and event["until"] is None
    assert [e["frame"] for e in truth["events"]] == sorted(e["frame"] for e in truth["events"])


def _kinds(name: str, clips: dict[str, SynthClip]) -> list[str]:
    return [e["tamper"] or e["type"] for e in load_truth(clips[name])["events"]]


def test_each_scenario_carries_the_events_its_name_promises(clips: dict[str, SynthClip]) -> None:
    for name in NO_CHANGE:
        assert _kinds(name, clips) == [], name
    assert _kinds("removal", clips) == ["removed"]
    assert _kinds("addition", clips) == ["added"]
    mixed = _kinds("mixed", clips)
    assert len(mixed) >= 3 and {"added", "removed"} <= set(mixed)
    for kind in TAMPERS:
        assert _kinds(kind, clips) == [kind]


def test_a_removed_marker_is_read_in_its_bay_before_and_nowhere_in_it_after(
    clips: dict[str, SynthClip],
) -> None:
    truth = load_truth(clips["removal"])
    (event,) = truth["events"]
    assert event["identities"], "the removal scenario prefers goods with a marker"
    (identity,) = event["identities"]
    frames = read_frames(clips["removal"].video)
    polygon = truth["bays"][event["bay"]]
    before = decode_markers(frames[0])
    assert inside(before[identity], polygon)
    after = decode_markers(frames[-1])
    assert identity not in after
    assert identity not in truth["initial"][event["bay"]]["identities"] or identity in before


@pytest.mark.parametrize("name", ["static", "mixed", "occlusion", "shake", "lighting_drift"])
def test_initial_identities_are_the_markers_decoded_in_each_bay(
    name: str, clips: dict[str, SynthClip]
) -> None:
    truth = load_truth(clips[name])
    found = decode_markers(read_frames(clips[name].video)[0])
    for bay, polygon in truth["bays"].items():
        decoded = sorted(i for i, centre in found.items() if inside(centre, polygon))
        assert decoded == truth["initial"][bay]["identities"], bay


def _goods_per_bay(name: str, index: int, bays: dict[str, list[list[float]]]) -> dict[str, int]:
    """Count goods whose drawn box lies inside each bay, straight from the renderer."""
    (frame,) = draw_frames(build_script(name, SEED), only={index})
    counts = dict.fromkeys(bays, 0)
    for obj in frame.objects:
        if obj.label not in ("pallet", "coil", "box"):
            continue
        x1, y1, x2, y2 = obj.box
        for bay, polygon in bays.items():
            corners = [
                (x1 / 640, y1 / 360),
                (x2 / 640, y1 / 360),
                (x1 / 640, y2 / 360),
                (x2 / 640, y2 / 360),
            ]
            if all(inside(c, polygon) for c in corners):
                counts[bay] += 1
    return counts


@pytest.mark.parametrize("name", ["removal", "addition", "mixed"])
def test_initial_counts_plus_deltas_equal_the_goods_drawn_at_the_end(
    name: str, clips: dict[str, SynthClip]
) -> None:
    truth = load_truth(clips[name])
    start = _goods_per_bay(name, 0, truth["bays"])
    assert start == {b: v["count"] for b, v in truth["initial"].items()}
    expected = dict(start)
    for event in truth["events"]:
        expected[event["bay"]] += event["delta"]
    assert _goods_per_bay(name, truth["frames"] - 1, truth["bays"]) == expected


def test_a_movement_becomes_a_fact_when_the_goods_have_fully_left_the_bay(
    clips: dict[str, SynthClip],
) -> None:
    truth = load_truth(clips["removal"])
    (event,) = truth["events"]
    (identity,) = event["identities"]
    x0, _ = truth["bays"][event["bay"]][0]
    x1, y1 = truth["bays"][event["bay"]][2]
    boxes = {}
    for frame in draw_frames(
        build_script("removal", SEED), only={event["frame"] - 1, event["frame"]}
    ):
        (obj,) = [o for o in frame.objects if o.identity == identity]
        boxes[frame.index] = obj.box
    # The goods leave downwards; the renderer draws on whole pixels (plus a faint camera
    # tremble) while the truth uses exact geometry, so allow a pixel and a half.
    tol, bottom = 1.5, y1 * 360
    assert x0 * 640 < boxes[event["frame"]][0] < boxes[event["frame"]][2] < x1 * 640
    assert boxes[event["frame"] - 1][1] < bottom + tol
    assert boxes[event["frame"]][1] > bottom - tol


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def _tamper_frames(name: str, clips: dict[str, SynthClip]) -> tuple[list[np.ndarray], dict]:
    truth = load_truth(clips[name])
    (event,) = truth["events"]
    return read_frames(clips[name].video), event


def test_covered_and_blinded_lenses_go_dark_and_bright_then_recover(
    clips: dict[str, SynthClip],
) -> None:
    for name, check in (("covered", lambda m: m < 25), ("blinded", lambda m: m > 215)):
        frames, event = _tamper_frames(name, clips)
        assert check(frames[event["frame"]].mean()), name
        assert 60 < frames[event["frame"] - 10].mean() < 200, name
        back = round(event["until"] * 10)
        assert 60 < frames[back + 2].mean() < 200, name


def test_a_defocused_lens_loses_its_edges(clips: dict[str, SynthClip]) -> None:
    frames, event = _tamper_frames("defocused", clips)
    assert _sharpness(frames[event["frame"]]) < _sharpness(frames[event["frame"] - 10]) / 4


def test_a_frozen_stream_repeats_one_picture_while_a_live_one_never_does(
    clips: dict[str, SynthClip],
) -> None:
    frames, event = _tamper_frames("frozen", clips)
    until = round(event["until"] * 10)

    def steps(a: int, b: int) -> np.ndarray:
        return np.array(
            [np.abs(frames[i].astype(int) - frames[i + 1]).mean() for i in range(a, b - 1)]
        )

    live, stuck = steps(1, event["frame"] - 1), steps(event["frame"], until)
    # The encoder's periodic key frames re-quantise even a repeated picture, so a rare step
    # inside the frozen spell is not zero; nearly all are, while live noise never is.
    assert np.median(stuck) < 0.2 and np.mean(stuck < 0.3) > 0.85
    assert np.median(live) > 1.0 and live.min() > np.median(stuck)
    assert np.abs(frames[until + 1].astype(int) - frames[until - 1]).mean() > 1.0


def test_a_moved_camera_stays_shifted_against_its_reference(clips: dict[str, SynthClip]) -> None:
    frames, event = _tamper_frames("moved", clips)
    assert event["until"] is None
    gray = [np.float32(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in frames]
    (sx, _), _ = cv2.phaseCorrelate(gray[0], gray[-1])
    assert abs(sx) > 40
    (qx, qy), _ = cv2.phaseCorrelate(gray[0], gray[event["frame"] // 2])
    assert abs(qx) < 3 and abs(qy) < 3


def test_signal_loss_ends_the_video_where_the_truth_says(clips: dict[str, SynthClip]) -> None:
    truth = load_truth(clips["signal_loss"])
    (event,) = truth["events"]
    assert event["frame"] == truth["frames"] == len(read_frames(clips["signal_loss"].video))
    assert truth["frames"] < 20 * truth["fps"]


def test_the_same_seed_renders_the_same_clip_and_another_seed_does_not(tmp_path: Path) -> None:
    def digest(clip: SynthClip) -> str:
        h = hashlib.sha256()
        for frame in read_frames(clip.video):
            h.update(frame.tobytes())
        return h.hexdigest()

    a = render("mixed", tmp_path / "a", seed=11, seconds=12)
    b = render("mixed", tmp_path / "b", seed=11, seconds=12)
    c = render("mixed", tmp_path / "c", seed=12, seconds=12)
    assert a.truth.read_text() == b.truth.read_text()
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)
    assert (
        load_truth(a)["initial"] != load_truth(c)["initial"]
        or load_truth(a)["bays"] != load_truth(c)["bays"]
    )


def test_size_rate_and_length_follow_the_arguments(tmp_path: Path) -> None:
    clip = render("static", tmp_path, seed=1, width=320, height=180, fps=5, seconds=3)
    frames = read_frames(clip.video)
    assert len(frames) == 15 and frames[0].shape == (180, 320, 3)
    truth = load_truth(clip)
    assert (truth["width"], truth["height"], truth["fps"]) == (320, 180, 5)


def test_an_unknown_scenario_is_refused_with_the_known_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="removal"):
        render("earthquake", tmp_path)
