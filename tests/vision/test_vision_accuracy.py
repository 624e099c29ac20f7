"""Accuracy on synthetic clips rendered with seeds the model never saw (>= 1000).

Every scenario is rendered once at 640x360, 10 fps, read as fast as the machine goes with
video-time stamps, analysed at 2 fps and scored against its truth JSON: movement-event
precision and recall at least 0.95, every tamper kind found (and none where there is none),
and the p95 delay of a BayChange behind the truth moment at most 3 s of video time.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vision.config import SHIPPED_MODEL, CameraConfig, TamperThresholds
from vision.evaluation import (
    ClipRun,
    ClipScore,
    camera_for,
    load_truth,
    run_clip,
    score_clip,
    summarise,
)
from vision.stages import TamperKind
from vision.synth import render
from vision.worker import build_detector

MODEL = SHIPPED_MODEL
# (scenario, seed, seconds): seeds far from the training seeds; busy scenarios get two clips;
# tamper clips stop at 14 s, once their episode (from 8 s) is well under way.
CLIPS: list[tuple[str, int, float | None]] = [
    ("removal", 1001, None),
    ("removal", 1002, None),
    ("addition", 1001, None),
    ("addition", 1002, None),
    ("mixed", 1001, None),
    ("mixed", 1002, None),
    ("occlusion", 1001, None),
    ("lighting_drift", 1001, None),
    ("shake", 1001, None),
    ("static", 1001, None),
    *[(kind.value, 1001, 14.0) for kind in TamperKind],
]
BASE = CameraConfig(
    "synth",
    "",
    analysis_fps=2.0,
    stable_seconds=2.0,
    # The clip ends are read faster than real time: signal loss is judged in video seconds.
    tamper=TamperThresholds(signal_loss_seconds=2.0),
)


@dataclass
class Clip:
    """A rendered clip and its truth."""

    name: str
    video: Path
    truth: dict[str, Any]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    """Every scenario rendered once for this module."""
    out = tmp_path_factory.mktemp("synth")
    # Rendering dominates this module's time: two processes (CI machines have two cores).
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_render, name, out, seed, seconds) for name, seed, seconds in CLIPS]
        made = [job.result() for job in jobs]
    return [
        Clip(f"{name}-{seed}", video, load_truth(truth))
        for (name, seed, _), (video, truth) in zip(CLIPS, made, strict=True)
    ]


def _render(name: str, out: Path, seed: int, seconds: float | None) -> tuple[Path, Path]:
    clip = render(name, out, seed=seed, seconds=seconds)
    return clip.video, clip.truth


def evaluate(clips: list[Clip], config: CameraConfig) -> list[tuple[Clip, ClipRun, ClipScore]]:
    """Run and score every clip with a fresh detector and pipeline per clip."""
    results = []
    for clip in clips:
        camera = camera_for(clip.truth, config)
        run = run_clip(clip.video, camera, build_detector(camera))
        results.append((clip, run, score_clip(clip.name, clip.truth, run)))
    return results


def marked_only(truth: dict[str, Any]) -> dict[str, Any]:
    """The truth without movements of goods that carry no marker."""
    events = [e for e in truth["events"] if e["type"] == "tamper" or e["identities"]]
    return {**truth, "events": events}


def check(scores: list[ClipScore]) -> None:
    """The issue's accuracy bar, with the per-clip detail in the failure message."""
    summary = summarise(scores)
    detail = "\n".join(
        f"{s.name}: truth={s.truth_moves} predicted={s.predicted_moves} matched={s.matched_moves}"
        f" latencies={[round(x, 1) for x in s.latencies]} tamper={s.tamper_found}"
        f" false_tamper={s.false_tamper}"
        for s in scores
    )
    assert summary.recall >= 0.95, detail
    assert summary.precision >= 0.95, detail
    assert summary.p95_latency <= 3.0, detail
    assert summary.tamper_missed == [], detail
    assert summary.false_tamper == [], detail
    found = {kind for s in scores for kind in s.tamper_found}
    assert found == {k.value for k in TamperKind}, detail


def test_the_marker_reader_alone_meets_the_bar_on_goods_that_carry_markers(
    clips: list[Clip],
) -> None:
    results = evaluate(clips, BASE)
    scores = [score_clip(c.name, marked_only(c.truth), run) for c, run, _ in results]
    assert sum(s.truth_moves for s in scores) >= 8  # the clips do hold marked movements
    check(scores)
    # Every movement of a marked unit names it.
    assert sum(s.identity_misses for s in scores) == 0


def test_the_shipped_model_with_markers_meets_the_bar_on_every_movement(
    clips: list[Clip],
) -> None:
    config = CameraConfig(**{**BASE.__dict__, "model_path": MODEL})
    results = evaluate(clips, config)
    scores = [score for _, _, score in results]
    check(scores)
    assert sum(s.identity_misses for s in scores) == 0
