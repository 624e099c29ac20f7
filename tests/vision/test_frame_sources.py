"""Frame sources on real files and a real HTTP MJPEG stream: rates, loops, errors, backoff."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from tests.vision.mjpeg_server import MjpegCamera
from tests.vision.scenery import noisy, scene, write_clip
from vision.sources import OpenCVSource, SourceState, backoff_delay, is_file_url
from vision.stages import Frame


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds at 10 fps."""
    rng = np.random.default_rng(0)
    base = scene(1)
    frames = [noisy(base, rng) for _ in range(30)]
    return write_clip(tmp_path_factory.mktemp("clips") / "three.mp4", frames, 10.0)


def read_all(source: OpenCVSource, limit: int = 1000) -> list[Frame]:
    """Every frame until the source has none (or `limit`)."""
    out: list[Frame] = []
    while len(out) < limit and (f := source.read()) is not None:
        out.append(f)
    return out


def test_a_file_is_analysed_at_the_analysis_rate_in_video_time(clip: Path) -> None:
    source = OpenCVSource("cam", str(clip), analysis_fps=2.0, realtime=False)
    started = time.monotonic()
    frames = read_all(source)
    assert time.monotonic() - started < 2.5  # faster than the clip's own three seconds
    assert [f.index for f in frames] == [0, 5, 10, 15, 20, 25]
    seconds = [(f.at - frames[0].at).total_seconds() for f in frames]
    assert seconds == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert frames[0].image.shape == (360, 640, 3)
    assert source.finished and source.status.state is SourceState.ENDED


def test_a_looped_clip_starts_again_and_its_clock_runs_on(clip: Path) -> None:
    source = OpenCVSource("cam", f"file://{clip}", analysis_fps=2.0, loop=True, realtime=False)
    frames = read_all(source, limit=9)
    seconds = [(f.at - frames[0].at).total_seconds() for f in frames]
    assert seconds == pytest.approx([i * 0.5 for i in range(9)])
    assert frames[6].index == 30 and not source.finished


def test_realtime_plays_a_file_at_its_own_speed(clip: Path) -> None:
    source = OpenCVSource("cam", str(clip), analysis_fps=4.0, realtime=True)
    started = time.monotonic()
    read_all(source, limit=5)  # frames at 0 .. 1.0 s of video
    assert time.monotonic() - started >= 0.9


def test_a_missing_file_is_a_clear_error_retried_with_growing_backoff(tmp_path: Path) -> None:
    source = OpenCVSource("cam", str(tmp_path / "nope.mp4"), reconnect_min_seconds=0.05)
    assert source.read() is None
    status = source.status
    assert status.state is SourceState.RECONNECTING
    assert "file not found" in status.detail and "retrying in 0.1 s" in status.detail
    assert source.read() is None and source.status.failures == 1  # waiting out the backoff
    time.sleep(0.06)
    assert source.read() is None and source.status.failures == 2
    assert [backoff_delay(n, 0.5, 30) for n in (1, 2, 3, 8, 20)] == [0.5, 1, 2, 30, 30]


def test_a_corrupt_file_is_a_clear_error_and_never_raises(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    source = OpenCVSource("cam", str(bad), reconnect_min_seconds=0.05)
    assert source.read() is None
    status = source.status
    assert status.state is SourceState.RECONNECTING
    assert "cannot open" in status.detail or "no decodable frames" in status.detail


def test_an_http_mjpeg_camera_streams_and_its_death_is_reported() -> None:
    camera = MjpegCamera(fps=20)
    source = OpenCVSource("cam", camera.url, analysis_fps=5.0, reconnect_min_seconds=0.1)
    try:
        frames = read_all(source, limit=4)
        assert len(frames) == 4 and source.status.state is SourceState.STREAMING
        gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(frames)]
        assert all(g >= 0.1 for g in gaps)  # wall-clock times, never closer than half a period
        camera.die()
        deadline = time.monotonic() + 10
        while source.status.state is SourceState.STREAMING and time.monotonic() < deadline:
            source.read()
        state: SourceState = source.status.state
        assert state is SourceState.RECONNECTING
        assert "stream lost" in source.status.detail or "cannot open" in source.status.detail
    finally:
        source.close()


def test_urls_are_told_apart() -> None:
    assert is_file_url("/data/clip.mp4") and is_file_url("file:///data/clip.mp4")
    assert not is_file_url("rtsp://cam/stream") and not is_file_url("http://cam/mjpg")
