"""Signing in and asking who one is over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient

Login = Callable[..., dict[str, str]]


def test_signing_in_returns_a_bearer_token_and_its_lifetime(
    client: TestClient, password: str
) -> None:
    response = client.post("/auth/token", data={"username": "bank-officer", "password": password})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["org"] == "bank1"
    assert claims["roles"] == ["officer"]


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(
    client: TestClient, password: str
) -> None:
    wrong = client.post("/auth/token", data={"username": "bank-officer", "password": "nope" * 3})
    unknown = client.post("/auth/token", data={"username": "ghost", "password": password})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "bad_credentials"


def test_me_describes_the_signed_in_user(client: TestClient, login: Login) -> None:
    response = client.get("/auth/me", headers=login("bank-officer"))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "bank-officer"
    assert body["org"] == {"id": "bank1", "name": "First Bank", "kind": "bank"}
    assert body["roles"] == ["officer"]


def test_me_without_credentials_is_401(client: TestClient) -> None:
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "missing_credentials"


def test_me_with_a_garbage_token_is_401(client: TestClient) -> None:
    response = client.get("/auth/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_an_api_key_authenticates_as_a_device_of_its_org(client: TestClient, login: Login) -> None:
    admin = login("wh-admin")
    created = client.post(
        "/orgs/me/api-keys", json={"name": "bay 3 camera", "purpose": "camera"}, headers=admin
    ).json()
    response = client.get("/auth/me", headers={"X-API-Key": created["secret"]})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] is None
    assert body["org"]["id"] == "wh1"
    assert body["roles"] == ["device"]


def test_a_revoked_api_key_is_401(client: TestClient, login: Login) -> None:
    admin = login("wh-admin")
    created = client.post(
        "/orgs/me/api-keys", json={"name": "reader", "purpose": "reader"}, headers=admin
    ).json()
    assert client.delete(f"/orgs/me/api-keys/{created['id']}", headers=admin).status_code == 204
    response = client.get("/auth/me", headers={"X-API-Key": created["secret"]})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_the_openapi_document_shows_the_password_flow(app: FastAPI) -> None:
    schemes = app.openapi()["components"]["securitySchemes"]
    flows = [s["flows"] for s in schemes.values() if s["type"] == "oauth2"]
    assert flows == [{"password": {"scopes": {}, "tokenUrl": "/auth/token"}}]
    assert any(s.get("name") == "X-API-Key" for s in schemes.values())
