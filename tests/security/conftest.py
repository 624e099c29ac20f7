"""The identity API on a throwaway SQLite database, built from settings a test chooses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher, Type
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pledge.parties import OrgKind, Role
from services.api.problems import install_problem_handlers
from services.api.routers import auth
from services.db import Base, make_engine, make_session_factory
from services.identity import passwords, service
from services.identity import tables as identity_tables
from services.settings import AuthSettings, Settings

PASSWORD = "security suite password"
SECRET = "security-suite-current-secret-" + "c" * 32
OLD_SECRET = "security-suite-previous-secret-" + "p" * 32
USERS = ("alice", "bob", "carol")
# Cheap argon2 for tests whose subject is not hashing; the argon2 tests pick their own hasher.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

AppFor = Callable[..., FastAPI]


def settings_with(**auth: object) -> Settings:
    """Settings whose auth section has the given fields (and the suite's secret by default)."""
    return Settings(auth=AuthSettings.model_validate({"jwt_secret": SECRET, **auth}))


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the default hasher cheap for the duration of one test."""
    monkeypatch.setattr(passwords, "DEFAULT_HASHER", CHEAP)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the identity tables, one bank and three of its users."""
    tables = [identity_tables.Org, identity_tables.User, identity_tables.ApiKey]
    db = make_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    Base.metadata.create_all(db, tables=[Base.metadata.tables[t.__tablename__] for t in tables])
    with make_session_factory(db)() as session:
        service.create_org(session, "bank1", "First Bank", OrgKind.BANK, "Bank1MSP")
        for name in USERS:
            service.create_user(session, "bank1", name, PASSWORD, [Role.OFFICER], hasher=CHEAP)
        session.commit()
    yield db
    db.dispose()


@pytest.fixture
def app_for(engine: Engine) -> AppFor:
    """Build the sign-in API over the shared database with the given settings."""

    def build(settings: Settings | None = None) -> FastAPI:
        application = FastAPI()
        application.include_router(auth.router)
        application.state.container = SimpleNamespace(
            settings=settings or settings_with(),
            session_factory=make_session_factory(engine),
        )
        install_problem_handlers(application)
        return application

    return build


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> object:
    """POST /auth/token with a username and password; returns the response."""
    return client.post("/auth/token", data={"username": username, "password": password})
