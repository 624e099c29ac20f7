"""Access tokens expire, name their signing key, and survive a key rotation until they expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from pledge.parties import OrgKind, Role
from services.identity.tokens import issue_token, key_id
from services.settings import DEV_JWT_SECRET, Settings
from tests.api.conftest import problem_of
from tests.security.conftest import OLD_SECRET, SECRET, AppFor, settings_with, sign_in

STRONG = {
    "PLEDGEWATCH_MODE": "production",
    "PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET": "lien-" + "l" * 40,
    "PLEDGEWATCH_LEDGER__COMMITMENT_SALT": "salt-" + "s" * 40,
}


def token_of(client: TestClient, username: str = "alice") -> str:
    """Sign in and return the bearer token."""
    resp = sign_in(client, username)
    assert resp.status_code == 200, resp.text  # type: ignore[attr-defined]
    return str(resp.json()["access_token"])  # type: ignore[attr-defined]


def me(client: TestClient, token: str) -> Any:
    """GET /auth/me with a bearer token."""
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


def user_id_of(client: TestClient, token: str) -> str:
    """The user id a valid token names."""
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def alice_token(settings: Settings, client: TestClient, **kwargs: Any) -> str:
    """A token for alice, as the service would issue it under `settings`."""
    return issue_token(
        settings,
        user_id=user_id_of(client, token_of(client)),
        org_id="bank1",
        org_kind=OrgKind.BANK,
        msp_id="Bank1MSP",
        roles=[Role.OFFICER],
        **kwargs,
    )


def refused(resp: Any, code: str) -> None:
    """A 401 problem with the given code and a Bearer challenge."""
    assert resp.status_code == 401, resp.text
    assert problem_of(resp)["code"] == code
    assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_names_its_key_by_an_id_that_is_not_the_secret(
    app_for: AppFor, cheap_hashing: None
) -> None:
    with TestClient(app_for()) as client:
        token = token_of(client)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert header["kid"] == key_id(SECRET) != key_id(OLD_SECRET)
    assert SECRET not in header["kid"]


def test_an_expired_token_is_refused_with_401(app_for: AppFor, cheap_hashing: None) -> None:
    settings = settings_with()
    with TestClient(app_for(settings)) as client:
        issued = datetime.now(UTC) - timedelta(minutes=61)
        stale = alice_token(settings, client, now=issued, ttl=timedelta(minutes=60))
        fresh = alice_token(settings, client, now=issued, ttl=timedelta(minutes=62))
        refused(me(client, stale), "token_expired")
        assert me(client, fresh).status_code == 200


def test_tokens_of_the_previous_key_verify_during_rotation_and_not_after(
    app_for: AppFor, cheap_hashing: None
) -> None:
    before = settings_with(jwt_secret=OLD_SECRET)
    during = settings_with(jwt_secret=SECRET, jwt_previous_secrets=[OLD_SECRET])
    after = settings_with(jwt_secret=SECRET)
    with TestClient(app_for(before)) as old_app:
        old_token = token_of(old_app)
    with TestClient(app_for(during)) as rotating:
        assert me(rotating, old_token).json()["username"] == "alice"
        new_token = token_of(rotating)
        # New tokens are signed with the new key only.
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(SECRET)
        assert me(rotating, new_token).status_code == 200
    with TestClient(app_for(after)) as rotated:
        refused(me(rotated, old_token), "invalid_token")
        assert me(rotated, new_token).status_code == 200
    with TestClient(app_for(before)) as rolled_back:
        # A service still on the old key does not trust the new one.
        refused(me(rolled_back, new_token), "invalid_token")


def forged(token: str, secret: str, **header: Any) -> str:
    """Re-sign a token's claims with `secret` and the given header fields."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, secret, algorithm="HS256", headers=header or None)


def hand_signed(token: str, secret: str, header: dict[str, Any]) -> str:
    """Sign a token's claims under a header the JWT library would refuse to write."""

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    claims = jwt.decode(token, options={"verify_signature": False})
    signing_input = part(header) + b"." + part(claims)
    mac = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def test_unknown_missing_and_mismatched_key_ids_are_refused(
    app_for: AppFor, cheap_hashing: None
) -> None:
    with TestClient(app_for()) as client:
        good = token_of(client)
        assert me(client, good).status_code == 200
        refused(me(client, forged(good, SECRET, kid="k-0000000000000000")), "invalid_token")
        # The right secret but no kid at all: refused rather than tried against every key.
        bare = jwt.encode(jwt.decode(good, options={"verify_signature": False}), SECRET, "HS256")
        refused(me(client, bare), "invalid_token")
        # A known kid does not vouch for a signature made with another secret.
        refused(me(client, forged(good, "x" * 64, kid=key_id(SECRET))), "invalid_token")
        refused(
            me(client, hand_signed(good, SECRET, {"alg": "HS256", "kid": [1]})), "invalid_token"
        )


def test_previous_secrets_come_from_the_environment_beside_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in STRONG.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PLEDGEWATCH_AUTH__JWT_SECRET", SECRET)
    monkeypatch.setenv("PLEDGEWATCH_AUTH__JWT_PREVIOUS_SECRETS", f'["{OLD_SECRET}"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.auth.jwt_secret == SECRET
    assert settings.auth.jwt_previous_secrets == [OLD_SECRET]


@pytest.mark.parametrize(
    ("auth", "complaint"),
    [
        ({}, "auth.jwt_secret"),
        ({"PLEDGEWATCH_AUTH__JWT_SECRET": DEV_JWT_SECRET}, "auth.jwt_secret"),
        (
            {
                "PLEDGEWATCH_AUTH__JWT_SECRET": SECRET,
                "PLEDGEWATCH_AUTH__JWT_PREVIOUS_SECRETS": f'["{DEV_JWT_SECRET}"]',
            },
            "auth.jwt_previous_secrets[0]",
        ),
        (
            {
                "PLEDGEWATCH_AUTH__JWT_SECRET": SECRET,
                "PLEDGEWATCH_AUTH__JWT_PREVIOUS_SECRETS": f'["{OLD_SECRET}", "short"]',
            },
            "auth.jwt_previous_secrets[1]",
        ),
    ],
)
def test_production_mode_refuses_dev_or_short_signing_secrets(
    monkeypatch: pytest.MonkeyPatch, auth: dict[str, str], complaint: str
) -> None:
    monkeypatch.delenv("PLEDGEWATCH_AUTH__JWT_SECRET", raising=False)
    for name, value in {**STRONG, **auth}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert complaint in str(caught.value)
    assert DEV_JWT_SECRET not in str(caught.value)
