"""A synthetic camera on loopback: a vision.synth scene streamed as HTTP MJPEG, live and looping.

A real camera keeps streaming while the vision worker is down, and the worker joins the live
picture when it comes back; a file would replay from its start instead. The clip plays forward
then backward, so the loop has no jump that could read as goods appearing or leaving.
"""

from __future__ import annotations

import time

import cv2

from tests.vision.mjpeg_server import MjpegServer
from vision.synth import iter_frames
from vision.synth.scenarios import build_script

FPS = 5
SECONDS = 6.0


class SynthCamera:
    """Serves `multipart/x-mixed-replace` JPEGs of a synth scenario to every client until closed."""

    def __init__(self, scenario: str = "static", seed: int = 0) -> None:
        """Render the clip once (JPEG-encoded) and start serving it."""
        self.camera_id = f"synth-{scenario}-{seed}"
        script = build_script(scenario, seed, SECONDS)
        # Bay outlines in the camera's view, as fractions of the picture.
        self.bays = {
            name: [[float(x), float(y)] for x, y in polygon]
            for name, polygon in script.layout.bays.items()
        }
        jpegs = []
        for frame in iter_frames(scenario, seed, fps=FPS, seconds=SECONDS):
            ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
            assert ok
            jpegs.append(buf.tobytes())
        self._loop = jpegs + jpegs[-2:0:-1]
        # Every viewer sees the same live picture: the frame of this wall-clock moment.
        self._stream = MjpegServer(self._now_showing, FPS)
        self.url = self._stream.url

    @property
    def sent(self) -> int:
        """Frames sent to viewers so far."""
        return self._stream.sent

    def _now_showing(self) -> bytes:
        return self._loop[int(time.monotonic() * FPS) % len(self._loop)]

    def close(self) -> None:
        """Stop streaming and close the listening socket."""
        self._stream.die()
