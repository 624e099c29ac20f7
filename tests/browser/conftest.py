"""One live server and one chromium for the browser suite; a fresh browser context per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    LAPTOP,
    LiveServer,
    launch_chromium,
    live_server,
    require_chromium,
    sign_in,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service on a loopback port, with the demo organisations seeded."""
    require_chromium()
    with live_server(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium, started once for the whole suite."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # Two shared cores in CI: give assertions more than Playwright's default five seconds.
    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class Console:
    """Errors a page logged (script errors, CSP violations, failed requests)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        """Record the page's console errors and uncaught exceptions."""
        page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


@pytest.fixture
def open_as(chromium: Any, server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Open a page signed in as a user, each in its own browser context (own cookies)."""
    contexts: list[Any] = []
    consoles: list[Console] = []

    def opener(username: str | None, viewport: dict[str, int] | None = None) -> Any:
        context = chromium.new_context(viewport=viewport or LAPTOP, base_url=server.base_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        console = Console()
        console.watch(page)
        consoles.append(console)
        # Confirmation steps use the browser's own dialog; a person would press OK.
        page.on("dialog", lambda dialog: dialog.accept())
        if username:
            sign_in(page, server, username)
        return page

    yield opener
    for context in contexts:
        context.close()
    # Expected problem answers (404/409 pages) log a failed resource load; anything else is a bug.
    unexpected = [
        e for c in consoles for e in c.errors if "the server responded with a status of" not in e
    ]
    assert not unexpected, unexpected


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """Where page screenshots go (an ignored folder, listed in the README)."""
    from tests.browser.harness import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
