"""Integration fixtures: a migrated database (SQLite and PostgreSQL) and the parties in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration_world import Parties, create_parties
from sqlalchemy.orm import Session, sessionmaker

from services.db import make_engine, make_session_factory
from services.migrate import upgrade


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """The URL of a database brought to the latest schema by the real migrations."""
    upgrade(database_url)
    return database_url


@pytest.fixture
def session_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database, built as the service builds them."""
    engine = make_engine(migrated_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def parties(session_factory: sessionmaker[Session]) -> Parties:
    """The bank, second bank, warehouse and SME, registered as organisations."""
    return create_parties(session_factory)
