"""Database fixtures: every `database_url` test runs on SQLite and on PostgreSQL.

PostgreSQL comes from PLEDGEWATCH_TEST_PG_URL (set by `make test`, which runs
scripts/test-services.sh). Each test gets its own empty schema in that database, selected through
the connection's search_path, and dropped afterwards. Without the variable, PostgreSQL tests are
skipped locally and fail in CI (CI=true): in CI a missing service is a failure.
These fixtures create no tables: tests run migrations or `metadata.create_all` themselves.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from services.db import make_engine
from tests.service_gate import service_missing

PG_URL_ENV = "PLEDGEWATCH_TEST_PG_URL"
_OTHERS = "FROM pg_stat_activity WHERE application_name = :name AND pid <> pg_backend_pid()"
_LEFTOVERS = text(f"SELECT count(*) {_OTHERS}")
_TERMINATE = text(f"SELECT pg_terminate_backend(pid) {_OTHERS}")


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pledgewatch.sqlite3'}"


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test database, used only to create and drop test schemas."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        service_missing(
            "PostgreSQL", f"{PG_URL_ENV} is not set: run `make test` (or scripts/test-services.sh)"
        )
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        pytest.fail(f"cannot connect to {PG_URL_ENV}: {exc}", pytrace=False)
    yield engine
    engine.dispose()


def _fresh_postgres_url(admin: Engine) -> Iterator[str]:
    """Create an empty schema, yield a URL whose connections use only it, then drop it."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict(
        # application_name tags the test's connections so leftovers can be ended below.
        {"options": f"-csearch_path={schema}", "application_name": schema}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # Connections a test forgot to close would hold locks and block the DROP: first let
            # the garbage collector close the unreachable ones, then end whatever is left.
            if conn.execute(_LEFTOVERS, {"name": schema}).scalar():
                gc.collect()
                conn.execute(_TERMINATE, {"name": schema})
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    admin: Engine = request.getfixturevalue("_postgres_admin")
    yield from _fresh_postgres_url(admin)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of an empty SQLite file in tmp_path (the embedded default)."""
    return _sqlite_url(tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url`, built like the service builds it; no tables are created."""
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()
