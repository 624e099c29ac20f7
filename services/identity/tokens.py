"""Signed access tokens (JWT, HMAC) for people who signed in with a password."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from pledge.parties import OrgKind, Role
from services.errors import Unauthenticated
from services.settings import Settings

# Only HMAC algorithms: the secret is shared, and accepting whatever the settings say would let
# a misconfiguration enable "none" or an asymmetric algorithm keyed with a shared secret.
_ALLOWED_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_REQUIRED_CLAIMS = ["sub", "org", "kind", "msp", "roles", "iat", "exp", "jti"]


@dataclass(frozen=True)
class Claims:
    """The verified contents of an access token."""

    sub: str
    org: str
    kind: OrgKind
    msp: str
    roles: frozenset[Role]
    iat: int
    exp: int
    jti: str


def _algorithm(settings: Settings) -> str:
    algorithm = settings.auth.jwt_algorithm
    if algorithm not in _ALLOWED_ALGORITHMS:
        raise ValueError(f"unsupported JWT algorithm {algorithm!r}; use an HS* algorithm")
    return algorithm


def key_id(secret: str) -> str:
    """The key id (JWT `kid`) naming a signing secret without revealing it."""
    # Derived rather than configured, so rotating is only "move the old secret to the list":
    # a kid can never be paired with the wrong secret. A truncated hash of a long random secret
    # tells an attacker nothing useful.
    digest = hashlib.sha256(b"pledgewatch-jwt-kid:" + secret.encode()).hexdigest()
    return f"k-{digest[:16]}"


def verification_keys(settings: Settings) -> dict[str, str]:
    """Secrets that may verify a token, by key id: the current one and those rotated out."""
    keys = {key_id(secret): secret for secret in settings.auth.jwt_previous_secrets}
    keys[key_id(settings.auth.jwt_secret)] = settings.auth.jwt_secret
    return keys


def issue_token(
    settings: Settings,
    user_id: str,
    org_id: str,
    org_kind: OrgKind,
    msp_id: str,
    roles: frozenset[Role] | list[Role],
    *,
    now: datetime | None = None,
    ttl: timedelta | None = None,
) -> str:
    """Sign a token for a user; it lasts `settings.auth.token_minutes` unless `ttl` is given."""
    issued = now if now is not None else datetime.now(UTC)
    lifetime = ttl if ttl is not None else timedelta(minutes=settings.auth.token_minutes)
    payload: dict[str, Any] = {
        "sub": user_id,
        "org": org_id,
        "kind": OrgKind(org_kind).value,
        "msp": msp_id,
        "roles": sorted(Role(role).value for role in roles),
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    secret = settings.auth.jwt_secret
    return jwt.encode(
        payload, secret, algorithm=_algorithm(settings), headers={"kid": key_id(secret)}
    )


def decode_token(settings: Settings, token: str) -> Claims:
    """Verify a token's key id, signature, expiry and shape, or raise Unauthenticated."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("invalid_token", "the access token is not valid") from exc
    # The kid only picks which secret to try; a token naming no known key (a retired secret, or
    # none at all) is refused outright rather than tried against every secret.
    secret = verification_keys(settings).get(kid) if isinstance(kid, str) else None
    if secret is None:
        raise Unauthenticated("invalid_token", "the access token was signed with an unknown key")
    try:
        raw = jwt.decode(
            token,
            secret,
            algorithms=[_algorithm(settings)],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token_expired", "the access token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("invalid_token", "the access token is not valid") from exc
    try:
        return Claims(
            sub=str(raw["sub"]),
            org=str(raw["org"]),
            kind=OrgKind(raw["kind"]),
            msp=str(raw["msp"]),
            roles=frozenset(Role(role) for role in raw["roles"]),
            iat=int(raw["iat"]),
            exp=int(raw["exp"]),
            jti=str(raw["jti"]),
        )
    except (TypeError, ValueError) as exc:
        # A correctly signed token with unknown kinds or roles comes from an incompatible
        # issuer; refuse it rather than guess.
        raise Unauthenticated("invalid_token", "the access token is not valid") from exc
