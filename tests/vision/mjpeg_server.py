"""Real HTTP MJPEG cameras on loopback: one server, fed by whatever picture a test needs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from tests.vision.scenery import noisy, scene


class MjpegServer:
    """Serves `multipart/x-mixed-replace` JPEGs from `next_jpeg` at `fps` to every viewer."""

    def __init__(self, next_jpeg: Callable[[], bytes], fps: float) -> None:
        self.fps = fps
        self.alive = threading.Event()
        self.alive.set()
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            """One viewer's endless multipart stream."""

            def do_GET(self) -> None:
                """Stream pictures until the viewer or the camera goes away."""
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                while server.alive.is_set():
                    jpeg = next_jpeg()
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}"
                    try:
                        self.wfile.write(head.encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                    except OSError:
                        return
                    server.sent += 1
                    time.sleep(1 / server.fps)

            def log_message(self, *args: object) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def die(self) -> None:
        """Stop streaming and refuse new connections: the camera is gone."""
        self.alive.clear()
        self.server.shutdown()
        self.server.server_close()


class MjpegCamera(MjpegServer):
    """A still scene with sensor noise, at `fps`, until `die()` is called."""

    def __init__(self, fps: float = 10.0, seed: int = 2) -> None:
        self.base = scene(seed)
        rng = np.random.default_rng(0)

        def next_jpeg() -> bytes:
            ok, buf = cv2.imencode(".jpg", noisy(self.base, rng))
            assert ok
            return bytes(buf.tobytes())

        super().__init__(next_jpeg, fps)
