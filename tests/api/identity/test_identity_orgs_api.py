"""The caller's own organisation over HTTP: users and API keys, scoped and admin-only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

Login = Callable[..., dict[str, str]]


def test_an_org_member_sees_their_own_org(client: TestClient, login: Login) -> None:
    response = client.get("/orgs/me", headers=login("bank-officer"))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["kind"], body["msp_id"]) == ("bank1", "bank", "Bank1MSP")


def test_an_admin_lists_only_their_orgs_users_without_hashes(
    client: TestClient, login: Login
) -> None:
    response = client.get("/orgs/me/users", headers=login("bank-admin"))
    assert response.status_code == 200
    users = response.json()
    assert [user["username"] for user in users] == ["bank-admin", "bank-officer"]
    assert all("password_hash" not in user for user in users)


def test_an_officer_may_not_list_users(client: TestClient, login: Login) -> None:
    response = client.get("/orgs/me/users", headers=login("bank-officer"))
    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_an_admin_creates_a_user_who_can_then_sign_in(client: TestClient, login: Login) -> None:
    response = client.post(
        "/orgs/me/users",
        json={"username": "new-viewer", "password": "fresh password 1", "roles": ["viewer"]},
        headers=login("bank-admin"),
    )
    assert response.status_code == 201
    assert response.json()["roles"] == ["viewer"]
    assert "password" not in response.text
    me = client.get("/auth/me", headers=login("new-viewer", "fresh password 1")).json()
    assert me["org"]["id"] == "bank1"


def test_an_officer_may_not_create_users(client: TestClient, login: Login, password: str) -> None:
    response = client.post(
        "/orgs/me/users",
        json={"username": "sneaky", "password": password, "roles": ["admin"]},
        headers=login("bank-officer"),
    )
    assert response.status_code == 403


def test_a_device_key_may_not_create_users(client: TestClient, login: Login, password: str) -> None:
    admin = login("bank-admin")
    secret = client.post(
        "/orgs/me/api-keys", json={"name": "r1", "purpose": "reader"}, headers=admin
    ).json()["secret"]
    response = client.post(
        "/orgs/me/users",
        json={"username": "sneaky", "password": password, "roles": ["admin"]},
        headers={"X-API-Key": secret},
    )
    assert response.status_code == 403


def test_an_org_id_in_the_new_user_body_is_refused(
    client: TestClient, login: Login, password: str
) -> None:
    response = client.post(
        "/orgs/me/users",
        json={"username": "planted", "password": password, "roles": ["admin"], "org_id": "wh1"},
        headers=login("bank-admin"),
    )
    assert response.status_code == 422
    users = client.get("/orgs/me/users", headers=login("wh-admin")).json()
    assert "planted" not in [user["username"] for user in users]


def test_a_weak_password_is_422_and_a_taken_username_is_409(
    client: TestClient, login: Login, password: str
) -> None:
    admin = login("bank-admin")
    weak = client.post(
        "/orgs/me/users",
        json={"username": "weakling", "password": "short", "roles": ["viewer"]},
        headers=admin,
    )
    taken = client.post(
        "/orgs/me/users",
        json={"username": "wh-admin", "password": password, "roles": ["viewer"]},
        headers=admin,
    )
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    assert (taken.status_code, taken.json()["code"]) == (409, "username_taken")


def test_an_api_key_secret_is_shown_once_and_never_listed(client: TestClient, login: Login) -> None:
    admin = login("wh-admin")
    created = client.post(
        "/orgs/me/api-keys", json={"name": "gate reader", "purpose": "reader"}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith(f"pw_{body['prefix']}_")
    assert "key_hash" not in body
    listed = client.get("/orgs/me/api-keys", headers=admin).json()
    assert [key["id"] for key in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "key_hash" not in listed[0]


def test_revoking_another_orgs_api_key_is_404_and_leaves_it_working(
    client: TestClient, login: Login
) -> None:
    created = client.post(
        "/orgs/me/api-keys",
        json={"name": "bay camera", "purpose": "camera"},
        headers=login("wh-admin"),
    ).json()
    response = client.delete(f"/orgs/me/api-keys/{created['id']}", headers=login("bank-admin"))
    assert response.status_code == 404
    assert client.get("/auth/me", headers={"X-API-Key": created["secret"]}).status_code == 200


def test_revoking_a_missing_api_key_is_404(client: TestClient, login: Login) -> None:
    response = client.delete("/orgs/me/api-keys/" + "0" * 32, headers=login("wh-admin"))
    assert response.status_code == 404
