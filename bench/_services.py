"""The test services a benchmark runs against: their URLs, and fresh PostgreSQL schemas."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from services.db import make_engine
from services.migrate import upgrade
from services.schema import load_metadata

REPO = Path(__file__).resolve().parents[1]
PG_URL_ENV = "PLEDGEWATCH_TEST_PG_URL"
MQTT_URL_ENV = "PLEDGEWATCH_TEST_MQTT_URL"


def optional_setting(env: str, file: Path) -> str:
    """A service URL from the environment, else from the file scripts/test-services.sh wrote."""
    value = os.environ.get(env, "").strip()
    if not value and file.is_file():
        value = file.read_text().strip()
    return value


def setting(env: str, file: Path) -> str:
    """Like optional_setting, but a missing URL ends the benchmark with what to run."""
    value = optional_setting(env, file)
    if not value:
        sys.exit(f"{env} is not set and {file} is missing: run scripts/test-services.sh first")
    return value


def pg_url_or_empty() -> str:
    """The test PostgreSQL, or '' when none is provisioned."""
    return optional_setting(PG_URL_ENV, REPO / ".cache" / "pg" / "url")


def pg_url() -> str:
    """The test PostgreSQL database."""
    return setting(PG_URL_ENV, REPO / ".cache" / "pg" / "url")


def mqtt_url() -> str:
    """The worker account on the test Mosquitto."""
    return setting(MQTT_URL_ENV, REPO / ".cache" / "mqtt" / "url")


@contextmanager
def fresh_schema(url: str, *, migrate: bool = False) -> Iterator[str]:
    """A new empty schema (migrated and with every table if asked), dropped afterwards."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # application_name tags the bench's connections so leftovers can be ended before the drop.
    scoped = admin.url.update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": schema}
    ).render_as_string(hide_password=False)
    try:
        if migrate:
            upgrade(scoped)
            engine = make_engine(scoped)
            # Tables newer than the last migration, exactly as the production test fixture does.
            load_metadata().create_all(engine, checkfirst=True)
            engine.dispose()
        yield scoped
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
