"""Camera streams per CPU core at 2 analysed fps on 640x360, gated against ungated.

Renders synthetic warehouse clips in two mixes and runs each, on one thread, in the same run:
- gated:   our pipeline (motion gate; detector only when and where something changed, on the
           periodic refresh and on the baseline absence check; tracker, bays, tamper checks);
- ungated: the same pipeline and detector, with the detector on every analysed frame;
- ultralytics: `YOLO(model).predict` on every analysed frame, only when ultralytics imports.
The quiet mix is still bays under noise and lighting drift; the busy mix is forklifts,
people and a tamper episode all the time. A camera's day is mostly quiet: the "day" row
weights the two measured mixes by --busy-share (default 0.1, i.e. 2.4 busy hours a day).
Streams per core = seconds of video analysed / CPU seconds spent; "+decode" also pays for
decoding the whole 10 fps stream (a camera delivers every frame; substreams make this cheaper).

    uv run python bench/vision.py [--model vision/models/goods-yolo-n-320.onnx] [--busy-share 0.1]
                                  [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on the path and its name would shadow the
# `vision` package it measures.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(REPO))

from bench._figures import Figure, Outcome, add_output_options, emit  # noqa: E402
from vision.config import SHIPPED_MODEL, CameraConfig  # noqa: E402
from vision.evaluation import camera_for, load_truth  # noqa: E402
from vision.pipeline import Pipeline  # noqa: E402
from vision.sources import OpenCVSource  # noqa: E402
from vision.stages import BayChange, Detector, Frame, TamperFinding  # noqa: E402
from vision.synth import render  # noqa: E402
from vision.worker import build_detector  # noqa: E402

# Two-minute quiet clips: a camera starts once and then watches for hours, so its start-up
# look (the detector on every frame for the first seconds) should weigh little.
QUIET: tuple[tuple[str, float | None], ...] = (
    ("static", 120.0),
    ("lighting_drift", 120.0),
)
BUSY: tuple[tuple[str, float | None], ...] = (
    ("removal", None),
    ("addition", None),
    ("occlusion", None),
    ("mixed", None),
    ("covered", None),
)
# --quick: one short clip per mix, enough to exercise every variant in a few seconds.
QUIET_QUICK: tuple[tuple[str, float | None], ...] = (("static", 15.0),)
BUSY_QUICK: tuple[tuple[str, float | None], ...] = (("removal", None),)
FPS = 2.0


class _Null:
    """A sink that drops everything (the service's cost is not the pipeline's)."""

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """Drop."""

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """Drop."""


def _frames(video: Path) -> tuple[list[Frame], float, float]:
    """The frames due at 2 fps, the clip's seconds, and CPU seconds spent decoding it all."""
    source = OpenCVSource("bench", str(video), FPS, realtime=False)
    started = time.process_time()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    cpu = time.process_time() - started
    source.close()
    return frames, len(frames) / FPS, cpu


def _run(config: CameraConfig, detector: Detector, frames: list[Frame]) -> tuple[float, int]:
    pipeline = Pipeline(config, detector, _Null())
    started = time.process_time()
    for frame in frames:
        pipeline.process(frame)
    return time.process_time() - started, pipeline.detector_runs


def _ultralytics(model: Path, frames: list[Frame]) -> float | None:
    try:
        from ultralytics import YOLO  # optional [train] extra; never a service import
    except ImportError:
        return None
    yolo = YOLO(str(model), task="detect")
    started = time.process_time()
    for frame in frames:
        yolo.predict(frame.image, imgsz=320, verbose=False)
    return time.process_time() - started


