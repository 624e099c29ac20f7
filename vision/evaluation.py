"""Scoring the pipeline against a clip's ground truth: event precision/recall, tamper, latency.

A clip is read as fast as possible with video-time timestamps. After its last frame the camera
is watched a little longer (as if the stream had gone quiet), so a clip that stops early shows
up as signal loss. Truth movements are unit events; a BayChange of delta ±n counts as n units.
Findings after the truth's time span are not counted as false: the truth says nothing there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from vision.config import CameraConfig
from vision.pipeline import Pipeline
from vision.sources import OpenCVSource
from vision.stages import BayChange, Detector, Frame, TamperFinding

EARLY_SECONDS = 3.0  # a change may settle before the truth's "fully inside/outside" moment
LATE_SECONDS = 6.0  # beyond this a change no longer explains a truth event
TAMPER_LATE_SECONDS = 8.0


class _Collector:
    """An event sink that keeps everything (evaluation runs on one thread)."""

    def __init__(self) -> None:
        self.changes: list[BayChange] = []
        self.findings: list[TamperFinding] = []

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """Keep a change."""
        self.changes.append(change)

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """Keep a finding."""
        self.findings.append(finding)


@dataclass
class ClipRun:
    """What the pipeline reported on one clip, with times in seconds of video."""

    changes: list[tuple[float, BayChange]]
    findings: list[tuple[float, TamperFinding]]
    frames: int
    detector_runs: int


def run_clip(video: Path, config: CameraConfig, detector: Detector) -> ClipRun:
    """Run the pipeline over a clip file; times are seconds from the clip's first frame."""
    config = replace(config, url=str(video), loop=False, realtime=False)
    sink = _Collector()
    pipeline = Pipeline(config, detector, sink)
    source = OpenCVSource(config.camera_id, str(video), config.analysis_fps, realtime=False)
    first = last = None
    frames = 0
    try:
        while (frame := source.read()) is not None:
            first = first or frame
            last = frame
            frames += 1
            pipeline.process(frame)
    finally:
        source.close()
    if first is None or last is None:
        raise ValueError(f"no frames in {video}: {source.status.detail}")
    # The stream has gone quiet: keep watching for as long as signal loss needs to show.
    quiet = config.tamper.signal_loss_seconds
    step = 1.0 / config.analysis_fps
    waited = step
    while waited <= quiet + step:
        pipeline.no_frame(last.at + timedelta(seconds=waited), waited)
        waited += step
    origin = first.at

    def since_start(at: Any) -> float:
        return float((at - origin).total_seconds())

    return ClipRun(
        [(since_start(c.at), c) for c in sink.changes],
        [(since_start(f.at), f) for f in sink.findings],
        frames,
        pipeline.detector_runs,
    )


@dataclass
class ClipScore:
    """How one clip went."""

    name: str
    truth_moves: int
    predicted_moves: int
    matched_moves: int
    latencies: list[float] = field(default_factory=list)
    tamper_truth: list[str] = field(default_factory=list)
    tamper_found: list[str] = field(default_factory=list)
    false_tamper: list[str] = field(default_factory=list)
    identity_misses: int = 0


