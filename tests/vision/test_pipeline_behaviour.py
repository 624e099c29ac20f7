"""The pipeline on generated frames: still goods stay counted, a silent removal is still caught."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np
from prometheus_client import REGISTRY

from tests.vision.scenery import T0, Recorder, noisy, scene
from vision.config import CameraConfig
from vision.detectors.composite import CompositeDetector
from vision.detectors.markers import MarkerDetector
from vision.pipeline import Pipeline
from vision.stages import Frame, MovementKind

BAY = [(0.05, 0.1), (0.7, 0.1), (0.7, 0.8), (0.05, 0.8)]
SPOTS = {3: (80, 100), 8: (220, 100), 21: (340, 120)}


def crate(img: np.ndarray, marker_id: int, x: int, y: int) -> None:
    """Draw a crate with an ArUco label on it."""
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    cv2.rectangle(img, (x - 15, y - 15), (x + 75, y + 95), (60, 110, 170), -1)
    img[y - 6 : y + 66, x - 6 : x + 66] = 255
    label = cv2.aruco.generateImageMarker(dictionary, marker_id, 60)
    img[y : y + 60, x : x + 60] = cv2.cvtColor(label, cv2.COLOR_GRAY2BGR)


def bay_with(ids: list[int]) -> np.ndarray:
    """The scene with crates carrying these marker ids."""
    img = scene(8)
    for marker_id in ids:
        crate(img, marker_id, *SPOTS[marker_id])
    return img


def pipeline(sink: Recorder, **options: float) -> Pipeline:
    """A marker-only pipeline watching one bay at 2 fps."""
    config = CameraConfig("cam", "", analysis_fps=2.0, bays={"bay-1": BAY}, **options)
    return Pipeline(config, CompositeDetector(None, MarkerDetector()), sink)


def at(seconds: float, image: np.ndarray, index: int) -> Frame:
    """A frame at this stream time."""
    return Frame("cam", index, T0 + timedelta(seconds=seconds), image)


def test_still_goods_stay_counted_for_hours_with_the_detector_mostly_idle() -> None:
    sink = Recorder()
    pipe = pipeline(sink)
    rng = np.random.default_rng(0)
    full = bay_with([3, 8, 21])
    for i in range(8):
        pipe.process(at(i * 0.5, noisy(full, rng), i))
    assert pipe.bay_views()[0].count == 3
    runs = pipe.detector_runs
    # Three hours later, after a long quiet spell (sampled every 10 minutes here).
    for k in range(1, 19):
        pipe.process(at(k * 600.0, noisy(full, rng), 100 + k))
    view = pipe.bay_views()[0]
    assert view.count == 3 and view.identities == {"aruco:3", "aruco:8", "aruco:21"}
    assert sink.changes == [] and sink.findings == []
    assert pipe.detector_runs - runs <= 18  # only the periodic refresh ran it


def fade_out_crate_8(pipe: Pipeline) -> int:
    """Show the full bay, baseline it, then let crate 8 fade away over 40 s; frames gated."""
    rng = np.random.default_rng(1)
    full, without = bay_with([3, 8, 21]), bay_with([3, 21])
    for i in range(10):
        pipe.process(at(i * 0.5, noisy(full, rng), i))
    assert pipe.take_baseline("bay-1").count == 3
    frames = 80
    gated = 0
    for j in range(frames + 20):
        alpha = min(1.0, j / frames)
        blend = cv2.addWeighted(full, 1 - alpha, without, alpha, 0)
        result = pipe.process(at(5 + j * 0.5, noisy(blend, rng), 10 + j))
        gated += bool(result.motion)
    return gated


def test_goods_fading_out_below_the_motion_gate_are_caught_by_the_absence_check() -> None:
    sink = Recorder()
    # No periodic refresh in this window: only the absence check can notice.
    pipe = pipeline(sink, refresh_seconds=3600.0)
    assert fade_out_crate_8(pipe) == 0  # every step is far below what the motion gate sees
    assert [(c.kind, c.delta, c.identities) for c in sink.changes] == [
        (MovementKind.REMOVED, -1, ("aruco:8",))
    ]
    assert pipe.bay_views()[0].count == 2


def test_without_the_absence_check_a_motion_first_pipeline_misses_the_fade() -> None:
    sink = Recorder()
    pipe = pipeline(sink, refresh_seconds=3600.0, absence_difference=2.0)
    fade_out_crate_8(pipe)
    assert sink.changes == []
    assert pipe.bay_views()[0].count == 3  # the known weakness of motion-first recorders


def test_frames_and_detector_time_are_counted_per_camera_in_prometheus() -> None:
    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"camera": "metrics-cam"}) or 0.0

    frames_before = sample("pledgewatch_frames_analysed_total")
    runs_before = sample("pledgewatch_detector_latency_seconds_count")
    config = CameraConfig("metrics-cam", "", analysis_fps=2.0, bays={"bay-1": BAY})
    pipe = Pipeline(config, CompositeDetector(None, MarkerDetector()), Recorder())
    rng = np.random.default_rng(2)
    for i in range(4):
        pipe.process(Frame("metrics-cam", i, T0 + timedelta(seconds=i / 2), noisy(scene(8), rng)))
    assert sample("pledgewatch_frames_analysed_total") - frames_before == 4
    assert sample("pledgewatch_detector_latency_seconds_count") - runs_before == pipe.detector_runs
    assert pipe.detector_runs >= 1
