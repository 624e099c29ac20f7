"""The require and require_any guards, on throwaway routes added to the test app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from pledge.parties import Actor, OrgKind, Role
from services.api.security import require, require_any

Login = Callable[..., dict[str, str]]


@pytest.fixture
def guarded(app: FastAPI) -> FastAPI:
    """Add one route per guard under test; each answers with the caller's org."""

    @app.get("/t/bank-officer")
    def bank_officer(actor: Annotated[Actor, Depends(require(OrgKind.BANK))]) -> str:
        return actor.org_id

    @app.get("/t/any-admin")
    def any_admin(actor: Annotated[Actor, Depends(require(role=Role.ADMIN))]) -> str:
        return actor.org_id

    @app.get("/t/bank-or-auditor")
    def bank_or_auditor(
        actor: Annotated[Actor, Depends(require_any(OrgKind.BANK, OrgKind.AUDITOR))],
    ) -> str:
        return actor.org_id

    @app.get("/t/warehouse-device")
    def warehouse_device(
        actor: Annotated[Actor, Depends(require_any(OrgKind.WAREHOUSE, role=Role.DEVICE))],
    ) -> str:
        return actor.org_id

    return app


def _device_key(client: TestClient, login: Login) -> dict[str, str]:
    created = client.post(
        "/orgs/me/api-keys",
        json={"name": "reader", "purpose": "reader"},
        headers=login("wh-admin"),
    )
    return {"X-API-Key": created.json()["secret"]}


def test_a_bank_officer_passes_the_bank_officer_guard(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    response = client.get("/t/bank-officer", headers=login("bank-officer"))
    assert (response.status_code, response.json()) == (200, "bank1")


def test_a_warehouse_admin_is_refused_by_a_bank_guard(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    response = client.get("/t/bank-officer", headers=login("wh-admin"))
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_org_kind"


def test_an_admin_guard_without_kind_admits_admins_of_any_org(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    assert client.get("/t/any-admin", headers=login("wh-admin")).status_code == 200
    assert client.get("/t/any-admin", headers=login("bank-admin")).status_code == 200
    refused = client.get("/t/any-admin", headers=login("bank-officer"))
    assert (refused.status_code, refused.json()["code"]) == (403, "missing_role")


def test_require_any_admits_listed_kinds_and_refuses_devices(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    assert client.get("/t/bank-or-auditor", headers=login("bank-officer")).status_code == 200
    assert client.get("/t/bank-or-auditor", headers=login("wh-admin")).status_code == 403


def test_a_device_reaches_only_routes_that_ask_for_devices(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    device = _device_key(client, login)
    assert client.get("/t/warehouse-device", headers=device).status_code == 200
    assert client.get("/t/any-admin", headers=device).status_code == 403
    assert client.get("/t/bank-officer", headers=device).status_code == 403


def test_sending_both_a_token_and_an_api_key_is_refused(
    guarded: FastAPI, client: TestClient, login: Login
) -> None:
    headers = {**login("wh-admin"), **_device_key(client, login)}
    response = client.get("/t/warehouse-device", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "ambiguous_credentials"
