"""Alerts through the API: raised once per incident, handled by role, escalated, margin calls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pledge.alert_service import escalate_overdue
from pledge.parties import Role
from services.uow import SqlUnitOfWork
from tests.alerts.alert_helpers import T0, movement
from tests.api.conftest import Service, problem_of
from tests.api.story_steps import active_loan, add_user, expect, parties, price


@pytest.mark.postgres
def test_an_alert_is_deduplicated_acknowledged_and_resolved(service: Service) -> None:
    who = parties(service)
    client = service.client
    first = movement(service, "bank1", "northport", epcs=("E1",))
    again = movement(service, "bank1", epcs=("E2",), now=T0 + timedelta(seconds=30))
    assert again[0].id == first[0].id

    page = expect(client.get("/alerts", headers=who.bank1), 200)
    assert page["total"] == 1
    alert = page["items"][0]
    assert (alert["type"], alert["severity"], alert["state"]) == (
        "unauthorised_movement",
        "critical",
        "open",
    )
    assert alert["occurrences"] == 2
    assert alert["subject"]["epcs"] == "E2"
    assert alert["evidence"][0]["sha256"] == "ab" * 32
    assert expect(client.get("/alerts", headers=who.wh), 200)["total"] == 1

    url = f"/alerts/{alert['id']}"
    acked = expect(client.post(f"{url}/acknowledge", headers=who.bank1), 200)
    assert acked["state"] == "acknowledged" and acked["acknowledged_at"]
    assert problem_of(client.post(f"{url}/acknowledge", headers=who.bank1))["status"] == 409
    assert problem_of(client.post(f"{url}/resolve", headers=who.bank1, json={"note": ""}))[
        "code"
    ] == ("validation_error")
    done = expect(
        client.post(f"{url}/resolve", headers=who.bank1, json={"note": "truck turned back"}), 200
    )
    assert (done["state"], done["resolution_note"]) == ("resolved", "truck turned back")
    assert expect(client.get(url, headers=who.bank1), 200)["state"] == "resolved"

    # The same incident after resolution is a new alert, not a repeat of the closed one.
    fresh = movement(service, "bank1", now=T0 + timedelta(hours=2))
    assert fresh[0].id != alert["id"]
    by_state = client.get("/alerts", headers=who.bank1, params={"state": "open"})
    assert [a["id"] for a in expect(by_state, 200)["items"]] == [fresh[0].id]


def test_another_org_gets_404_and_an_sme_or_a_viewer_gets_403(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    client = sqlite_service.client
    viewer = add_user(sqlite_service, "bank1", "bank1.viewer", (Role.VIEWER,))
    alert_id = movement(sqlite_service, "bank1")[0].id
    url = f"/alerts/{alert_id}"

    assert problem_of(client.get(url, headers=who.bank2))["code"] == "alert_not_found"
    resp = client.post(f"{url}/acknowledge", headers=who.bank2)
    assert (resp.status_code, problem_of(resp)["code"]) == (404, "alert_not_found")
    assert client.post(f"{url}/acknowledge", headers=who.sme).status_code == 403
    assert client.post(f"{url}/acknowledge", headers=viewer).status_code == 403
    note = {"note": "not mine"}
    assert client.post(f"{url}/resolve", headers=viewer, json=note).status_code == 403
    assert client.post(f"{url}/resolve", headers=who.bank2, json=note).status_code == 404
    # A viewer reads what an officer handles.
    assert expect(client.get(url, headers=viewer), 200)["state"] == "open"
    assert expect(client.get("/alerts", headers=who.bank2), 200)["total"] == 0


def test_an_unacknowledged_alert_escalates_after_its_delay(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    handled, ignored = movement(sqlite_service, "bank1", "northport")
    acked = sqlite_service.client.post(f"/alerts/{handled.id}/acknowledge", headers=who.bank1)
    assert acked.status_code == 200
    factory = sqlite_service.container.session_factory

    with SqlUnitOfWork.start(factory) as uow:
        assert escalate_overdue(uow, T0 + timedelta(minutes=4)) == []
    with SqlUnitOfWork.start(factory) as uow:
        escalated = escalate_overdue(uow, T0 + timedelta(minutes=5))
    assert [a.id for a in escalated] == [ignored.id]

    mine = expect(sqlite_service.client.get(f"/alerts/{ignored.id}", headers=who.wh), 200)
    assert (mine["escalation_level"], mine["severity"]) == (1, "critical")
    theirs = expect(sqlite_service.client.get(f"/alerts/{handled.id}", headers=who.bank1), 200)
    assert theirs["escalation_level"] == 0


@pytest.mark.parametrize(("new_price", "severity"), [("9000", "warning"), ("8000", "critical")])
def test_a_price_drop_raises_a_margin_call_alert_for_the_lending_bank_only(
    sqlite_service: Service, new_price: str, severity: str
) -> None:
    who = parties(sqlite_service)
    client = sqlite_service.client
    deal = active_loan(client, who)
    assert expect(client.get("/alerts", headers=who.bank1), 200)["total"] == 0

    price(client, who.bank1, new_price)

    page = expect(client.get("/alerts", headers=who.bank1, params={"type": "margin_call"}), 200)
    assert page["total"] == 1
    alert = page["items"][0]
    assert alert["subject"] == {"loan_id": deal.loan["id"]}
    assert alert["severity"] == severity
    for other in (who.bank2, who.sme, who.wh):
        assert expect(client.get("/alerts", headers=other), 200)["total"] == 0
