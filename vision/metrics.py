"""Prometheus metrics of the camera pipeline, on prometheus_client's default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FRAMES_ANALYSED = Counter(
    "pledgewatch_frames_analysed", "Frames that went through the pipeline.", ["camera"]
)
DETECTOR_RUNS = Counter(
    "pledgewatch_detector_runs", "Frames the detector ran on (after the motion gate).", ["camera"]
)
DETECTOR_LATENCY = Histogram(
    "pledgewatch_detector_latency_seconds",
    "Time the detector took on one frame.",
    ["camera"],
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)
BAY_CHANGES = Counter(
    "pledgewatch_bay_changes", "Stable changes of bay contents.", ["camera", "kind"]
)
TAMPER_FINDINGS = Counter(
    "pledgewatch_tamper_findings", "Tamper findings that started.", ["camera", "kind"]
)
BAD_FRAMES = Counter(
    "pledgewatch_bad_frames", "Pictures a source delivered that could not be analysed.", ["camera"]
)
CAMERA_UP = Gauge("pledgewatch_camera_up", "1 while the camera delivers frames.", ["camera"])
