"""One pledgewatch on PostgreSQL per module, served by a real uvicorn on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from tests.alerts.alert_helpers import free_port
from tests.api.conftest import Service, make_service
from tests.api.story_steps import Parties, parties
from tests.conftest import _fresh_postgres_url


@dataclass
class Live:
    """The service, its parties, and the base URL of the uvicorn serving it."""

    service: Service
    who: Parties
    url: str

    def count(self, table: str) -> int:
        """Rows in a table of the service's database."""
        return self.service.count(table)


@pytest.fixture(scope="module")
def live(_postgres_admin: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Migrate and seed a fresh PostgreSQL schema, then serve the app with uvicorn."""
    urls = _fresh_postgres_url(_postgres_admin)
    services = make_service(next(urls), tmp_path_factory.mktemp("live"))
    service = next(services)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            service.client.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    waited = threading.Event()
    for _ in range(200):
        if server.started:
            break
        waited.wait(0.05)
    try:
        assert server.started, "uvicorn did not start"
        yield Live(service, parties(service), f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()
        urls.close()


@pytest.fixture
def http(live: Live) -> Iterator[httpx.Client]:
    """A pooled HTTP client on the live server, big enough for a 50-request burst."""
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    with httpx.Client(base_url=live.url, limits=limits, timeout=60) as client:
        yield client
