"""Identity use cases: organisations, users, sign-in and API keys.

Functions that create or change rows add and flush but do not commit, so the caller decides the
transaction; a failure raises a DomainError and the caller rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import Actor, OrgKind, Role
from services.errors import Unauthenticated
from services.identity import passwords
from services.identity.apikeys import KeyPurpose, key_matches, new_api_key, prefix_of
from services.identity.tables import ApiKey, Org, User, utcnow
from services.identity.tokens import Claims, issue_token
from services.settings import Settings

ORG_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
# Fabric MSP ids are free-form, but these characters survive every config file they end up in.
MSP_ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,63}$")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
# argon2 accepts any length; a cap stops megabyte "passwords" from being a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 64

_BAD_CREDENTIALS = "the username or password is wrong"
# Lazily made once, so unknown usernames cost a full hash verification like known ones do and
# response time does not reveal which usernames exist.
_dummy_hash: str | None = None


def _dummy_password_hash(hasher: PasswordHasher | None) -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = passwords.hash_password("not-a-real-password", hasher)
    return _dummy_hash


def get_org(session: Session, org_id: str) -> Org:
    """Load an organisation or raise NotFound."""
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("org_not_found", f"no organisation {org_id!r}")
    return org


def list_orgs(session: Session) -> list[Org]:
    """All organisations, by id."""
    return list(session.scalars(select(Org).order_by(Org.id)))


def create_org(session: Session, id: str, name: str, kind: OrgKind | str, msp_id: str) -> Org:
    """Register an organisation; the id is a lower-case slug and the MSP id is unique."""
    if not ORG_ID_PATTERN.fullmatch(id):
        raise Invalid("invalid_org_id", "an org id is 2-32 of a-z, 0-9 and '-', starting a-z")
    if not MSP_ID_PATTERN.fullmatch(msp_id):
        raise Invalid("invalid_msp_id", "an MSP id is letters, digits, '.' and '-'")
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("invalid_name", "an org name is 1-200 characters")
    try:
        org_kind = OrgKind(kind)
    except ValueError as exc:
        raise Invalid("invalid_org_kind", f"unknown organisation kind {kind!r}") from exc
    clash = session.scalar(select(Org.id).where((Org.id == id) | (Org.msp_id == msp_id)))
    if clash is not None:
        raise Conflict("org_exists", f"an organisation with id {id!r} or MSP {msp_id!r} exists")
    org = Org(id=id, name=name, kind=org_kind.value, msp_id=msp_id, created_at=utcnow())
    session.add(org)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another transaction won the race between the check above and this insert.
        raise Conflict("org_exists", "the organisation was created concurrently") from exc
    return org


def _normalise_roles(roles: Iterable[Role | str]) -> list[str]:
    try:
        wanted = {Role(role) for role in roles}
    except ValueError as exc:
        raise Invalid("invalid_role", str(exc)) from exc
    if not wanted:
        raise Invalid("invalid_role", "a user needs at least one role")
    if Role.DEVICE in wanted:
        raise Invalid("invalid_role", "the device role belongs to API keys, not to people")
    return sorted(role.value for role in wanted)


def create_user(
    session: Session,
    org_id: str,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    *,
    hasher: PasswordHasher | None = None,
) -> User:
    """Add a user to an organisation with a hashed password; usernames are case-insensitive."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise Invalid("invalid_username", "a username is 3-64 of a-z, 0-9, '.', '_', '@', '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("weak_password", f"a password needs at least {MIN_PASSWORD_LENGTH} chars")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid("password_too_long", f"a password has at most {MAX_PASSWORD_LENGTH} chars")
    role_values = _normalise_roles(roles)
    get_org(session, org_id)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username_taken", f"the username {username!r} is taken")
    user = User(
        org_id=org_id,
        username=username,
        password_hash=passwords.hash_password(password, hasher),
        roles=role_values,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("username_taken", f"the username {username!r} is taken") from exc
    return user


def get_user(session: Session, user_id: str) -> User:
    """Load a user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", "no such user")
    return user


def list_users(session: Session, org_id: str) -> list[User]:
    """The users of one organisation, by username."""
    return list(session.scalars(select(User).where(User.org_id == org_id).order_by(User.username)))


def authenticate(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    *,
    hasher: PasswordHasher | None = None,
) -> str:
    """Check a username and password and return an access token; may upgrade the stored hash."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        passwords.verify_password(_dummy_password_hash(hasher), password, hasher)
        raise Unauthenticated("bad_credentials", _BAD_CREDENTIALS)
    matches = passwords.verify_password(user.password_hash, password, hasher)
    # One answer for every failure, so a caller cannot probe which accounts exist or are active.
    if not matches or not user.active:
        raise Unauthenticated("bad_credentials", _BAD_CREDENTIALS)
    if passwords.needs_rehash(user.password_hash, hasher):
        user.password_hash = passwords.hash_password(password, hasher)
        session.flush()
    org = get_org(session, user.org_id)
    return issue_token(
        settings,
        user_id=user.id,
        org_id=org.id,
        org_kind=OrgKind(org.kind),
        msp_id=org.msp_id,
        roles=[Role(role) for role in user.roles],
    )


def actor_from_claims(claims: Claims) -> Actor:
    """The acting party described by a verified access token."""
    return Actor(
        org_id=claims.org,
        org_kind=claims.kind,
        msp_id=claims.msp,
        roles=claims.roles,
        user_id=claims.sub,
    )


def actor_for_claims(session: Session, claims: Claims) -> Actor:
    """Like actor_from_claims, but refuses tokens of users since deactivated or moved."""
    user = session.get(User, claims.sub)
    if user is None or not user.active or user.org_id != claims.org:
        raise Unauthenticated("invalid_token", "the access token is no longer valid")
    return actor_from_claims(claims)


def create_api_key(
    session: Session, org_id: str, name: str, purpose: KeyPurpose | str
) -> tuple[ApiKey, str]:
    """Make an API key for a device of an organisation; the secret is returned only here."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise Invalid("invalid_name", f"a key name is 1-{MAX_NAME_LENGTH} characters")
    try:
        key_purpose = KeyPurpose(purpose)
    except ValueError as exc:
        raise Invalid("invalid_purpose", f"unknown key purpose {purpose!r}") from exc
    get_org(session, org_id)
    secret, prefix, key_hash = new_api_key()
    key = ApiKey(
        org_id=org_id,
        name=name,
        purpose=key_purpose.value,
        prefix=prefix,
        key_hash=key_hash,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key, secret


def list_api_keys(session: Session, org_id: str) -> list[ApiKey]:
    """The API keys of one organisation, revoked ones included, oldest first."""
    return list(
        session.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at))
    )


def revoke_api_key(
    session: Session, key_id: str, org_id: str | None, *, now: datetime | None = None
) -> ApiKey:
    """Revoke a key; with an org id, a key of another organisation is NotFound. Idempotent."""
    key = session.get(ApiKey, key_id)
    # Another organisation's key answers exactly like a missing one, so ids leak nothing.
    if key is None or (org_id is not None and key.org_id != org_id):
        raise NotFound("api_key_not_found", "no such API key")
    if key.revoked_at is None:
        key.revoked_at = now if now is not None else utcnow()
        session.flush()
    return key


def actor_for_api_key(session: Session, secret: str) -> Actor:
    """The device actor an API key stands for, or Unauthenticated if the key is not live."""
    prefix = prefix_of(secret)
    if prefix is not None:
        for key in session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)):
            if key_matches(secret, key.key_hash) and key.revoked_at is None:
                org = get_org(session, key.org_id)
                return Actor(
                    org_id=org.id,
                    org_kind=OrgKind(org.kind),
                    msp_id=org.msp_id,
                    roles=frozenset({Role.DEVICE}),
                    user_id=None,
                )
    raise Unauthenticated("invalid_api_key", "the API key is not valid")