def score_clip(name: str, truth: dict[str, Any], run: ClipRun) -> ClipScore:
    """Match a run's changes and findings to the clip's truth events."""
    span = float(truth["seconds"])
    predicted: list[tuple[float, str, str, BayChange]] = []
    for t, change in run.changes:
        predicted += [(t, change.bay_id, change.kind.value, change)] * abs(change.delta)
    used = [False] * len(predicted)
    moves = [e for e in truth["events"] if e["type"] in ("added", "removed")]
    score = ClipScore(name, len(moves), len(predicted), 0)
    for event in sorted(moves, key=lambda e: e["t"]):
        best = None
        for i, (t, bay, kind, _change) in enumerate(predicted):
            if used[i] or bay != event["bay"] or kind != event["type"]:
                continue
            if event["t"] - EARLY_SECONDS <= t <= event["t"] + LATE_SECONDS and (
                best is None or abs(t - event["t"]) < abs(predicted[best][0] - event["t"])
            ):
                best = i
        if best is None:
            continue
        used[best] = True
        score.matched_moves += 1
        score.latencies.append(max(0.0, predicted[best][0] - event["t"]))
        if set(event["identities"]) - set(predicted[best][3].identities):
            score.identity_misses += 1
    tampers = [e for e in truth["events"] if e["type"] == "tamper"]
    matched_findings: set[int] = set()
    for event in tampers:
        score.tamper_truth.append(event["tamper"])
        for i, (t, finding) in enumerate(run.findings):
            if (
                finding.active
                and finding.kind.value == event["tamper"]
                and event["t"] - 1.0 <= t <= event["t"] + TAMPER_LATE_SECONDS
            ):
                score.tamper_found.append(event["tamper"])
                matched_findings.add(i)
                break
    for i, (t, finding) in enumerate(run.findings):
        if finding.active and i not in matched_findings and t <= span:
            # A finding that starts while a matched episode of the same kind runs is that one.
            if any(
                e["tamper"] == finding.kind.value and e["t"] - 1.0 <= t <= (e["until"] or math.inf)
                for e in tampers
            ):
                continue
            score.false_tamper.append(finding.kind.value)
    return score


@dataclass
class Summary:
    """Totals over a set of clips."""

    precision: float
    recall: float
    p95_latency: float
    tamper_missed: list[str]
    false_tamper: list[str]
    identity_misses: int


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def summarise(scores: Sequence[ClipScore]) -> Summary:
    """Precision, recall, p95 latency and tamper results over clips."""
    truth = sum(s.truth_moves for s in scores)
    predicted = sum(s.predicted_moves for s in scores)
    matched = sum(s.matched_moves for s in scores)
    missed = []
    for s in scores:
        found = list(s.tamper_found)
        for kind in s.tamper_truth:
            if kind in found:
                found.remove(kind)
            else:
                missed.append(f"{s.name}:{kind}")
    return Summary(
        precision=matched / predicted if predicted else 1.0,
        recall=matched / truth if truth else 1.0,
        p95_latency=percentile([x for s in scores for x in s.latencies], 0.95),
        tamper_missed=missed,
        false_tamper=[f"{s.name}:{k}" for s in scores for k in s.false_tamper],
        identity_misses=sum(s.identity_misses for s in scores),
    )


def camera_for(truth: dict[str, Any], base: CameraConfig) -> CameraConfig:
    """The camera config for a clip: its id and bays from the truth, the rest from `base`."""
    bays = {b: [(float(x), float(y)) for x, y in poly] for b, poly in truth["bays"].items()}
    return replace(base, camera_id=truth["camera_id"], bays=bays)


def load_truth(path: Path) -> dict[str, Any]:
    """A clip's truth JSON."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def evaluate_clips(
    videos: Sequence[Path], base: CameraConfig, build: Callable[[CameraConfig], Detector]
) -> tuple[list[ClipScore], Summary]:
    """Score clips whose truth JSON sits beside the video (same name, .json)."""
    scores = []
    for video in videos:
        truth_path = video.with_suffix(".json")
        if not truth_path.is_file():
            raise FileNotFoundError(f"no truth file beside {video}: expected {truth_path}")
        truth = load_truth(truth_path)
        config = camera_for(truth, base)
        scores.append(score_clip(video.stem, truth, run_clip(video, config, build(config))))
    return scores, summarise(scores)


def report_lines(scores: Sequence[ClipScore], summary: Summary) -> list[str]:
    """A plain-text report: one line per clip, then the totals."""
    lines = [
        f"{s.name}: moves truth={s.truth_moves} predicted={s.predicted_moves}"
        f" matched={s.matched_moves} latency={[round(x, 1) for x in s.latencies]}"
        f" tamper={s.tamper_found or '-'}"
        f" missed={sorted(set(s.tamper_truth) - set(s.tamper_found))}"
        f" false={s.false_tamper or '-'}"
        for s in scores
    ]
    lines.append(
        f"precision {summary.precision:.3f}  recall {summary.recall:.3f}"
        f"  p95 latency {summary.p95_latency:.1f} s"
        f"  tamper missed {summary.tamper_missed or 'none'}"
        f"  false tamper {summary.false_tamper or 'none'}"
    )
    return lines
