"""A small app with the identity routers on a throwaway SQLite database, seeded with two orgs."""

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
from services.api.routers import auth, orgs
from services.db import Base, make_engine, make_session_factory
from services.identity import passwords, service
from services.identity import tables as identity_tables
from services.settings import AuthSettings, Settings

PASSWORD = "api test password"
IDENTITY_TABLES = [
    identity_tables.Org.__tablename__,
    identity_tables.User.__tablename__,
    identity_tables.ApiKey.__tablename__,
]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 costs a tenth of a second per hash; API tests do not test that."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    monkeypatch.setattr(passwords, "DEFAULT_HASHER", cheap)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the identity tables and two seeded organisations."""
    db = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    Base.metadata.create_all(db, tables=[Base.metadata.tables[n] for n in IDENTITY_TABLES])
    with make_session_factory(db)() as session:
        service.create_org(session, "bank1", "First Bank", OrgKind.BANK, "Bank1MSP")
        service.create_org(session, "wh1", "Harbour Storage", OrgKind.WAREHOUSE, "Wh1MSP")
        service.create_user(session, "bank1", "bank-admin", PASSWORD, [Role.ADMIN])
        service.create_user(session, "bank1", "bank-officer", PASSWORD, [Role.OFFICER])
        service.create_user(session, "wh1", "wh-admin", PASSWORD, [Role.ADMIN])
        session.commit()
    yield db
    db.dispose()


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    """The identity routers behind the real problem+json handlers."""
    application = FastAPI()
    application.include_router(auth.router)
    application.include_router(orgs.router)
    application.state.container = SimpleNamespace(
        settings=Settings(auth=AuthSettings(jwt_secret="api-test-secret-" + "k" * 32)),
        session_factory=make_session_factory(engine),
    )

    install_problem_handlers(application)

    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app."""
    with TestClient(app) as test_client:
        yield test_client


Login = Callable[..., dict[str, str]]


@pytest.fixture
def password() -> str:
    """The password every seeded user has."""
    return PASSWORD


@pytest.fixture
def login(client: TestClient) -> Login:
    """Sign in as a user and get the Authorization header carrying their token."""

    def sign_in(username: str, password: str = PASSWORD) -> dict[str, str]:
        response = client.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return sign_in
