"""Camera workers: a dead or corrupt feed is reported and alerted while other cameras run on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.polling import wait_for
from tests.vision.mjpeg_server import MjpegCamera
from tests.vision.scenery import Recorder, noisy, scene, write_clip
from vision.config import CameraConfig, TamperThresholds
from vision.stages import TamperKind
from vision.worker import CameraWorker, run_cameras

QUICK = TamperThresholds(signal_loss_seconds=1.0)
BAYS = {"bay-1": [(0.1, 0.1), (0.5, 0.1), (0.5, 0.6), (0.1, 0.6)]}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a still scene at 10 fps, with one ArUco-marked crate."""
    rng = np.random.default_rng(0)
    base = scene(1)
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    base[90:170, 110:190] = 255
    base[100:160, 120:180] = cv2.cvtColor(
        cv2.aruco.generateImageMarker(dictionary, 5, 60), cv2.COLOR_GRAY2BGR
    )
    frames = [noisy(base, rng) for _ in range(20)]
    return write_clip(tmp_path_factory.mktemp("clips") / "still.mp4", frames, 10.0)


def config(camera_id: str, url: str, **kw: object) -> CameraConfig:
    """A camera watched at 4 fps with quick signal-loss reporting."""
    return CameraConfig(
        camera_id,
        url,
        analysis_fps=4.0,
        bays=BAYS,
        tamper=QUICK,
        reconnect_min_seconds=0.2,
        reconnect_max_seconds=1.0,
        **kw,  # type: ignore[arg-type]
    )


def test_a_corrupt_file_and_a_dying_stream_are_alerted_while_a_good_camera_keeps_going(
    clip: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 100)
    stream = MjpegCamera(fps=15)
    sink = Recorder()
    workers = run_cameras(
        [
            config("good", str(clip), loop=True),
            config("corrupt", str(corrupt)),
            config("dying", stream.url),
        ],
        sink,
    )
    good, bad, dying = workers
    try:
        assert wait_for(lambda: dying.frames >= 3 and good.frames >= 3)
        stream.die()
        assert wait_for(lambda: bool(sink.started("dying")))
        assert wait_for(lambda: bool(sink.started("corrupt")))
        for camera in ("dying", "corrupt"):
            kinds = {f.kind for f in sink.started(camera)}
            assert kinds == {TamperKind.SIGNAL_LOSS}
        assert "cannot open" in bad.status or "no decodable frames" in bad.status
        assert bad.error and dying.error
        assert wait_for(lambda: "reconnecting" in dying.status)
        # Meanwhile the good camera never stopped.
        before = good.frames
        assert wait_for(lambda: good.frames >= before + 4, seconds=5)
        assert sink.started("good") == []
        assert good.status.startswith("streaming")
    finally:
        for worker in workers:
            worker.stop()
    assert not any(w.alive for w in workers)


def test_the_annotated_frame_shows_bays_and_marked_goods(clip: Path) -> None:
    worker = CameraWorker(config("cam", str(clip), loop=True), Recorder()).start()
    try:
        assert wait_for(lambda: worker.frames >= 2 and worker.annotated_jpeg() is not None)
        frame = worker.latest_frame()
        jpeg = worker.annotated_jpeg()
    finally:
        worker.stop()
    assert frame is not None and jpeg is not None
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == frame.image.shape
    assert worker.pipeline is not None
    views = worker.pipeline.bay_views()
    assert views[0].count == 1 and views[0].identities == {"aruco:5"}
    # The drawing differs from the raw frame along the bay outline.
    h, w = image.shape[:2]
    row = int(0.1 * h)
    diff = cv2.absdiff(image, frame.image)[row, int(0.15 * w) : int(0.45 * w)]
    assert diff.mean() > 20


def test_a_camera_whose_model_is_missing_fails_alone(clip: Path, tmp_path: Path) -> None:
    sink = Recorder()
    broken = config("broken", str(clip), model_path=tmp_path / "missing.onnx")
    workers = run_cameras([broken, config("fine", str(clip), loop=True)], sink)
    try:
        assert wait_for(lambda: workers[1].frames >= 2)
        assert wait_for(lambda: workers[0].status.startswith("failed"))
        assert "missing.onnx" in (workers[0].error or "")
    finally:
        for worker in workers:
            worker.stop()