class _Mix:
    """CPU seconds per variant over one mix of clips."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.frames = 0
        self.cpu = {"gated": 0.0, "ungated": 0.0, "ultralytics": 0.0, "decode": 0.0}
        self.runs = {"gated": 0, "ungated": 0, "ultralytics": 0}

    def per_second(self, key: str) -> float:
        """CPU seconds per second of video."""
        return self.cpu[key] / self.seconds


def _measure(
    scenes: tuple[tuple[str, float | None], ...], seed: int, model: Path | None, tmp: Path
) -> _Mix:
    mix = _Mix()
    for i, (name, length) in enumerate(scenes):
        clip = render(name, tmp, seed=seed + i, seconds=length)
        base = CameraConfig("bench", str(clip.video), analysis_fps=FPS, model_path=model)
        config = camera_for(load_truth(clip.truth), base)
        detector = build_detector(config)
        frames, clip_seconds, decode_cpu = _frames(clip.video)
        mix.seconds += clip_seconds
        mix.frames += len(frames)
        mix.cpu["decode"] += decode_cpu
        spent, n = _run(config, detector, frames)
        mix.cpu["gated"] += spent
        mix.runs["gated"] += n
        # Ungated: a refresh on every frame, so the detector sees every analysed frame.
        spent, n = _run(replace(config, refresh_seconds=0.0), detector, frames)
        mix.cpu["ungated"] += spent
        mix.runs["ungated"] += n
        if model is not None:
            took = _ultralytics(model, frames)
            if took is not None:
                mix.cpu["ultralytics"] += took
                mix.runs["ultralytics"] += len(frames)
    return mix


def _row(label: str, per_second: float, decode: float, runs: str) -> str:
    streams = 1.0 / per_second
    with_decode = 1.0 / (per_second + decode)
    ms = per_second * 1000 / FPS
    return f"{label:<22} {runs:>13} {ms:>9.2f} {streams:>9.1f} {with_decode:>9.1f}"


def main() -> None:
    """Render both mixes, run every variant, print streams per core and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--busy-share", type=float, default=0.1)
    add_output_options(parser)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    model = args.model if args.model.is_file() else None
    quiet_scenes, busy_scenes = (QUIET_QUICK, BUSY_QUICK) if args.quick else (QUIET, BUSY)
    with tempfile.TemporaryDirectory() as tmp:
        quiet = _measure(quiet_scenes, args.seed, model, Path(tmp))
        busy = _measure(busy_scenes, args.seed + 100, model, Path(tmp))
    share = args.busy_share
    detector_name = f"ONNX YOLO {model.name} + ArUco" if model else "ArUco only (no model file)"
    print(f"detector: {detector_name}")
    print(
        f"quiet mix {quiet.seconds:.0f} s, busy mix {busy.seconds:.0f} s of video; day = "
        f"{1 - share:.0%} quiet + {share:.0%} busy"
    )
    print(f"{'variant':<22} {'detector runs':>13} {'ms/frame':>9} {'streams':>9} {'+decode':>9}")
    variants = ["gated", "ungated"]
    if quiet.runs["ultralytics"]:
        variants.append("ultralytics")
    day: dict[str, float] = {}
    decode_day = (1 - share) * quiet.per_second("decode") + share * busy.per_second("decode")
    for key in variants:
        for label, mix in (("quiet", quiet), ("busy", busy)):
            runs = f"{mix.runs[key]}/{mix.frames}"
            print(_row(f"{key} {label}", mix.per_second(key), mix.per_second("decode"), runs))
        day[key] = (1 - share) * quiet.per_second(key) + share * busy.per_second(key)
        print(_row(f"{key} day", day[key], decode_day, "-"))
    if "ultralytics" not in variants:
        print("ultralytics: not importable (the [train] extra) or no model: baseline skipped")
    for label, mix in (("quiet", quiet), ("busy", busy)):
        ratio = mix.per_second("ungated") / mix.per_second("gated")
        print(f"gated / ungated, {label}: {ratio:.2f}x")
    print(f"gated / ungated, day: {day['ungated'] / day['gated']:.2f}x")
    streams, with_decode = 1 / day["gated"], 1 / (day["gated"] + decode_day)
    print(f"streams per core, day, gated: {streams:.1f} ({with_decode:.1f} with decoding)")
    outcome = _outcome(quiet, busy, day, decode_day, detector_name)
    outcome.params.update({"busy_share": share, "seed": args.seed})
    emit(outcome, args.json)


def _outcome(
    quiet: _Mix, busy: _Mix, day: dict[str, float], decode_day: float, detector: str
) -> Outcome:
    unit, ungated = "streams/core", "same pipeline, detector on every frame"
    figures = [
        Figure(
            f"streams per core, {label}",
            1 / gated,
            unit,
            1 / every,
            ungated,
            "higher",
        )
        for label, gated, every in (
            ("day mix", day["gated"], day["ungated"]),
            ("quiet mix", quiet.per_second("gated"), quiet.per_second("ungated")),
            ("busy mix", busy.per_second("gated"), busy.per_second("ungated")),
            ("day mix, with decoding", day["gated"] + decode_day, day["ungated"] + decode_day),
        )
    ]
    if "ultralytics" in day:
        figures.append(
            Figure(
                "streams per core, detector every frame",
                1 / day["ungated"],
                unit,
                1 / day["ultralytics"],
                "ultralytics YOLO.predict every frame",
                "higher",
            )
        )
    return Outcome(
        bench="vision",
        title="Camera streams per CPU core at 2 analysed fps, 640x360",
        figures=figures,
        params={
            "detector": detector,
            "quiet_video_s": quiet.seconds,
            "busy_video_s": busy.seconds,
            "fps": FPS,
        },
        notes=["one thread; CPU seconds per second of video; day = weighted quiet and busy mixes"],
    )


if __name__ == "__main__":
    main()
