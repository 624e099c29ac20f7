"""PLEDGEWATCH_LEDGER=fabric is the short way to pick the ledger adapter."""

from __future__ import annotations

import pytest

from services.settings import LedgerKind, Settings


def test_a_bare_ledger_kind_selects_the_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGEWATCH_LEDGER", "fabric")
    assert Settings().ledger.kind is LedgerKind.FABRIC


def test_the_shorthand_combines_with_nested_ledger_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLEDGEWATCH_LEDGER", "fabric")
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KEY_DIR", "keys-here")
    settings = Settings()
    assert settings.ledger.kind is LedgerKind.FABRIC
    assert str(settings.ledger.key_dir) == "keys-here"


def test_an_unknown_ledger_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGEWATCH_LEDGER__KIND", "paper")
    with pytest.raises(ValueError, match="kind"):
        Settings()
