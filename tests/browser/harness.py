"""A real server and a real browser: uvicorn on loopback, Debian's chromium via Playwright."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from services.api.app import create_app
from services.bootstrap import Container, build_container
from services.migrate import upgrade
from services.schema import load_metadata
from services.seed import DEMO_PASSWORD, seed_demo
from services.settings import Settings
from tests.api.conftest import FAST_HASHER
from tests.service_gate import service_missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LAPTOP = {"width": 1366, "height": 860}
TABLET = {"width": 820, "height": 1100}


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The service answering on a loopback port, and its container for direct inspection."""

    base_url: str
    container: Container
    server: uvicorn.Server
    thread: threading.Thread
    extras: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base_url + path


@contextmanager
def live_server(folder: Path) -> Iterator[LiveServer]:
    """Migrate a SQLite file, seed the demo organisations and serve the app in a thread."""
    url = f"sqlite:///{folder / 'browser.sqlite3'}"
    settings = Settings.model_validate(
        {
            "db": {"url": url},
            "ledger": {"key_dir": str(folder / "keys")},
            "vision": {
                "key_dir": str(folder / "vision-keys"),
                "evidence_store": str(folder / "evidence"),
            },
            "jobs_enabled": False,
        }
    )
    upgrade(url)
    container = build_container(settings)
    # Tables whose migration is still to be written are created directly (as the API tests do).
    load_metadata().create_all(container.engine, checkfirst=True)
    # Cheap hashes for the seeded users only: the server lives for the whole session, so it must
    # not swap the process-wide default hasher (later tests check the production parameters).
    seed_demo(container.session_factory, hasher=FAST_HASHER)
    port = free_port()
    config = uvicorn.Config(
        create_app(container),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # Open event streams would otherwise hold shutdown until the browser goes away.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="browser-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", container, server, thread)
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        container.close()


class ApiDriver:
    """The API of the live server over HTTP, shaped like the API tests' service fixture."""

    def __init__(self, server: LiveServer) -> None:
        self.client = httpx.Client(base_url=server.base_url, timeout=30)
        self.container = server.container

    def login(self, username: str) -> dict[str, str]:
        """Authorization header for a demo user."""
        resp = self.client.post(
            "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def require_chromium() -> Path:
    """Debian's chromium, or a failure in CI and a skip elsewhere."""
    if not CHROMIUM.exists():
        service_missing(
            "Chromium", f"{CHROMIUM} is missing: run scripts/install-chromium.sh (or `make test`)"
        )
    return CHROMIUM


def launch_chromium(playwright: Any) -> Any:
    """Start headless chromium from the Debian package (no browser download)."""
    return playwright.chromium.launch(
        executable_path=str(require_chromium()), headless=True, args=CHROMIUM_ARGS
    )


def sign_in(page: Any, server: LiveServer, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the sign-in form like a person and wait for the landing page."""
    page.goto(server.url("/ui/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ui/(?!login).*"))


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
