"""The API service fixtures with camera evidence kept in the test's own folder."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.cameras.wiring import STORE_KEY
from tests.api.conftest import Service, make_service
from vision.evidence import FileStore


def _with_store(services: Iterator[Service], folder: Path) -> Iterator[Service]:
    service = next(services)
    service.container.extras[STORE_KEY] = FileStore(folder / "evidence")
    service.container.settings.vision.key_dir = folder / "vision-keys"
    try:
        yield service
    finally:
        services.close()


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite and on PostgreSQL, evidence under tmp_path."""
    yield from _with_store(make_service(database_url, tmp_path), tmp_path)


@pytest.fixture
def sqlite_service(sqlite_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite only, evidence under tmp_path."""
    yield from _with_store(make_service(sqlite_url, tmp_path), tmp_path)


class Bucket(BaseHTTPRequestHandler):
    """A tiny object store: PUT keeps the body under its path, GET returns it."""

    objects: dict[str, tuple[bytes, str]] = {}

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.objects[self.path] = (self.rfile.read(length), self.headers["Content-Type"])
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        found = self.objects.get(self.path)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", found[1])
        self.send_header("Content-Length", str(len(found[0])))
        self.end_headers()
        self.wfile.write(found[0])

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def bucket() -> Iterator[str]:
    """The URL of a running tiny object store."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/evidence"
    server.shutdown()
    server.server_close()
