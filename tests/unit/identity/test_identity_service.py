"""Identity use cases against a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import OrgKind, Role
from services.errors import Unauthenticated
from services.identity import passwords, service
from services.identity.tables import User
from services.identity.tokens import decode_token
from services.settings import Settings

PASSWORD = "long enough password"


@pytest.fixture
def bank(session: Session) -> str:
    """A bank organisation, bank1."""
    service.create_org(session, "bank1", "First Bank", OrgKind.BANK, "Bank1MSP")
    return "bank1"


@pytest.fixture
def officer(session: Session, bank: str, fast_hasher: PasswordHasher) -> User:
    """An officer of bank1 named alice, committed."""
    user = service.create_user(session, bank, "alice", PASSWORD, [Role.OFFICER], hasher=fast_hasher)
    session.commit()
    return user


def test_an_org_is_created_with_its_kind_and_msp(session: Session) -> None:
    org = service.create_org(session, "wh-1", "Harbour Storage", "warehouse", "Wh1MSP")
    session.commit()
    loaded = service.get_org(session, "wh-1")
    assert loaded is org
    assert (loaded.kind, loaded.msp_id, loaded.name) == ("warehouse", "Wh1MSP", "Harbour Storage")
    assert loaded.created_at is not None


@pytest.mark.parametrize("bad_id", ["Bank1", "1bank", "b", "bank_1", "bank 1", "x" * 33])
def test_an_org_id_that_is_not_a_slug_is_invalid(session: Session, bad_id: str) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_org(session, bad_id, "Bank", OrgKind.BANK, "BankMSP")
    assert caught.value.code == "invalid_org_id"


def test_an_unknown_org_kind_is_invalid(session: Session) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_org(session, "bank1", "Bank", "hedgefund", "BankMSP")
    assert caught.value.code == "invalid_org_kind"


def test_a_second_org_with_the_same_id_conflicts(session: Session, bank: str) -> None:
    with pytest.raises(Conflict) as caught:
        service.create_org(session, bank, "Other", OrgKind.BANK, "OtherMSP")
    assert caught.value.code == "org_exists"


def test_a_second_org_with_the_same_msp_conflicts(session: Session, bank: str) -> None:
    with pytest.raises(Conflict) as caught:
        service.create_org(session, "bank2", "Other", OrgKind.BANK, "Bank1MSP")
    assert caught.value.code == "org_exists"


def test_a_user_is_stored_with_a_hash_and_not_the_password(officer: User) -> None:
    assert officer.password_hash != PASSWORD
    assert officer.password_hash.startswith("$argon2id$")
    assert officer.roles == ["officer"]
    assert officer.active
    assert len(officer.id) == 32


def test_a_short_password_is_refused_as_weak(
    session: Session, bank: str, fast_hasher: PasswordHasher
) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_user(session, bank, "bob", "123456789", [Role.VIEWER], hasher=fast_hasher)
    assert caught.value.code == "weak_password"


def test_a_user_for_an_unknown_org_is_not_found(
    session: Session, fast_hasher: PasswordHasher
) -> None:
    with pytest.raises(NotFound):
        service.create_user(session, "nobank", "bob", PASSWORD, [Role.VIEWER], hasher=fast_hasher)


def test_a_taken_username_conflicts_regardless_of_case(
    session: Session, officer: User, fast_hasher: PasswordHasher
) -> None:
    with pytest.raises(Conflict) as caught:
        service.create_user(
            session, officer.org_id, "ALICE", PASSWORD, [Role.VIEWER], hasher=fast_hasher
        )
    assert caught.value.code == "username_taken"


@pytest.mark.parametrize("roles", [[], ["device"], ["root"]])
def test_a_user_needs_known_human_roles(
    session: Session, bank: str, fast_hasher: PasswordHasher, roles: list[str]
) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_user(session, bank, "bob", PASSWORD, roles, hasher=fast_hasher)
    assert caught.value.code == "invalid_role"


def test_listing_users_shows_only_that_orgs_users(
    session: Session, officer: User, fast_hasher: PasswordHasher
) -> None:
    service.create_org(session, "bank2", "Second Bank", OrgKind.BANK, "Bank2MSP")
    service.create_user(session, "bank2", "carol", PASSWORD, [Role.ADMIN], hasher=fast_hasher)
    service.create_user(
        session, officer.org_id, "aaron", PASSWORD, [Role.VIEWER], hasher=fast_hasher
    )
    names = [user.username for user in service.list_users(session, officer.org_id)]
    assert names == ["aaron", "alice"]


def test_the_right_password_yields_a_token_for_the_user(
    session: Session, settings: Settings, officer: User, fast_hasher: PasswordHasher
) -> None:
    token = service.authenticate(session, settings, "alice", PASSWORD, hasher=fast_hasher)
    claims = decode_token(settings, token)
    assert (claims.sub, claims.org, claims.kind, claims.msp) == (
        officer.id,
        "bank1",
        OrgKind.BANK,
        "Bank1MSP",
    )
    assert claims.roles == frozenset({Role.OFFICER})


def test_wrong_password_unknown_user_and_inactive_user_fail_alike(
    session: Session, settings: Settings, officer: User, fast_hasher: PasswordHasher
) -> None:
    failures = []
    for username, password in [("alice", "wrong password!"), ("nobody", PASSWORD)]:
        with pytest.raises(Unauthenticated) as caught:
            service.authenticate(session, settings, username, password, hasher=fast_hasher)
        failures.append((caught.value.code, caught.value.detail))
    officer.active = False
    session.flush()
    with pytest.raises(Unauthenticated) as caught:
        service.authenticate(session, settings, "alice", PASSWORD, hasher=fast_hasher)
    failures.append((caught.value.code, caught.value.detail))
    assert len(set(failures)) == 1
    assert failures[0][0] == "bad_credentials"


def test_signing_in_upgrades_a_hash_made_with_old_parameters(
    session: Session, settings: Settings, officer: User, fast_hasher: PasswordHasher
) -> None:
    old_hash = officer.password_hash
    service.authenticate(session, settings, "alice", PASSWORD)
    assert officer.password_hash != old_hash
    assert not passwords.needs_rehash(officer.password_hash)


def test_claims_become_an_actor_with_the_same_identity(
    session: Session, settings: Settings, officer: User, fast_hasher: PasswordHasher
) -> None:
    token = service.authenticate(session, settings, "alice", PASSWORD, hasher=fast_hasher)
    actor = service.actor_from_claims(decode_token(settings, token))
    assert actor.user_id == officer.id
    assert actor.org_kind is OrgKind.BANK
    assert actor.roles == frozenset({Role.OFFICER})


def test_a_deactivated_users_token_stops_working(
    session: Session, settings: Settings, officer: User, fast_hasher: PasswordHasher
) -> None:
    token = service.authenticate(session, settings, "alice", PASSWORD, hasher=fast_hasher)
    claims = decode_token(settings, token)
    assert service.actor_for_claims(session, claims).user_id == officer.id
    officer.active = False
    session.flush()
    with pytest.raises(Unauthenticated):
        service.actor_for_claims(session, claims)


def test_an_api_key_acts_as_a_device_of_its_org(session: Session, bank: str) -> None:
    key, secret = service.create_api_key(session, bank, "dock reader 1", "reader")
    session.commit()
    assert key.key_hash not in secret and secret not in key.key_hash
    assert secret.startswith(f"pw_{key.prefix}_")
    actor = service.actor_for_api_key(session, secret)
    assert actor.org_id == bank
    assert actor.msp_id == "Bank1MSP"
    assert actor.roles == frozenset({Role.DEVICE})
    assert actor.user_id is None


def test_an_unknown_or_malformed_api_key_is_refused(session: Session, bank: str) -> None:
    _, secret = service.create_api_key(session, bank, "cam", "camera")
    near_miss = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for candidate in [near_miss, "pw_nothing", "", "Bearer x"]:
        with pytest.raises(Unauthenticated) as caught:
            service.actor_for_api_key(session, candidate)
        assert caught.value.code == "invalid_api_key"


def test_an_api_key_with_an_unknown_purpose_is_invalid(session: Session, bank: str) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_api_key(session, bank, "drone", "drone")
    assert caught.value.code == "invalid_purpose"


def test_a_revoked_api_key_no_longer_authenticates(session: Session, bank: str) -> None:
    key, secret = service.create_api_key(session, bank, "cam", "camera")
    when = datetime(2030, 1, 2, tzinfo=UTC)
    revoked = service.revoke_api_key(session, key.id, bank, now=when)
    assert revoked.revoked_at == when
    with pytest.raises(Unauthenticated):
        service.actor_for_api_key(session, secret)


def test_revoking_twice_keeps_the_first_revocation_time(session: Session, bank: str) -> None:
    key, _ = service.create_api_key(session, bank, "cam", "camera")
    first = datetime(2030, 1, 2, tzinfo=UTC)
    service.revoke_api_key(session, key.id, bank, now=first)
    again = service.revoke_api_key(session, key.id, bank, now=datetime(2031, 1, 1, tzinfo=UTC))
    assert again.revoked_at == first


def test_another_orgs_api_key_cannot_be_revoked_and_looks_missing(
    session: Session, bank: str
) -> None:
    service.create_org(session, "wh1", "Warehouse", OrgKind.WAREHOUSE, "Wh1MSP")
    key, secret = service.create_api_key(session, "wh1", "cam", "camera")
    with pytest.raises(NotFound) as caught:
        service.revoke_api_key(session, key.id, bank)
    assert caught.value.code == "api_key_not_found"
    assert service.actor_for_api_key(session, secret).org_id == "wh1"
