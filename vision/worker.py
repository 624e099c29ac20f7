"""A thread per camera: source -> pipeline -> sink, surviving bad feeds and bad frames."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import cv2
import numpy as np

from vision import metrics
from vision.annotate import annotate
from vision.config import CameraConfig
from vision.detectors.composite import CompositeDetector
from vision.detectors.markers import MarkerDetector
from vision.detectors.onnx_yolo import OnnxYoloDetector
from vision.pipeline import Pipeline
from vision.sources import OpenCVSource, SourceState
from vision.stages import Detector, EventSink, Frame, FrameSource

log = logging.getLogger(__name__)

IDLE_SLEEP = 0.05  # seconds between polls while a feed is down


def frame_problem(image: object) -> str | None:
    """Why a picture cannot be analysed (the pipeline takes non-empty H x W x 3 uint8), or None."""
    if not isinstance(image, np.ndarray):
        return f"a {type(image).__name__}, not an image array"
    if image.dtype != np.uint8:
        return f"pixels of type {image.dtype}, not uint8"
    if image.ndim != 3 or image.shape[2] != 3:
        return f"shape {image.shape}, not height x width x 3 colours"
    if image.shape[0] == 0 or image.shape[1] == 0:
        return f"an empty picture of shape {image.shape}"
    return None


def build_detector(config: CameraConfig) -> Detector:
    """The detector a camera's configuration asks for: YOLO, markers, or both."""
    objects = (
        OnnxYoloDetector(config.model_path, config.confidence, config.iou, config.threads)
        if config.model_path is not None
        else None
    )
    markers = MarkerDetector() if config.markers else None
    if objects is None and markers is None:
        raise ValueError(f"camera {config.camera_id}: no model and markers off: nothing to detect")
    return CompositeDetector(objects, markers, config.goods_labels)


def build_source(config: CameraConfig) -> OpenCVSource:
    """The frame source for a camera's URL."""
    return OpenCVSource(
        config.camera_id,
        config.url,
        config.analysis_fps,
        loop=config.loop,
        realtime=config.realtime,
        reconnect_min_seconds=config.reconnect_min_seconds,
        reconnect_max_seconds=config.reconnect_max_seconds,
    )


class CameraWorker:
    """Watches one camera on its own thread; `status` says in words how it is doing."""

    def __init__(
        self,
        config: CameraConfig,
        sink: EventSink,
        detector: Detector | None = None,
        source: FrameSource | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self._detector = detector
        self._source = source
        self.pipeline: Pipeline | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._status = "starting"
        self.error: str | None = None
        self.frames = 0

    @property
    def camera_id(self) -> str:
        """The camera this worker watches."""
        return self.config.camera_id

    @property
    def status(self) -> str:
        """In words: starting, streaming, reconnecting (with the reason), ended, failed, stopped."""
        return self._status

    @property
    def alive(self) -> bool:
        """Whether the worker's thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> CameraWorker:
        """Start the worker thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"camera-{self.camera_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def latest_frame(self) -> Frame | None:
        """The last frame analysed, if any."""
        with self._lock:
            return self._latest

    def annotated_jpeg(self) -> bytes | None:
        """The last frame as JPEG with bays, counts, detections and identities drawn."""
        frame = self.latest_frame()
        if frame is None or self.pipeline is None:
            return None
        image = annotate(frame.image, self.pipeline.bay_views(), self.pipeline.last_tracks)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
        return buf.tobytes() if ok else None

    def _run(self) -> None:
        try:
            detector = self._detector or build_detector(self.config)
            source = self._source or build_source(self.config)
        except Exception as exc:  # a bad model path must fail this camera only
            self.error = f"cannot start: {exc}"
            self._status = f"failed: {exc}"
            log.error("camera %s: %s", self.camera_id, self.error)
            return
        self.pipeline = Pipeline(self.config, detector, self.sink)
        last_frame = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    frame = source.read()
                except Exception as exc:  # a decoder error must not end the camera's watch
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.exception("camera %s: reading failed", self.camera_id)
                    source.close()
                    frame = None
                if frame is not None and (problem := frame_problem(frame.image)):
                    # A broken picture is no picture: reported, skipped, counted as signal loss.
                    self.error = f"bad frame {frame.index}: {problem}"
                    metrics.BAD_FRAMES.labels(self.camera_id).inc()
                    log.warning("camera %s: %s", self.camera_id, self.error)
                    frame = None
                self._update_status(source)
                if frame is None:
                    # A feed that stopped (even a file that ended) is signal loss until stopped.
                    metrics.CAMERA_UP.labels(self.camera_id).set(0)
                    without = time.monotonic() - last_frame
                    self._safely(self.pipeline.no_frame, datetime.now(UTC), without)
                    self._stop.wait(IDLE_SLEEP)
                    continue
                last_frame = time.monotonic()
                metrics.CAMERA_UP.labels(self.camera_id).set(1)
                with self._lock:
                    self._latest = frame
                self.frames += 1
                self._safely(self.pipeline.process, frame)
        finally:
            source.close()
            self._status = "stopped"

    def _safely(self, step, *args) -> None:  # type: ignore[no-untyped-def]
        # One broken frame (or a failing sink) must not end the camera's watch.
        try:
            step(*args)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("camera %s: pipeline step failed", self.camera_id)

    def _update_status(self, source: FrameSource) -> None:
        if not isinstance(source, OpenCVSource):
            self._status = "streaming"
            return
        status = source.status
        if status.state is SourceState.RECONNECTING:
            self.error = status.detail
        self._status = f"{status.state.value}: {status.detail}" if status.detail else status.state


def run_cameras(configs: Sequence[CameraConfig], sink: EventSink) -> list[CameraWorker]:
    """Start one worker per camera; each fails or stalls on its own."""
    return [CameraWorker(config, sink).start() for config in configs]
