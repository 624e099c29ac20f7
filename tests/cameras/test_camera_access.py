"""Who may register, see and report on cameras: operators, lien banks, and their own devices."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pledge.parties import OrgKind, Role
from services.cameras.registry import store_frame
from services.uow import SqlUnitOfWork
from tests.api.conftest import make_service, problem_of
from tests.api.story_steps import Parties, add_org, add_user, expect, parties
from tests.cameras.camera_world import (
    Watched,
    alerts_of,
    change_body,
    device_key,
    register_camera,
    watched_deal,
    watched_site,
)
from tests.cameras.conftest import _with_store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Parties, Watched]]:
    """One SQLite service with a watched pledged bay, shared by the refusals below."""
    folder = tmp_path_factory.mktemp("cameras")
    services = _with_store(make_service(f"sqlite:///{folder / 'db.sqlite3'}", folder), folder)
    service = next(services)
    who = parties(service)
    yield service, who, watched_deal(service, who)
    services.close()


def test_the_operator_registers_cameras_and_refusals_change_nothing(world: Any) -> None:
    service, who, watched = world
    client = service.client
    wid = watched.site.warehouse["id"]
    body = {"camera_id": watched.camera_id, "url": "rtsp://10.0.0.5/stream1"}

    again = client.post(f"/warehouses/{wid}/cameras", headers=who.wh, json=body)
    bad_url = client.post(
        f"/warehouses/{wid}/cameras", headers=who.wh, json={**body, "camera_id": "c2", "url": "x"}
    )
    by_bank = client.post(f"/warehouses/{wid}/cameras", headers=who.bank1, json=body)
    elsewhere = client.post("/warehouses/" + "0" * 32 + "/cameras", headers=who.wh, json=body)

    assert (again.status_code, problem_of(again)["code"]) == (409, "camera_exists")
    assert (bad_url.status_code, problem_of(bad_url)["code"]) == (422, "invalid_camera_url")
    assert by_bank.status_code == 403
    assert elsewhere.status_code == 404
    assert service.count("cameras") == 1


def test_cameras_are_listed_to_their_operator_and_to_banks_lending_against_their_bays(
    world: Any,
) -> None:
    service, who, watched = world
    client = service.client

    def ids(headers: dict[str, str], **params: str) -> list[str]:
        return [
            c["id"] for c in expect(client.get("/cameras", headers=headers, params=params), 200)
        ]

    assert ids(who.wh) == [watched.camera_id]
    assert ids(who.wh, warehouse_id=watched.site.warehouse["id"]) == [watched.camera_id]
    assert ids(who.bank1) == [watched.camera_id]
    assert ids(who.bank2) == []
    assert client.get("/cameras", headers=who.sme).status_code == 403


def test_the_latest_frame_is_shown_to_the_parties_only(world: Any) -> None:
    service, who, watched = world
    client = service.client
    url = f"/cameras/{watched.camera_id}/frame.jpg"
    assert problem_of(client.get(url, headers=who.wh))["code"] == "frame_not_found"
    jpeg = b"\xff\xd8" + b"frame" * 10 + b"\xff\xd9"
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        store_frame(uow, watched.camera_id, jpeg, datetime.now(UTC))

    for headers in (who.wh, who.bank1):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200 and resp.content == jpeg
        assert resp.headers["content-type"] == "image/jpeg"
    hidden = client.get(url, headers=who.bank2)
    assert (hidden.status_code, problem_of(hidden)["code"]) == (404, "camera_not_found")


def test_vision_reports_need_a_camera_key_bound_to_the_cameras_own_warehouse(world: Any) -> None:
    service, who, watched = world
    client = service.client
    body = change_body(watched)
    southport = add_org(
        service,
        "southport",
        OrgKind.WAREHOUSE,
        "SouthportMSP",
        "south.officer",
        (Role.OFFICER, Role.ADMIN),
    )
    south = Parties(southport, who.bank1, who.bank2, who.sme, who.auditor)
    south_site = watched_site(client, south, "s1")
    register_camera(client, south, south_site, "s1")
    foreign_device = device_key(client, southport, south_site.warehouse["id"])
    other_shed = watched_site(client, who, "elsewhere")
    unbound = device_key(client, who.wh)
    other_warehouse = device_key(client, who.wh, other_shed.warehouse["id"])
    sme_device = device_key(client, who.sme)
    admin = add_user(service, "northport", "north.admin", (Role.ADMIN,))
    officer = add_user(service, "northport", "north.clerk", (Role.OFFICER,))
    before = service.count("evidence")
    tamper = {
        "camera_id": watched.camera_id,
        "at": datetime.now(UTC).isoformat(),
        "kind": "signal_loss",
        "active": True,
        "measure": 9.0,
    }

    def post(path: str, headers: dict[str, str] | None, json: dict[str, Any]) -> tuple[int, str]:
        resp = client.post(path, headers=headers, json=json)
        return resp.status_code, problem_of(resp)["code"]

    assert {
        "no key": post("/vision/events", None, body),
        "person": post("/vision/events", officer, body),
        "admin person": post("/vision/events", admin, body),
        "sme device": post("/vision/events", sme_device, body),
        "other org": post("/vision/events", foreign_device, body),
        "other org tamper": post("/vision/tamper", foreign_device, tamper),
        "unbound": post("/vision/events", unbound, body),
        "other warehouse": post("/vision/events", other_warehouse, body),
        "other warehouse tamper": post("/vision/tamper", other_warehouse, tamper),
    } == {
        "no key": (401, "missing_credentials"),
        "person": (403, "missing_role"),
        "admin person": (403, "not_a_camera_device"),
        "sme device": (403, "wrong_org_kind"),
        "other org": (404, "camera_not_found"),
        "other org tamper": (404, "camera_not_found"),
        "unbound": (403, "device_not_bound"),
        "other warehouse": (403, "device_wrong_warehouse"),
        "other warehouse tamper": (403, "device_wrong_warehouse"),
    }
    assert service.count("evidence") == before
    assert alerts_of(service, who.wh, "camera_offline") == []
    # Southport's own camera is theirs to see and to report on.
    assert [c["id"] for c in expect(client.get("/cameras", headers=southport), 200)] == ["s1"]
    tamper["camera_id"] = "s1"
    assert client.post("/vision/tamper", headers=foreign_device, json=tamper).status_code == 201


def test_evidence_that_does_not_match_its_signature_or_key_is_refused(world: Any) -> None:
    service, _, watched = world
    client = service.client
    before = service.count("evidence")

    forged = change_body(watched)
    forged["evidence"]["signature"] = base64.b64encode(b"\x00" * 64).decode()
    swapped = change_body(watched)
    swapped["evidence"]["snapshot_b64"] = base64.b64encode(b"\xff\xd8another picture").decode()
    unknown = change_body(watched)
    unknown["evidence"]["key_id"] = "f" * 32
    unknown["evidence"]["manifest"]["key_id"] = "f" * 32

    codes = {
        name: problem_of(client.post("/vision/events", headers=watched.device, json=body))["code"]
        for name, body in (("forged", forged), ("swapped", swapped), ("unknown", unknown))
    }
    assert codes == {
        "forged": "bad_evidence_signature",
        "swapped": "evidence_hash_mismatch",
        "unknown": "unknown_worker_key",
    }
    assert service.count("evidence") == before


def test_evidence_is_seen_only_by_the_parties_to_its_bay(world: Any) -> None:
    service, who, watched = world
    client = service.client
    out = expect(
        client.post("/vision/events", headers=watched.device, json=change_body(watched)), 201
    )
    eid = out["evidence_id"]

    for headers in (who.wh, who.bank1):
        assert client.get(f"/evidence/{eid}", headers=headers).status_code == 200
    for path in (f"/evidence/{eid}", f"/evidence/{eid}/snapshot.jpg", f"/evidence/{eid}/clip.mp4"):
        resp = client.get(path, headers=who.bank2)
        assert (resp.status_code, problem_of(resp)["code"]) == (404, "evidence_not_found")
    assert client.post(f"/evidence/{eid}/verify", headers=who.bank2).status_code == 404
    assert client.get(f"/evidence/{eid}", headers=who.sme).status_code == 403
    assert client.get(f"/evidence/{eid}", headers=watched.device).status_code == 403


def test_only_a_lien_bank_asks_for_a_live_check(world: Any) -> None:
    service, who, watched = world
    client = service.client
    url = f"/bays/{watched.bay_id}/live-checks"

    other_bank = client.post(url, headers=who.bank2, json={"nonce": "abcd1234"})
    operator = client.post(url, headers=who.wh, json={"nonce": "abcd1234"})
    bad_nonce = client.post(url, headers=who.bank1, json={"nonce": "no spaces allowed"})

    assert (other_bank.status_code, problem_of(other_bank)["code"]) == (404, "bay_not_found")
    assert operator.status_code == 403
    assert (bad_nonce.status_code, problem_of(bad_nonce)["code"]) == (422, "invalid_nonce")
    assert service.count("live_checks") == 0
