"""One camera's analysis: motion gate, then detector where needed, tracker, bays and tamper."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vision import metrics
from vision.bays import Baseline, BayEvaluator
from vision.config import CameraConfig
from vision.detectors.markers import MARKER_LABEL
from vision.motion import FrameDifferenceGate, blurred, grey_copy
from vision.stages import (
    BayChange,
    BayView,
    Box,
    Detection,
    Detector,
    EventSink,
    Frame,
    Image,
    MotionGate,
    TamperFinding,
    Track,
    Tracker,
)
from vision.tamper import TamperMonitor
from vision.tracking import IouTracker


@dataclass
class Analysis:
    """What the pipeline did with one frame."""

    frame_index: int
    motion: list[Box] = field(default_factory=list)
    detected: bool = False
    tracks: list[Track] = field(default_factory=list)
    changes: list[BayChange] = field(default_factory=list)
    findings: list[TamperFinding] = field(default_factory=list)


class Pipeline:
    """Runs the stages for one camera and hands changes and tamper findings to the sink."""

    def __init__(
        self,
        config: CameraConfig,
        detector: Detector,
        sink: EventSink,
        gate: MotionGate | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.config = config
        self.detector = detector
        self.sink = sink
        self.gate = gate or FrameDifferenceGate(
            config.motion_width, config.motion_threshold, config.motion_min_area
        )
        self.tracker = tracker or IouTracker()
        goods = config.goods_labels
        if config.markers:
            goods = (*goods, MARKER_LABEL)  # a marker on no detected goods is still a unit
        self.bays = BayEvaluator(
            config.camera_id,
            config.bays,
            config.stable_seconds,
            goods,
            config.occluder_labels,
            config.bay_rule,
        )
        self.tamper = TamperMonitor(config.camera_id, config.tamper)
        self._refresh = timedelta(seconds=config.refresh_seconds)
        self._absence = timedelta(seconds=config.absence_check_seconds)
        self._last_detection: datetime | None = None
        self._last_absence_check: datetime | None = None
        self._grey: Image | None = None
        self.last_frame: Frame | None = None
        self.last_tracks: list[Track] = []
        self.detector_runs = 0
        self.frames = 0
        # The worker thread processes frames while the service asks for baselines and views.
        self._lock = threading.RLock()

    def process(self, frame: Frame) -> Analysis:
        """Analyse one frame; changes and findings also go to the sink."""
        with self._lock:
            return self._process(frame)

    def _process(self, frame: Frame) -> Analysis:
        camera = self.config.camera_id
        self.frames += 1
        metrics.FRAMES_ANALYSED.labels(camera).inc()
        result = Analysis(frame.index)
        # One small grey copy serves the tamper checks, the motion gate and the bays.
        plain = grey_copy(frame.image, self.config.motion_width)
        grey = blurred(plain)
        result.findings = self.tamper.signal_back(frame.at) + self.tamper.check(frame, plain)
        for finding in result.findings:
            if finding.active:
                metrics.TAMPER_FINDINGS.labels(camera, finding.kind.value).inc()
            self.sink.tamper(finding, frame)
        self.last_frame = frame
        self._grey = grey
        if isinstance(self.gate, FrameDifferenceGate):
            result.motion = self.gate.changed_in(grey)
        else:
            result.motion = self.gate.changed(frame)
        if self.tamper.suspect():
            # A covered, moved or frozen camera says nothing true about the bays.
            self.bays.pause()
            return result
        self.bays.watch(self.bays.touched_by(result.motion), frame.at)
        due = set(self.bays.needing_detection(frame.at))
        if self._last_detection is None or frame.at - self._last_detection >= self._refresh:
            due |= set(self.bays.bay_ids)
        if self._last_absence_check is None or frame.at - self._last_absence_check >= self._absence:
            self._last_absence_check = frame.at
            for bay_id in self.bays.bay_ids:
                diff = self.bays.difference(bay_id, grey)
                if diff is not None and diff > self.config.absence_difference:
                    # The bay looks different from its last verified state although the gate
                    # may have seen nothing: look again, and keep looking until it settles.
                    self.bays.watch([bay_id], frame.at)
                    due.add(bay_id)
        if not due:
            return result
        detections = self._detect(frame)
        result.detected = True
        result.tracks = self.tracker.update(detections)
        self.last_tracks = result.tracks
        tracked = [t.detection for t in result.tracks]
        result.changes = self.bays.observe(frame.at, frame.index, tracked, sorted(due))
        for change in result.changes:
            metrics.BAY_CHANGES.labels(camera, change.kind.value).inc()
            self.sink.bay_changed(change, frame)
        for bay_id in due:
            if self.bays.settled(bay_id):
                self.bays.set_reference(bay_id, grey)
        return result

    def _detect(self, frame: Frame) -> list[Detection]:
        started = time.perf_counter()
        detections = self.detector.detect(frame.image)
        metrics.DETECTOR_LATENCY.labels(self.config.camera_id).observe(
            time.perf_counter() - started
        )
        metrics.DETECTOR_RUNS.labels(self.config.camera_id).inc()
        self.detector_runs += 1
        self._last_detection = frame.at
        return detections

    def no_frame(self, at: datetime, seconds_without: float) -> list[TamperFinding]:
        """Tell the pipeline that no frame has come for a while (signal loss check)."""
        with self._lock:
            findings = self.tamper.no_signal(at, seconds_without)
        for finding in findings:
            metrics.TAMPER_FINDINGS.labels(self.config.camera_id, finding.kind.value).inc()
            self.sink.tamper(finding, None)
        return findings

    def take_baseline(self, bay_id: str) -> Baseline:
        """Record a bay's count, identities and picture as they are now (at pledge time)."""
        with self._lock:
            at = self.last_frame.at if self.last_frame else datetime.now().astimezone()
            return self.bays.take_baseline(bay_id, at, self._grey)

    def bay_views(self) -> list[BayView]:
        """What the pipeline believes is in each bay."""
        with self._lock:
            return self.bays.views()
