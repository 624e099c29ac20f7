"""A tampered camera is an alert per kind and values its bays at nothing; an offline one at 80 %."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.api.story_steps import expect, parties
from tests.cameras.camera_world import alerts_of, tamper_body, watched_deal
from vision.stages import TamperKind


def _valuation_line(service: Any, who: Any, loan_id: str) -> dict[str, Any]:
    body = expect(service.client.get(f"/loans/{loan_id}/valuation", headers=who.bank1), 200)
    line: dict[str, Any] = body["lines"][0]
    return line


def _tamper(service: Any, world: Any, kind: TamperKind, active: bool = True) -> dict[str, Any]:
    body = tamper_body(world, kind, active)
    out: dict[str, Any] = expect(
        service.client.post("/vision/tamper", headers=world.device, json=body), 201
    )
    return out


def test_a_covered_camera_alerts_both_parties_and_its_bay_counts_nothing_until_resolved(
    service: Any,
) -> None:
    who = parties(service)
    world = watched_deal(service, who)
    assert _valuation_line(service, who, world.loan["id"])["monitoring"] == "monitored"

    out = _tamper(service, world, TamperKind.COVERED)

    [bank_alert] = alerts_of(service, who.bank1, "camera_tamper")
    [wh_alert] = alerts_of(service, who.wh, "camera_tamper")
    assert bank_alert["subject"]["bay_ids"] == world.bay_id
    assert wh_alert["subject"]["camera_id"] == world.camera_id
    assert wh_alert["subject"]["kind"] == "covered"
    assert {e["kind"] for e in bank_alert["evidence"]} == {"snapshot", "clip"}
    assert out["evidence_id"]
    line = _valuation_line(service, who, world.loan["id"])
    assert line["monitoring"] == "tampered"
    assert Decimal(line["verified_quantity"]) == 0
    # Revalued at once: with nothing verified the loan is past its margin-call threshold.
    loan = expect(service.client.get(f"/loans/{world.loan['id']}", headers=who.bank1), 200)
    assert loan["status"] == "margin_call"
    assert alerts_of(service, who.bank1, "margin_call")

    # The camera looks normal again: the alert stays, the stock must be checked by a person.
    _tamper(service, world, TamperKind.COVERED, active=False)
    assert alerts_of(service, who.wh, "camera_tamper")[0]["state"] == "open"
    assert _valuation_line(service, who, world.loan["id"])["monitoring"] == "tampered"
    for headers in (who.wh, who.bank1):
        [alert] = alerts_of(service, headers, "camera_tamper")
        expect(
            service.client.post(
                f"/alerts/{alert['id']}/resolve", headers=headers, json={"note": "recounted"}
            ),
            200,
        )
    assert _valuation_line(service, who, world.loan["id"])["monitoring"] == "monitored"


def test_each_tamper_kind_is_its_own_alert_and_a_repeat_folds_into_it(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)

    _tamper(service, world, TamperKind.COVERED)
    _tamper(service, world, TamperKind.MOVED)
    _tamper(service, world, TamperKind.MOVED)

    alerts = alerts_of(service, who.wh, "camera_tamper")
    assert sorted(a["subject"]["kind"] for a in alerts) == ["covered", "moved"]
    moved = next(a for a in alerts if a["subject"]["kind"] == "moved")
    assert moved["occurrences"] == 2


def test_signal_loss_is_a_camera_offline_alert_that_settles_when_frames_return(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)

    out = _tamper(service, world, TamperKind.SIGNAL_LOSS)

    assert out["evidence_id"] is None
    [alert] = alerts_of(service, who.bank1, "camera_offline")
    assert alert["state"] == "open"
    line = _valuation_line(service, who, world.loan["id"])
    assert line["monitoring"] == "unmonitored"
    assert Decimal(line["verified_quantity"]) == Decimal(80)
    cameras = expect(service.client.get("/cameras", headers=who.wh), 200)
    assert [c["status"] for c in cameras if c["id"] == world.camera_id] == ["offline"]

    _tamper(service, world, TamperKind.SIGNAL_LOSS, active=False)

    [alert] = alerts_of(service, who.bank1, "camera_offline")
    assert alert["state"] == "resolved"
    assert _valuation_line(service, who, world.loan["id"])["monitoring"] == "monitored"


def test_a_tamper_finding_without_evidence_is_refused(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    body = tamper_body(world, TamperKind.FROZEN)
    body["evidence"] = None

    resp = service.client.post("/vision/tamper", headers=world.device, json=body)

    assert resp.status_code == 422
    assert resp.json()["code"] == "evidence_required"
    assert alerts_of(service, who.wh, "camera_tamper") == []
