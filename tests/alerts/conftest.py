"""Services on SQLite and PostgreSQL, a live uvicorn, and a webhook receiver on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.alerts.alert_helpers import Receiver, free_port
from tests.api.conftest import Service, make_service


@pytest.fixture
def sqlite_service(sqlite_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite."""
    yield from make_service(sqlite_url, tmp_path)


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite and on PostgreSQL."""
    yield from make_service(database_url, tmp_path)


@pytest.fixture
def live_url(sqlite_service: Service) -> Iterator[str]:
    """The service's app served by a real uvicorn on loopback, in a thread."""
    port = free_port()
    config = uvicorn.Config(
        sqlite_service.client.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = threading.Event()
    for _ in range(200):
        if server.started:
            break
        deadline.wait(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server that answers 200 unless told otherwise, one status per request."""
    got = Receiver(url="")
    # Requests may arrive on several threads at once: keep each one's time next to it.
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                got.arrivals.append(time.monotonic())
                got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = got.statuses.pop(0) if got.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pledgewatch"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()
