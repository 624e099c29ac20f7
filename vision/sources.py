"""Frames from RTSP, HTTP/MJPEG and file URLs through OpenCV, at the analysis rate, reconnecting.

A source never raises on a bad feed: it reports its state (`status`) and answers None while the
feed is down, retrying with exponential backoff. Files carry their own clock: frame times are
the video's time (frame index / fps), paced to the wall clock only when `realtime` is set, so a
test can read a minute of video in a few seconds and still see one-minute timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from vision.stages import Frame

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000


class SourceState(StrEnum):
    """Where a source stands."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"  # lost or never opened; retrying after a backoff
    ENDED = "ended"  # a file that is not looped reached its end


@dataclass(frozen=True)
class SourceStatus:
    """A source's state, the last error in plain words and how many tries failed in a row."""

    state: SourceState
    detail: str = ""
    failures: int = 0
    frames: int = 0


def is_file_url(url: str) -> bool:
    """Whether the URL names a local file (a plain path or file://)."""
    scheme = urlparse(url).scheme.lower()
    return scheme not in STREAM_SCHEMES and (scheme in ("", "file") or len(scheme) == 1)


def file_path(url: str) -> str:
    """The local path a file URL points at."""
    parsed = urlparse(url)
    return parsed.path if parsed.scheme.lower() == "file" else url


def backoff_delay(failures: int, low: float, high: float) -> float:
    """Seconds to wait after `failures` failed tries in a row: doubling, capped."""
    return float(min(high, low * 2.0 ** max(0, failures - 1)))


class OpenCVSource:
    """One camera's frames at `analysis_fps`, from any URL OpenCV's FFmpeg backend opens."""

    def __init__(
        self,
        camera_id: str,
        url: str,
        analysis_fps: float = 2.0,
        loop: bool = False,
        realtime: bool = True,
        reconnect_min_seconds: float = 0.5,
        reconnect_max_seconds: float = 30.0,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.period = 1.0 / analysis_fps if analysis_fps > 0 else 0.0
        self.loop = loop
        self.realtime = realtime
        self.backoff = (reconnect_min_seconds, reconnect_max_seconds)
        self.is_file = is_file_url(url)
        self._cap: cv2.VideoCapture | None = None
        self._status = SourceStatus(SourceState.CONNECTING)
        self._retry_at = 0.0
        self._failures = 0
        self._frames = 0  # analysed frames delivered
        self._index = 0  # frames read, across loops
        self._pass_frames = 0  # frames read in the current pass over a file
        self._fps = 0.0
        self._offset = 0.0  # video seconds of earlier passes over a looped file
        self._due = 0.0
        self._origin: datetime | None = None
        self._wall_origin = 0.0

    @property
    def status(self) -> SourceStatus:
        """The source's current state and last error."""
        return self._status

    @property
    def finished(self) -> bool:
        """True once a file that is not looped has been read to its end."""
        return self._status.state is SourceState.ENDED

    def _set(self, state: SourceState, detail: str = "") -> None:
        self._status = SourceStatus(state, detail, self._failures, self._frames)

    def _fail(self, detail: str) -> None:
        self._release()
        self._failures += 1
        delay = backoff_delay(self._failures, *self.backoff)
        self._retry_at = time.monotonic() + delay
        self._set(SourceState.RECONNECTING, f"{detail}; retrying in {delay:.1f} s")

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _open(self) -> bool:
        self._set(SourceState.CONNECTING)
        target = file_path(self.url) if self.is_file else self.url
        if self.is_file and not Path(target).is_file():
            self._fail(f"file not found: {target}")
            return False
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            self._fail(f"cannot open {self._display()}")
            return False
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps = fps if 0 < fps < 1000 else 25.0
        self._pass_frames = 0
        if self._origin is None:
            self._origin = datetime.now(UTC)
            self._wall_origin = time.monotonic()
        return True

    def _display(self) -> str:
        parsed = urlparse(self.url)
        if parsed.password:  # never put a camera password into a status line or a log
            return self.url.replace(f":{parsed.password}@", ":***@")
        return self.url

    def _clock(self) -> float:
        """Seconds since the source first opened: video time for files, wall time for streams."""
        if self.is_file:
            return self._offset + self._pass_frames / self._fps
        return time.monotonic() - self._wall_origin

    def _end_of_pass(self) -> bool:
        """Handle a failed grab; True when reading can go on (a looped file rewound)."""
        if self.is_file and self._pass_frames > 0:
            if not self.loop:
                self._release()
                self._set(SourceState.ENDED, f"end of {self._display()}")
                return False
            self._offset += self._pass_frames / self._fps
            self._release()
            return self._open()
        if self._pass_frames == 0:
            self._fail(f"no decodable frames in {self._display()}")
        else:
            self._fail(f"stream lost: {self._display()}")
        return False

    def read(self) -> Frame | None:
        """The next frame due for analysis, or None while the feed is down or ended."""
        if self.finished:
            return None
        if self._cap is None and (time.monotonic() < self._retry_at or not self._open()):
            return None
        while True:
            cap = self._cap
            assert cap is not None
            t = self._clock()  # a file frame's time is its index, known before the grab
            if not cap.grab():
                if self._end_of_pass():
                    continue
                return None
            if not self.is_file:
                t = self._clock()  # a live frame's time is when it arrived
            self._pass_frames += 1
            self._index += 1
            if t + 1e-9 < self._due:
                continue  # not due for analysis: grabbed (cheap) but never converted
            ok, image = cap.retrieve()
            if not ok or image is None:
                if self._end_of_pass():
                    continue
                return None
            # Keep the analysis rate on average, but never analyse two frames closer than half
            # a period (a jittery stream would otherwise deliver catch-up bursts).
            late = t - self._due >= self.period / 2
            self._due = t + self.period if late else self._due + self.period
            if self.realtime and self.is_file:
                lag = t - (time.monotonic() - self._wall_origin)
                if lag > 0:
                    time.sleep(lag)  # play files at their own speed
            self._failures = 0
            self._frames += 1
            self._set(SourceState.STREAMING)
            assert self._origin is not None
            at = self._origin + timedelta(seconds=t)
            return Frame(self.camera_id, self._index - 1, at, np.asarray(image, dtype=np.uint8))

    def close(self) -> None:
        """Release the stream."""
        self._release()
