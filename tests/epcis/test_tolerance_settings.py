"""Tolerance bands per commodity come from settings (PLEDGEWATCH_RECONCILE__*), validated."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from pledge.reconcile import EXACT, Tolerance, tolerance_for
from services.bootstrap import build_container
from services.settings import Settings
from tests.api.conftest import Service
from tests.api.story_steps import CATHODE, COIL, goods, parties
from tests.epcis.test_reconciliation_api import STOCK, mismatch_events, reconcile, watched


def test_bands_are_read_from_the_environment_with_a_default_for_other_commodities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLEDGEWATCH_RECONCILE__TOLERANCES", f'{{"{COIL}": {{"absolute": "1"}}}}')
    monkeypatch.setenv("PLEDGEWATCH_RECONCILE__DEFAULT_TOLERANCE", '{"relative": "0.02"}')
    settings = Settings(_env_file=None, db={"url": "sqlite://"})  # type: ignore[call-arg]
    container = build_container(settings)
    try:
        bands = container.reconcile_tolerances()
    finally:
        container.close()
    assert tolerance_for(bands, COIL) == Tolerance(absolute=Decimal(1))
    assert tolerance_for(bands, CATHODE) == Tolerance(relative=Decimal("0.02"))
    assert tolerance_for(bands, CATHODE).allowed(Decimal(500)) == Decimal("10.00")


def test_no_configured_band_means_exact_agreement() -> None:
    container = build_container(Settings(_env_file=None, db={"url": "sqlite://"}))  # type: ignore[call-arg]
    try:
        assert tolerance_for(container.reconcile_tolerances(), COIL) == EXACT
    finally:
        container.close()


@pytest.mark.parametrize(
    ("tolerances", "complaint"),
    [
        ({COIL: {"relative": "1.5"}}, "less than 1"),
        ({COIL: {"absolute": "-2"}}, "greater than or equal to 0"),
        ({COIL: {"absolut": "2"}}, "Extra inputs are not permitted"),
        ({" ": {"absolute": "2"}}, "must not be blank"),
        ({COIL: {"absolute": "lots"}}, "decimal"),
    ],
    ids=["relative of 1 or more", "negative", "misspelt field", "blank commodity", "not a number"],
)
def test_a_bad_band_is_refused_at_start_up(tolerances: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate({"reconcile": {"tolerances": tolerances}})
    assert complaint in str(raised.value)


def test_a_configured_band_keeps_counts_within_it_from_freezing_the_bay(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    who = parties(service)
    stock = goods(service.client, who, quantity=STOCK)
    service.container.settings.reconcile = Settings.model_validate(
        {"reconcile": {"tolerances": {COIL: {"absolute": "2"}}}}
    ).reconcile
    watched(service, stock, tags=STOCK - 2, camera=STOCK + 1)
    [verdict] = reconcile(service, who.wh, stock)
    assert verdict["mismatch"] is False and verdict["allowed"] == "2"
    assert mismatch_events(service, who.wh) == []

    # One coil more astray than the band allows is a mismatch again.
    watched(service, stock, tags=STOCK - 3, camera=STOCK)
    [verdict] = reconcile(service, who.wh, stock)
    assert verdict["mismatch"] is True
