"""A margin call's alert follows the loan: critical past liquidation, closed when cured."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Service
from tests.api.story_steps import active_loan, expect, key, parties, price


def margin_alerts(service: Service, headers: dict[str, str], loan_id: str) -> list[dict[str, Any]]:
    """The bank's margin-call alerts about one loan."""
    page = expect(
        service.client.get("/alerts", headers=headers, params={"type": "margin_call"}), 200
    )
    return [a for a in page["items"] if a["subject"].get("loan_id") == loan_id]


def test_the_alert_turns_critical_past_liquidation_and_closes_when_the_price_recovers(
    sqlite_service: Service,
) -> None:
    client = sqlite_service.client
    who = parties(sqlite_service)
    loan_id = active_loan(client, who).loan["id"]

    price(client, who.bank1, "9000")  # 603,000 on 720,000: LTV 0.84, a margin call
    [called] = margin_alerts(sqlite_service, who.bank1, loan_id)
    assert (called["state"], called["severity"]) == ("open", "warning")

    price(client, who.bank1, "8000")  # 603,000 on 640,000: 0.94, past liquidation
    [worse] = margin_alerts(sqlite_service, who.bank1, loan_id)
    assert worse["id"] == called["id"]
    assert worse["severity"] == "critical"

    price(client, who.bank1, "12000")  # 603,000 on 960,000: back to 0.63
    [cured] = margin_alerts(sqlite_service, who.bank1, loan_id)
    assert cured["state"] == "resolved"
    assert "back under" in cured["resolution_note"]
    loan = expect(client.get(f"/loans/{loan_id}", headers=who.bank1), 200)
    assert loan["status"] == "active"


def test_repaying_a_called_loan_closes_its_alert(sqlite_service: Service) -> None:
    client = sqlite_service.client
    who = parties(sqlite_service)
    loan_id = active_loan(client, who).loan["id"]
    price(client, who.bank1, "9000")
    called = expect(client.get(f"/loans/{loan_id}", headers=who.sme), 200)
    assert called["status"] == "margin_call"

    expect(
        client.post(
            f"/loans/{loan_id}/repayments",
            headers={**who.sme, **key()},
            json={"amount": str(called["outstanding"])},
        ),
        202,
    )
    [alert] = margin_alerts(sqlite_service, who.bank1, loan_id)
    assert alert["state"] == "resolved"
    assert alert["resolution_note"] == "the loan was repaid"
