"""Corrupt and truncated video files, and zero-byte, empty and wrong-shaped frames: the source
and the camera worker report the trouble (status, error, camera-up metric, signal-loss finding),
never raise, keep the other cameras going, and recover once the feed is good again.

The bad files are made at test time from one short clip rendered by vision.synth.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY

from tests.polling import wait_for
from tests.vision.scenery import Recorder
from vision.config import CameraConfig, TamperThresholds
from vision.sources import OpenCVSource, SourceState
from vision.stages import Frame, TamperKind
from vision.synth import render
from vision.worker import CameraWorker, run_cameras

QUICK = TamperThresholds(signal_loss_seconds=1.0, hold_seconds=0.2)
BAYS = {"bay-1": [(0.1, 0.1), (0.5, 0.1), (0.5, 0.6), (0.1, 0.6)]}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a generated warehouse scene, 320x180 at 10 fps (mp4v)."""
    folder = tmp_path_factory.mktemp("synth")
    made = render("static", folder, seed=3, width=320, height=180, fps=10, seconds=2.0)
    return made.video


def noise(size: int, seed: int = 0) -> bytes:
    """Random bytes."""
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def flipped(data: bytes, start: float, end: float, every: int = 97) -> bytes:
    """The bytes with every `every`-th byte inverted between two fractions of the length."""
    out = bytearray(data)
    for i in range(int(len(data) * start), int(len(data) * end), every):
        out[i] ^= 0xFF
    return bytes(out)


