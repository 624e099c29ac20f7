"""Generated pictures for the vision tests: a textured scene, goods boxes and a recorder sink."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from vision.stages import BayChange, Frame, TamperFinding

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def scene(seed: int = 1, width: int = 640, height: int = 360) -> np.ndarray:
    """A warehouse-like picture: blotchy floor, a few shelves and crates with hard edges."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 18, size=(height // 20, width // 20, 3))
    img = 120 + cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(14):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        w, h = int(rng.integers(20, 80)), int(rng.integers(20, 80))
        colour = tuple(int(c) for c in rng.integers(20, 230, size=3))
        cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
        cv2.rectangle(img, (x, y), (x + w, y + h), (20, 20, 20), 2)
    return img


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    """The picture with sensor noise, as every live camera delivers it."""
    noise = rng.normal(0, sigma, size=img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def frame(image: np.ndarray, i: int, fps: float = 2.0, camera: str = "cam-1") -> Frame:
    """A frame of a stream analysed at `fps`."""
    return Frame(camera, i, T0 + timedelta(seconds=i / fps), image)


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """An mp4v clip of the given pictures."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for img in frames:
        writer.write(img)
    writer.release()
    return path


class Recorder:
    """An event sink that keeps what it is told, safe to share between camera threads."""

    def __init__(self) -> None:
        self.changes: list[BayChange] = []
        self.findings: list[TamperFinding] = []
        self._lock = threading.Lock()

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """Keep a bay change."""
        with self._lock:
            self.changes.append(change)

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """Keep a tamper finding."""
        with self._lock:
            self.findings.append(finding)

    def started(self, camera_id: str | None = None) -> list[TamperFinding]:
        """Findings that started (optionally of one camera)."""
        with self._lock:
            return [
                f
                for f in self.findings
                if f.active and (camera_id is None or f.camera_id == camera_id)
            ]
