"""Settings from the environment, and the start-up refusal of weak secrets outside dev mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.settings import (
    DEV_JWT_SECRET,
    DEV_LIEN_KEY_SECRET,
    DEV_SALT_SECRET,
    LedgerKind,
    Mode,
    Settings,
    get_settings,
)

DEV_SECRET_NAMES = ("auth.jwt_secret", "ledger.lien_key_secret", "ledger.commitment_salt")
STRONG = {
    "PLEDGEWATCH_AUTH__JWT_SECRET": "j" * 48,
    "PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET": "l" * 40,
    "PLEDGEWATCH_LEDGER__COMMITMENT_SALT": "c" * 32,
}


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No PLEDGEWATCH_* variables, no .env file, and a fresh settings cache."""
    for name in list(os.environ):
        if name.startswith("PLEDGEWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def production_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """The message production start-up refuses these settings with."""
    monkeypatch.setenv("PLEDGEWATCH_MODE", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    return str(refused.value)


def test_without_environment_the_embedded_sqlite_defaults_apply() -> None:
    settings = Settings()

    assert settings.mode is Mode.DEV
    assert settings.db.url.startswith("sqlite:///")
    assert settings.ledger.kind is LedgerKind.EMBEDDED


def test_nested_environment_variables_override_the_database_url_and_ledger_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://pledgewatch@db.internal:5432/pledgewatch"
    monkeypatch.setenv("PLEDGEWATCH_DB__URL", url)
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KIND", "fabric")
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KEY_DIR", "keys-elsewhere")

    settings = get_settings()

    assert settings.db.url == url
    assert settings.ledger.kind is LedgerKind.FABRIC
    assert settings.ledger.key_dir == Path("keys-elsewhere")
    assert get_settings() is settings, "settings are read once per process"


def test_an_unknown_ledger_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KIND", "blockchain-of-the-month")

    with pytest.raises(ValidationError, match="kind"):
        Settings()


def test_production_refuses_the_built_in_dev_secrets_naming_each_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = production_error(monkeypatch)

    assert "built-in dev secrets" in message
    for name in DEV_SECRET_NAMES:
        assert name in message


def test_production_names_only_the_dev_secrets_still_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = production_error(
        monkeypatch,
        PLEDGEWATCH_AUTH__JWT_SECRET=STRONG["PLEDGEWATCH_AUTH__JWT_SECRET"],
        PLEDGEWATCH_LEDGER__COMMITMENT_SALT=STRONG["PLEDGEWATCH_LEDGER__COMMITMENT_SALT"],
    )

    assert "ledger.lien_key_secret" in message
    assert "auth.jwt_secret" not in message
    assert "ledger.commitment_salt" not in message


def test_production_refuses_secrets_shorter_than_32_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = production_error(
        monkeypatch,
        PLEDGEWATCH_AUTH__JWT_SECRET="short-but-not-the-default",
        PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET="x" * 31,
        PLEDGEWATCH_LEDGER__COMMITMENT_SALT=STRONG["PLEDGEWATCH_LEDGER__COMMITMENT_SALT"],
    )

    assert "at least 32 characters" in message
    assert "auth.jwt_secret" in message
    assert "ledger.lien_key_secret" in message
    assert "ledger.commitment_salt" not in message


def test_production_starts_with_strong_secrets_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLEDGEWATCH_MODE", "production")
    for name, value in STRONG.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.mode is Mode.PRODUCTION
    assert settings.auth.jwt_secret == STRONG["PLEDGEWATCH_AUTH__JWT_SECRET"]
    assert settings.ledger.lien_key_secret == STRONG["PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET"]


def test_dev_mode_accepts_the_built_in_and_short_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings()
    monkeypatch.setenv("PLEDGEWATCH_AUTH__JWT_SECRET", "short")

    short = Settings()

    assert defaults.mode is Mode.DEV
    assert (
        defaults.auth.jwt_secret,
        defaults.ledger.lien_key_secret,
        defaults.ledger.commitment_salt,
    ) == (DEV_JWT_SECRET, DEV_LIEN_KEY_SECRET, DEV_SALT_SECRET)
    assert short.auth.jwt_secret == "short"
