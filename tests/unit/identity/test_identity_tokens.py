"""Access tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from pledge.parties import OrgKind, Role
from services.errors import Unauthenticated
from services.identity.tokens import decode_token, issue_token
from services.settings import AuthSettings, Settings


def _token(settings: Settings, now: datetime | None = None, ttl: timedelta | None = None) -> str:
    return issue_token(
        settings,
        user_id="u1",
        org_id="bank1",
        org_kind=OrgKind.BANK,
        msp_id="Bank1MSP",
        roles=[Role.OFFICER, Role.ADMIN],
        now=now,
        ttl=ttl,
    )


def test_an_issued_token_decodes_to_the_same_identity(settings: Settings) -> None:
    claims = decode_token(settings, _token(settings))
    assert claims.sub == "u1"
    assert claims.org == "bank1"
    assert claims.kind is OrgKind.BANK
    assert claims.msp == "Bank1MSP"
    assert claims.roles == frozenset({Role.OFFICER, Role.ADMIN})
    assert claims.exp - claims.iat == 5 * 60
    assert len(claims.jti) == 32


def test_every_token_gets_its_own_id(settings: Settings) -> None:
    first = decode_token(settings, _token(settings))
    second = decode_token(settings, _token(settings))
    assert first.jti != second.jti


def test_tokens_are_signed_with_hs256(settings: Settings) -> None:
    assert jwt.get_unverified_header(_token(settings))["alg"] == "HS256"


def test_an_expired_token_is_refused_as_expired(settings: Settings) -> None:
    issued = datetime.now(UTC) - timedelta(hours=2)
    token = _token(settings, now=issued, ttl=timedelta(minutes=1))
    with pytest.raises(Unauthenticated) as caught:
        decode_token(settings, token)
    assert caught.value.code == "token_expired"


def test_a_tampered_token_is_refused_as_invalid(settings: Settings) -> None:
    header, payload, signature = _token(settings).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = "bank2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated) as caught:
        decode_token(settings, f"{header}.{forged}.{signature}")
    assert caught.value.code == "invalid_token"


def test_a_token_signed_with_another_key_is_refused(settings: Settings) -> None:
    other = Settings(auth=AuthSettings(jwt_secret="a-different-secret-" + "z" * 32))
    with pytest.raises(Unauthenticated) as caught:
        decode_token(settings, _token(other))
    assert caught.value.code == "invalid_token"


def test_an_unsigned_token_is_refused(settings: Settings) -> None:
    claims = jwt.decode(_token(settings), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none")
    with pytest.raises(Unauthenticated):
        decode_token(settings, unsigned)


def test_a_signed_token_missing_claims_is_refused(settings: Settings) -> None:
    bare = jwt.encode({"sub": "u1"}, settings.auth.jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthenticated) as caught:
        decode_token(settings, bare)
    assert caught.value.code == "invalid_token"


def test_a_signed_token_with_an_unknown_role_is_refused(settings: Settings) -> None:
    claims = jwt.decode(_token(settings), options={"verify_signature": False})
    odd = jwt.encode({**claims, "roles": ["superuser"]}, settings.auth.jwt_secret, "HS256")
    with pytest.raises(Unauthenticated):
        decode_token(settings, odd)


def test_garbage_is_refused_as_invalid(settings: Settings) -> None:
    with pytest.raises(Unauthenticated) as caught:
        decode_token(settings, "not.a.token")
    assert caught.value.code == "invalid_token"


def test_a_non_hmac_algorithm_setting_is_rejected(settings: Settings) -> None:
    odd = Settings(auth=AuthSettings(jwt_secret=settings.auth.jwt_secret, jwt_algorithm="none"))
    with pytest.raises(ValueError):
        _token(odd)
