"""The vision runner: every registered camera watched, frames shown, baselines and live checks.

It loads the cameras and their bays from the database, starts one worker per camera with a
sink, and then loops: it feeds each camera's recent frames to the evidence maker (for clips),
uploads each camera's annotated frame every ~1.5 s, answers pending live checks (polled every
~0.5 s, well inside their 10-s deadline), and takes a baseline of every watched bay that holds
pledged goods but has none yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pledge.model import Bay
from services.cameras.counts import record_baseline
from services.cameras.live_checks import DEADLINE, answer_check, fail_check, pending_checks
from services.cameras.registry import pledged_lots, store_frame
from services.cameras.tables import BayCountRow, CameraRow
from services.cameras.wiring import evidence_store
from services.settings import VisionSettings
from services.uow import SqlUnitOfWork
from vision.config import CameraConfig, shipped_model
from vision.livecheck import live_snapshot
from vision.signing import WorkerKey
from vision.sink import EvidenceMaker, InProcessSink
from vision.stages import EventSink

log = logging.getLogger(__name__)

StartWorkers = Callable[[Sequence[CameraConfig], EventSink], list[Any]]


@dataclass(frozen=True)
class Cadence:
    """How often the runner does each of its chores, in seconds."""

    tick: float = 0.1
    frames: float = 1.5
    live_checks: float = 0.5
    baselines: float = 5.0
    cameras: float = 10.0


def detector_model(vision: VisionSettings) -> Path | None:
    """The ONNX model the workers run, or None for the marker reader alone."""
    if vision.detector == "markers":
        return None
    model = vision.model_path or shipped_model()
    if model is None or not Path(model).is_file():
        # Goods without markers would go unseen: refuse rather than watch half-blind.
        raise FileNotFoundError(f"vision detector model not found: {model or 'shipped model'}")
    return Path(model)


def camera_configs(container: Any, **overrides: Any) -> list[CameraConfig]:
    """A worker configuration per registered camera, with the bays drawn in its view."""
    model = detector_model(container.settings.vision)
    with SqlUnitOfWork.start(container.session_factory) as uow:
        cameras = list(uow.session.scalars(select(CameraRow).order_by(CameraRow.id)))
        configs = []
        for camera in cameras:
            bays: dict[str, list[tuple[float, float]]] = {
                bay.id: [(float(x), float(y)) for x, y in bay.polygons[camera.id]]
                for bay in uow.bays.find(warehouse_id=camera.warehouse_id)
                if camera.id in bay.polygons
            }
            fields = {
                "camera_id": camera.id,
                "url": camera.url,
                "analysis_fps": camera.analysis_fps,
                "bays": bays,
                "model_path": model,
                **overrides,
            }
            configs.append(CameraConfig(**fields))
        return configs


def _run_cameras(configs: Sequence[CameraConfig], sink: EventSink) -> list[Any]:
    from vision.worker import run_cameras

    return run_cameras(configs, sink)


class VisionRunner:
    """Runs the camera workers of the database and the chores around them."""

    def __init__(
        self,
        container: Any,
        *,
        key: WorkerKey | None = None,
        sink: EventSink | None = None,
        maker: EvidenceMaker | None = None,
        cadence: Cadence | None = None,
        start_workers: StartWorkers = _run_cameras,
        config_overrides: dict[str, Any] | None = None,
        baselines: bool = True,
    ) -> None:
        """Watch the container's cameras; by default report in process with a key from settings."""
        self.container = container
        vision = container.settings.vision
        self.maker = maker or EvidenceMaker(
            key or WorkerKey.load_or_create(Path(vision.key_dir)), vision.clip_seconds
        )
        self.sink: EventSink = sink or InProcessSink(container, self.maker)
        self.cadence = cadence or Cadence()
        self._start_workers = start_workers
        self._overrides = config_overrides or {}
        self._baselines = baselines
        self.workers: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, float] = {}

    def start(self) -> VisionRunner:
        """Start a worker per camera and the chores loop."""
        configs = camera_configs(self.container, **self._overrides)
        for config in configs:
            self.maker.ring(config.camera_id, config.analysis_fps)
        self.workers = list(self._start_workers(configs, self.sink))
        self._stop.clear()
        self._last["cameras"] = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="vision-runner", daemon=True)
        self._thread.start()
        log.info("vision runner watching %d camera(s)", len(self.workers))
        return self

    def stop(self) -> None:
        """Stop the chores and every worker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for worker in self.workers:
            worker.stop()

    def _due(self, chore: str, every: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(chore, 0.0) >= every:
            self._last[chore] = now
            return True
        return False

    def _loop(self) -> None:
        while not self._stop.wait(self.cadence.tick):
            self.tick()

    def tick(self) -> None:
        """One round of chores; each one fails alone."""
        for worker in self.workers:
            frame = worker.latest_frame()
            if frame is not None:
                self.maker.observe(frame)
        chores = [
            ("live_checks", self.cadence.live_checks, self.answer_live_checks),
            ("frames", self.cadence.frames, self.upload_frames),
            ("cameras", self.cadence.cameras, self.add_new_cameras),
        ]
        if self._baselines:
            chores.append(("baselines", self.cadence.baselines, self.take_baselines))
        for name, every, chore in chores:
            if self._due(name, every):
                try:
                    chore()
                except Exception:
                    log.exception("vision runner: %s failed", name)

    def add_new_cameras(self) -> int:
        """Start workers for cameras registered since the runner started; returns how many."""
        known = {w.camera_id for w in self.workers}
        fresh = [
            c for c in camera_configs(self.container, **self._overrides) if c.camera_id not in known
        ]
        if not fresh:
            return 0
        for config in fresh:
            self.maker.ring(config.camera_id, config.analysis_fps)
        started = self._start_workers(fresh, self.sink)
        self.workers.extend(started)
        log.info("vision runner: %d new camera(s)", len(started))
        return len(started)

    def upload_frames(self) -> int:
        """Store each camera's latest annotated frame; returns how many were stored."""
        stored = 0
        for worker in self.workers:
            jpeg = worker.annotated_jpeg()
            if jpeg is None:
                continue
            with SqlUnitOfWork.start(self.container.session_factory) as uow:
                store_frame(uow, worker.camera_id, jpeg, datetime.now(UTC))
            stored += 1
        return stored

    def answer_live_checks(self) -> int:
        """Answer pending live checks with a signed, nonce-stamped snapshot; returns how many."""
        by_camera = {w.camera_id: w for w in self.workers}
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            checks = [
                (c.id, c.camera_id, c.bay_id, c.nonce, c.requested_at)
                for c in pending_checks(uow, set(by_camera))
            ]
        answered = 0
        for check_id, camera_id, bay_id, nonce, requested_at in checks:
            now = datetime.now(UTC)
            frame = by_camera[camera_id].latest_frame()
            if frame is None:
                if now - requested_at > DEADLINE:
                    with SqlUnitOfWork.start(self.container.session_factory) as uow:
                        fail_check(uow, check_id, now, "the camera sent no picture in time")
                continue
            self._register_key(camera_id)
            pack, _ = live_snapshot(
                self.maker.key, frame, nonce=nonce, bay_id=bay_id, check_id=check_id, at=now
            )
            with SqlUnitOfWork.start(self.container.session_factory) as uow:
                answer_check(uow, evidence_store(self.container), check_id, pack, now)
            self.container.pump()
            answered += 1
        return answered

    def _register_key(self, camera_id: str) -> None:
        from services.cameras.evidence_service import register_key
        from vision.sink import device_actor

        actor = device_actor(self.container, camera_id)
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            register_key(uow, actor, datetime.now(UTC), self.maker.key.public_b64)

    def take_baselines(self) -> int:
        """Baseline every watched bay that holds pledged goods and has no baseline yet."""
        taken = 0
        for worker in self.workers:
            pipeline = getattr(worker, "pipeline", None)
            if pipeline is None or worker.latest_frame() is None:
                continue
            with SqlUnitOfWork.start(self.container.session_factory) as uow:
                due = [bay_id for bay_id in worker.config.bays if _needs_baseline(uow, bay_id)]
            for bay_id in due:
                baseline = pipeline.take_baseline(bay_id)
                with SqlUnitOfWork.start(self.container.session_factory) as uow:
                    record_baseline(
                        uow,
                        bay_id,
                        worker.camera_id,
                        baseline.count,
                        sorted(baseline.identities),
                        baseline.at,
                    )
                taken += 1
        return taken


def _needs_baseline(uow: SqlUnitOfWork, bay_id: str) -> bool:
    if uow.session.get(Bay, bay_id) is None or not pledged_lots(uow, bay_id):
        return False
    row = uow.session.get(BayCountRow, bay_id)
    return row is None or row.baseline_at is None


def run(settings: Any, select: Callable[[str], bool] | None = None) -> None:
    """Run the cameras of the database (those `select` picks) until interrupted or terminated."""
    import signal

    from services.bootstrap import build_container

    container = build_container(settings)
    container.connect_ledger()
    stop = threading.Event()

    def picked(configs: Sequence[CameraConfig], sink: EventSink) -> list[Any]:
        """Start workers for this process's share of the cameras only."""
        chosen = [c for c in configs if select is None or select(c.camera_id)]
        return _run_cameras(chosen, sink)

    runner = VisionRunner(container, start_workers=picked).start()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        runner.stop()
        container.close()
