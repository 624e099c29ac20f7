"""The `pledgewatch` command line against a real SQLite database and embedded ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration_world import FAST_HASHER, create_parties
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner, Result

from pledge import service as pledge
from pledge.parties import OrgKind, Role
from services.bootstrap import build_container
from services.cli import app
from services.db import make_engine, make_session_factory
from services.identity import passwords
from services.identity.tables import Org, User
from services.schema import load_metadata
from services.settings import get_settings
from services.uow import SqlUnitOfWork

RECEIPTS = 3


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI's settings at a fresh SQLite file and key folder under tmp_path."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    # Run from tmp_path so no .env of the working tree leaks into the settings.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLEDGEWATCH_DB__URL", url)
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("PLEDGEWATCH_MODE", "dev")
    # The demo and user creation hash passwords; cheap parameters keep them fast.
    monkeypatch.setattr(passwords, "DEFAULT_HASHER", FAST_HASHER)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*args: str) -> Result:
    """Invoke `pledgewatch ...` in process."""
    return CliRunner().invoke(app, list(args))


def flat(result: Result) -> str:
    """Everything the command printed, on one line, so terminal wrapping does not matter."""
    return " ".join(result.output.split())


def make_ledger_activity() -> int:
    """Receive a few lots through the configured service and pump their receipts to the ledger."""
    container = build_container(get_settings())
    try:
        parties = create_parties(container.session_factory)
        container.connect_ledger()
        wh = parties.warehouse
        ctx = container.context()
        with SqlUnitOfWork.start(container.session_factory) as uow:
            warehouse = pledge.create_warehouse(uow, wh, ctx, "NP1", "Main", "Quay 4")
        with SqlUnitOfWork.start(container.session_factory) as uow:
            bay = pledge.add_bay(uow, wh, ctx, warehouse.id, "B1", "Bay 1", {})
        with SqlUnitOfWork.start(container.session_factory) as uow:
            pledge.define_commodity(uow, wh, "STEEL", "Steel coils", "t", "0.001")
        for _ in range(RECEIPTS):
            with SqlUnitOfWork.start(container.session_factory) as uow:
                pledge.receive_lot(uow, wh, ctx, bay.id, "STEEL", "10", [], parties.sme.org_id)
        sent, _seen = container.pump()
        return sent
    finally:
        container.close()


def test_db_upgrade_migrates_the_configured_database(cli_db: str) -> None:
    result = run("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    engine = make_engine(cli_db)
    try:
        assert set(load_metadata().tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_ledger_verify_reports_ok_with_the_number_of_blocks(cli_db: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    # Each receipt is one block, and the EPCIS receiving event it records is anchored in another.
    blocks = 2 * RECEIPTS
    assert make_ledger_activity() == blocks

    result = run("ledger", "verify")

    assert result.exit_code == 0, result.output
    assert f"ledger OK: {blocks} blocks verified" in flat(result)


def test_ledger_verify_exits_1_naming_a_tampered_block(cli_db: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    make_ledger_activity()
    engine = make_engine(cli_db)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                text("UPDATE ledger_blocks SET args = :args WHERE number = 2"),
                {"args": '{"receipt_id":"forged"}'},
            )
            assert changed.rowcount == 1
    finally:
        engine.dispose()

    result = run("ledger", "verify")

    assert result.exit_code == 1, result.output
    assert "ledger BROKEN at block 2" in flat(result)
    assert "hash does not match" in flat(result)
    assert "1 blocks verified before it" in flat(result)


def test_org_create_and_user_create_write_to_the_migrated_database(cli_db: str) -> None:
    assert run("db", "upgrade").exit_code == 0

    org = run("org", "create", "bank9", "--name", "Ninth Bank", "--kind", "bank", "--msp", "B9MSP")
    user = run(
        "user", "create", "ada.officer", "--org", "bank9", "--role", "officer",
        "--role", "admin", "--password", "correct-horse-battery",
    )  # fmt: skip
    duplicate = run("org", "create", "bank9", "--name", "Again", "--kind", "bank", "--msp", "B9MSP")

    assert org.exit_code == 0, org.output
    assert "created org bank9 (bank, B9MSP)" in flat(org)
    assert user.exit_code == 0, user.output
    assert "created user ada.officer in bank9 (admin, officer)" in flat(user)
    assert duplicate.exit_code == 1
    assert "org_exists" in duplicate.output
    engine = make_engine(cli_db)
    try:
        with make_session_factory(engine)() as session:
            stored_org = session.get(Org, "bank9")
            stored_user = session.scalar(select(User).where(User.username == "ada.officer"))
            assert stored_org is not None
            assert (OrgKind(stored_org.kind), stored_org.msp_id) == (OrgKind.BANK, "B9MSP")
            assert stored_user is not None and stored_user.org_id == "bank9"
            assert sorted(stored_user.roles) == [Role.ADMIN.value, Role.OFFICER.value]
            assert passwords.verify_password(stored_user.password_hash, "correct-horse-battery")
            assert not passwords.verify_password(stored_user.password_hash, "wrong-password-1")
    finally:
        engine.dispose()


def test_demo_plays_the_story_in_process_and_prints_the_summary(cli_db: str) -> None:
    result = run("demo")

    assert result.exit_code == 0, result.output[-3000:]
    assert "What the story showed" in result.output
    assert "the story stopped" not in result.output


def test_ledger_audit_prints_json_and_exits_1_when_the_database_disagrees(cli_db: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    make_ledger_activity()

    agreed = run("ledger", "audit", "--json")

    assert agreed.exit_code == 0, agreed.output
    body = json.loads(agreed.stdout)
    assert body["ok"] is True and body["differences"] == []
    assert body["checked"]["receipt"] == RECEIPTS
    engine = make_engine(cli_db)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE receipts SET status = 'pledged'"))
    finally:
        engine.dispose()

    disagreed = run("ledger", "audit")

    assert disagreed.exit_code == 1, disagreed.output
    assert flat(disagreed).count("receipt ") == RECEIPTS
    assert "database 'pledged loan=-', ledger 'issued loan=-'" in flat(disagreed)


@pytest.mark.parametrize("command", ["verify", "audit"])
def test_ledger_commands_on_an_unmigrated_database_exit_2_and_say_so(
    cli_db: str, command: str
) -> None:
    result = run("ledger", command)

    assert result.exit_code == 2, result.output
    assert "the database cannot be read" in flat(result)
    assert "pledgewatch db upgrade" in flat(result)
    assert "Traceback" not in result.output