def jpeg(_: bytes) -> bytes:
    """One JPEG picture (a still image where a video is expected)."""
    ok, buf = cv2.imencode(".jpg", np.full((90, 160, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


@dataclass(frozen=True)
class BadFile:
    """A broken video file made from the good clip's bytes, and what reading it must give."""

    name: str
    make: Callable[[bytes], bytes]
    readable: bool  # whether some frames still decode (then the file ends) or none do


BAD_FILES = [
    BadFile("zero bytes", lambda _: b"", readable=False),
    BadFile("the first 32 bytes", lambda d: d[:32], readable=False),
    BadFile("cut at 10%", lambda d: d[: len(d) // 10], readable=False),
    BadFile("cut at 50%", lambda d: d[: len(d) // 2], readable=False),
    BadFile("cut at 90%", lambda d: d[: len(d) * 9 // 10], readable=False),
    BadFile("the last kilobyte missing", lambda d: d[:-1024], readable=False),
    BadFile("random bytes", lambda _: noise(50_000), readable=False),
    BadFile("an mp4 header then noise", lambda d: d[:48] + noise(50_000, 1), readable=False),
    BadFile("a text file", lambda _: b"this is not a video\n" * 100, readable=False),
    BadFile("damaged picture data", lambda d: flipped(d, 0.1, 0.8), readable=True),
    BadFile("a JPEG picture", jpeg, readable=True),
]


def read_all(source: OpenCVSource, tries: int = 400) -> list[Frame]:
    """Read until the source ends, or has failed a few times over, or `tries` run out."""
    frames: list[Frame] = []
    for _ in range(tries):
        frame = source.read()
        if frame is not None:
            frames.append(frame)
            continue
        if source.finished or source.status.failures >= 3:
            break
        time.sleep(0.01)
    return frames


@pytest.mark.parametrize("bad", BAD_FILES, ids=[b.name for b in BAD_FILES])
def test_a_broken_file_is_reported_and_never_raises(
    clip: Path, tmp_path: Path, bad: BadFile
) -> None:
    path = tmp_path / "camera.mp4"
    path.write_bytes(bad.make(clip.read_bytes()))
    source = OpenCVSource(
        "cam", str(path), analysis_fps=10, realtime=False, reconnect_min_seconds=0.01
    )
    try:
        frames = read_all(source)
    finally:
        source.close()
    for frame in frames:  # whatever decodes is a whole picture
        assert frame.image.ndim == 3 and frame.image.shape[2] == 3
        assert frame.image.shape[0] > 0 and frame.image.shape[1] > 0
        assert frame.image.dtype == np.uint8
    status = source.status
    if bad.readable:
        assert frames and status.state is SourceState.ENDED, status
    else:
        assert not frames
        assert status.state is SourceState.RECONNECTING, status
        assert "cannot open" in status.detail or "no decodable frames" in status.detail
        assert str(path) in status.detail and "retrying in" in status.detail


def test_a_directory_or_a_missing_file_is_reported(tmp_path: Path) -> None:
    for target, words in ((tmp_path, "file not found"), (tmp_path / "gone.mp4", "file not found")):
        source = OpenCVSource("cam", str(target), reconnect_min_seconds=0.01)
        assert source.read() is None
        assert source.status.state is SourceState.RECONNECTING
        assert words in source.status.detail


def camera_up(camera_id: str) -> float | None:
    """The pledgewatch_camera_up gauge of one camera."""
    return REGISTRY.get_sample_value("pledgewatch_camera_up", {"camera": camera_id})


def bad_frames(camera_id: str) -> float:
    """The pledgewatch_bad_frames counter of one camera."""
    found = REGISTRY.get_sample_value("pledgewatch_bad_frames_total", {"camera": camera_id})
    return found or 0.0


def config(camera_id: str, url: str, **kw: object) -> CameraConfig:
    """A camera read as fast as it decodes (marker detector only), quick to report loss."""
    kw.setdefault("realtime", False)
    return CameraConfig(
        camera_id,
        url,
        analysis_fps=5.0,
        bays=BAYS,
        tamper=QUICK,
        reconnect_min_seconds=0.1,
        reconnect_max_seconds=0.3,
        **kw,  # type: ignore[arg-type]
    )


def test_cameras_on_broken_files_report_trouble_while_a_good_one_runs_and_then_recover(
    clip: Path, tmp_path: Path
) -> None:
    broken = [b for b in BAD_FILES if not b.readable]
    paths = []
    for index, bad in enumerate(broken):
        path = tmp_path / f"cam-{index}.mp4"
        path.write_bytes(bad.make(clip.read_bytes()))
        paths.append(path)
    sink = Recorder()
    good_config = config("corpus-good", str(clip), loop=True, realtime=True)
    # Looped, so a mended file keeps its camera up rather than ending after two seconds.
    configs = [good_config] + [
        config(f"corpus-bad-{i}", str(p), loop=True) for i, p in enumerate(paths)
    ]
    workers = run_cameras(configs, sink)
    good, bad = workers[0], workers[1:]
    try:
        assert wait_for(lambda: all(sink.started(w.camera_id) for w in bad)), [
            (w.camera_id, w.status, len(sink.started(w.camera_id))) for w in bad
        ]
        for worker in bad:
            assert worker.alive and worker.error
            assert worker.status.startswith("reconnecting")
            assert "cannot open" in worker.status or "no decodable frames" in worker.status
            assert {f.kind for f in sink.started(worker.camera_id)} == {TamperKind.SIGNAL_LOSS}
            assert camera_up(worker.camera_id) == 0
        # The good camera never stopped, and nothing was said against it.
        before = good.frames
        assert wait_for(lambda: good.frames >= before + 3)
        # (A still synthetic scene may in time look frozen; it never looks lost.)
        kinds = {f.kind for f in sink.started("corpus-good")}
        assert TamperKind.SIGNAL_LOSS not in kinds and camera_up("corpus-good") == 1
        # The feed is mended: the camera picks it up again at its next retry.
        shutil.copyfile(clip, paths[0])
        mended = bad[0]
        assert wait_for(lambda: mended.frames > 0)
        assert wait_for(lambda: camera_up(mended.camera_id) == 1)
        assert mended.alive
    finally:
        for worker in workers:
            worker.stop()
    assert not any(w.alive for w in workers)


class ListSource:
    """Frames handed over one by one, as a source would deliver them; None once used up."""

    def __init__(self, camera_id: str, images: list[np.ndarray]) -> None:
        self.camera_id = camera_id
        self._frames: Iterator[Frame] = iter(
            Frame(camera_id, i, datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i / 2), img)
            for i, img in enumerate(images)
        )

    def read(self) -> Frame | None:
        """The next frame, or None when there is none left."""
        return next(self._frames, None)

    def close(self) -> None:
        """Nothing to release."""


def scene(width: int = 320, height: int = 180, seed: int = 0) -> np.ndarray:
    """A textured picture."""
    rng = np.random.default_rng(seed)
    return rng.integers(40, 200, (height, width, 3), dtype=np.uint8)


BAD_FRAMES = {
    "zero bytes": np.zeros((0, 0, 3), np.uint8),
    "no rows": np.zeros((0, 320, 3), np.uint8),
    "no columns": np.zeros((180, 0, 3), np.uint8),
    "a flat array": np.zeros(320 * 180 * 3, np.uint8),
    "grey, two dimensions": np.full((180, 320), 90, np.uint8),
    "one channel": np.full((180, 320, 1), 90, np.uint8),
    "four channels": np.full((180, 320, 4), 90, np.uint8),
    "floats": np.full((180, 320, 3), 0.5, np.float32),
}
ODD_FRAMES = {
    "one pixel": scene(1, 1),
    "smaller than the rest": scene(160, 90),
    "larger than the rest": scene(640, 360),
    "a sliver": scene(2000, 2),
}


@pytest.mark.parametrize("name", [*BAD_FRAMES, *ODD_FRAMES])
def test_a_bad_frame_is_reported_and_the_camera_goes_on_with_the_next(
    tmp_path: Path, name: str
) -> None:
    odd = name in ODD_FRAMES
    image = ODD_FRAMES[name] if odd else BAD_FRAMES[name]
    images = [scene(seed=1), scene(seed=1), image, *(scene(seed=1) for _ in range(4))]
    worker = CameraWorker(
        config("corpus-frames", "list://"), Recorder(), source=ListSource("corpus-frames", images)
    )
    worker.start()
    try:
        # Six good frames whatever happens; the odd (but whole) picture is analysed too.
        assert wait_for(lambda: worker.frames >= (7 if odd else 6))
        assert worker.alive
        latest = worker.latest_frame()
        assert latest is not None and latest.image.shape == (180, 320, 3)
        jpeg = worker.annotated_jpeg()
        assert (
            jpeg is not None
            and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) is not None
        )
        if odd:
            assert worker.error is None
        else:
            assert worker.error and worker.error.startswith("bad frame 2: ")
            assert bad_frames("corpus-frames") > 0
    finally:
        worker.stop()
