"""A running embedded service per test (migrated database, demo organisations) and its parties."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import Container, build_container
from services.migrate import upgrade
from services.schema import load_metadata
from services.seed import DEMO_PASSWORD, seed_demo
from services.settings import Settings

# Cheap hashing keeps logins fast; the production parameters are tested in the identity suite.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Service:
    """The app under test, its container and a client."""

    client: TestClient
    container: Container

    def login(self, username: str) -> dict[str, str]:
        """Authorization header for a demo user."""
        resp = self.client.post(
            "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def count(self, table: str) -> int:
        """Rows in a table, to prove a refused request changed nothing."""
        from sqlalchemy import text

        with self.container.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def make_service(url: str, tmp_path: Path) -> Iterator[Service]:
    """Migrate, seed and serve an embedded pledgewatch on the given database."""
    settings = Settings.model_validate(
        {"db": {"url": url}, "ledger": {"key_dir": str(tmp_path / "keys")}, "jobs_enabled": False}
    )
    upgrade(url)
    container = build_container(settings)
    # Tables whose migration is still to be written are created directly; the migration test
    # (tests/integration/test_migrations.py) is what proves migrations and models agree.
    load_metadata().create_all(container.engine, checkfirst=True)
    seed_demo(container.session_factory, hasher=FAST_HASHER)
    from services.identity import passwords

    previous = passwords.DEFAULT_HASHER
    passwords.DEFAULT_HASHER = FAST_HASHER
    try:
        with TestClient(create_app(container)) as client:
            yield Service(client, container)
    finally:
        passwords.DEFAULT_HASHER = previous
        container.close()


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite and on PostgreSQL."""
    yield from make_service(database_url, tmp_path)


@pytest.fixture
def sqlite_service(sqlite_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite only, for tests whose subject is not the database."""
    yield from make_service(sqlite_url, tmp_path)


def problem_of(resp: Any) -> dict[str, Any]:
    """The problem+json body of an error response, checked for its shape."""
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    body: dict[str, Any] = resp.json()
    assert {"type", "title", "status", "code", "detail"} <= body.keys(), body
    assert body["status"] == resp.status_code
    return body
