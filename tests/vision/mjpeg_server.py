"""A real HTTP MJPEG camera on loopback that can be made to die mid-stream."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from tests.vision.scenery import noisy, scene


class MjpegCamera:
    """Serves `multipart/x-mixed-replace` JPEGs at `fps` until `die()` is called."""

    def __init__(self, fps: float = 10.0, seed: int = 2) -> None:
        self.fps = fps
        self.base = scene(seed)
        self.alive = threading.Event()
        self.alive.set()
        self.sent = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                rng = np.random.default_rng(0)
                while camera.alive.is_set():
                    ok, buf = cv2.imencode(".jpg", noisy(camera.base, rng))
                    assert ok
                    head = (
                        f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(buf)}\r\n\r\n"
                    )
                    try:
                        self.wfile.write(head.encode() + buf.tobytes() + b"\r\n")
                    except OSError:
                        return
                    camera.sent += 1
                    time.sleep(1 / camera.fps)

            def log_message(self, *args: object) -> None:
                pass

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
