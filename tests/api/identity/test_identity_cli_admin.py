"""Operator commands for orgs, users and API keys, run against a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner, Result

from services.cli_admin import apikey_app, org_app, user_app
from services.db import Base, make_engine, make_session_factory
from services.identity import service
from services.identity.tables import ApiKey, Org, User
from services.settings import get_settings

cli = typer.Typer()
cli.add_typer(org_app, name="org")
cli.add_typer(user_app, name="user")
cli.add_typer(apikey_app, name="apikey")


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings at a fresh SQLite file that already has the identity tables."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    names = [Org.__tablename__, User.__tablename__, ApiKey.__tablename__]
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[n] for n in names])
    engine.dispose()
    monkeypatch.setenv("PLEDGEWATCH_DB__URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*args: str) -> Result:
    """Invoke the admin commands as `pledgewatch ...` would."""
    return CliRunner().invoke(cli, list(args))


def test_org_create_stores_the_org_and_list_shows_it(db_url: str) -> None:
    created = run("org", "create", "bank1", "--name", "First Bank", "--kind", "bank", "--msp", "B1")
    assert created.exit_code == 0, created.output
    assert "created org bank1" in created.output
    listed = run("org", "list")
    assert listed.exit_code == 0
    assert "First Bank" in listed.output
    assert "B1" in listed.output


def test_a_duplicate_org_fails_with_exit_code_1_and_a_short_message(db_url: str) -> None:
    args = ("org", "create", "bank1", "--name", "First Bank", "--kind", "bank", "--msp", "B1")
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 1
    assert "org_exists" in again.output
    assert "Traceback" not in again.output


def test_user_create_takes_repeated_roles_and_the_user_can_sign_in(db_url: str) -> None:
    run("org", "create", "wh1", "--name", "Harbour", "--kind", "warehouse", "--msp", "W1")
    created = run(
        "user", "create", "dora", "--org", "wh1", "--password", "harbour password",
        "--role", "admin", "--role", "officer",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "created user dora" in created.output
    listed = run("user", "list", "--org", "wh1")
    assert "dora" in listed.output
    assert "admin, officer" in listed.output
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        token = service.authenticate(session, get_settings(), "dora", "harbour password")
    engine.dispose()
    assert token.count(".") == 2


def test_user_create_with_a_weak_password_exits_1(db_url: str) -> None:
    run("org", "create", "wh1", "--name", "Harbour", "--kind", "warehouse", "--msp", "W1")
    result = run("user", "create", "dora", "--org", "wh1", "--password", "short", "--role", "admin")
    assert result.exit_code == 1
    assert "weak_password" in result.output


def test_user_list_for_an_unknown_org_exits_1(db_url: str) -> None:
    result = run("user", "list", "--org", "nowhere")
    assert result.exit_code == 1
    assert "org_not_found" in result.output


def test_apikey_create_prints_a_working_secret_and_revoke_disables_it(db_url: str) -> None:
    run("org", "create", "wh1", "--name", "Harbour", "--kind", "warehouse", "--msp", "W1")
    created = run("apikey", "create", "--org", "wh1", "--name", "gate cam", "--purpose", "camera")
    assert created.exit_code == 0, created.output
    secret = created.output.split("secret (shown once): ", 1)[1].strip()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as session:
        assert service.actor_for_api_key(session, secret).org_id == "wh1"
        key_id = session.scalars(select(ApiKey.id)).one()
    revoked = run("apikey", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked api key" in revoked.output
    with factory() as session:
        assert session.get(ApiKey, key_id).revoked_at is not None  # type: ignore[union-attr]
    engine.dispose()


def test_revoking_an_unknown_api_key_exits_1(db_url: str) -> None:
    result = run("apikey", "revoke", "f" * 32)
    assert result.exit_code == 1
    assert "api_key_not_found" in result.output
