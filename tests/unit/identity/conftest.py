"""Fixtures for identity unit tests: a throwaway SQLite database and a cheap password hasher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy.orm import Session

from services.db import Base, make_engine, make_session_factory
from services.identity import tables
from services.settings import AuthSettings, Settings

IDENTITY_TABLES = [tables.Org.__tablename__, tables.User.__tablename__, tables.ApiKey.__tablename__]


@pytest.fixture
def fast_hasher() -> PasswordHasher:
    """Argon2id at minimal cost, so tests that hash many passwords stay quick."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)


@pytest.fixture
def settings() -> Settings:
    """Settings with a test-only signing secret."""
    return Settings(auth=AuthSettings(jwt_secret="unit-test-secret-" + "x" * 32, token_minutes=5))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A session on a fresh SQLite file holding only the identity tables."""
    engine = make_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[n] for n in IDENTITY_TABLES])
    db = make_session_factory(engine)()
    try:
        yield db
    finally:
        db.close()
        engine.dispose()
