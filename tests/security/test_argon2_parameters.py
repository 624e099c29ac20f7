"""Stored passwords use argon2id with our parameters; weaker old hashes are upgraded at sign-in."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.db import make_session_factory
from services.identity import passwords, service
from services.identity.tables import User
from tests.security.conftest import PASSWORD, AppFor, sign_in

# The policy, written out: RFC 9106's memory-constrained choice (64 MiB, 3 passes), 2 lanes.
POLICY = {"m": 65536, "t": 3, "p": 2}
ENCODED = re.compile(
    r"^\$(?P<type>argon2\w+)\$v=(?P<v>\d+)\$(?P<params>[^$]+)\$(?P<salt>[^$]+)\$(?P<hash>[^$]+)$"
)


@dataclass(frozen=True)
class Encoded:
    """The parts of a PHC-format argon2 string."""

    kind: str
    version: int
    params: dict[str, int]
    salt: bytes
    digest: bytes


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def parse(encoded: str) -> Encoded:
    """Read type, version, costs, salt and digest out of an encoded argon2 hash."""
    match = ENCODED.match(encoded)
    assert match, encoded
    params = {k: int(v) for k, v in (p.split("=") for p in match["params"].split(","))}
    return Encoded(match["type"], int(match["v"]), params, _b64(match["salt"]), _b64(match["hash"]))


def stored_hash(engine: Engine, username: str) -> str:
    """The password hash in the users table, read straight from the database."""
    with Session(engine) as session:
        return str(session.scalar(select(User.password_hash).where(User.username == username)))


def test_a_new_users_password_is_stored_with_our_argon2id_parameters(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        service.create_user(session, "bank1", "dora", PASSWORD, ["officer"])
        session.commit()
    parts = parse(stored_hash(engine, "dora"))
    assert parts.kind == "argon2id"
    assert parts.version == 19
    assert parts.params == POLICY
    assert (parts.params["m"], parts.params["t"], parts.params["p"]) == (
        passwords.MEMORY_COST_KIB,
        passwords.TIME_COST,
        passwords.PARALLELISM,
    )
    assert len(parts.salt) == 16 and len(parts.digest) == 32
    assert not passwords.needs_rehash(stored_hash(engine, "dora"))
    # A fresh salt per hash: the same password twice never gives the same string.
    other = passwords.hash_password(PASSWORD)
    assert parse(other).salt != parts.salt and other != stored_hash(engine, "dora")


def test_a_weaker_old_hash_is_rehashed_on_the_next_successful_sign_in(
    engine: Engine, app_for: AppFor
) -> None:
    old_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    with make_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        user.password_hash = old_hasher.hash(PASSWORD)
        session.commit()
    old = stored_hash(engine, "alice")
    assert parse(old).params == {"m": 8, "t": 1, "p": 1}
    assert passwords.PRODUCTION_HASHER.check_needs_rehash(old)

    with TestClient(app_for()) as client:
        # A wrong password proves nothing about the owner: the old hash stays.
        assert sign_in(client, "alice", "not alices password").status_code == 401
        assert stored_hash(engine, "alice") == old
        assert sign_in(client, "alice").status_code == 200
        upgraded = stored_hash(engine, "alice")
        assert parse(upgraded).params == POLICY
        assert not passwords.needs_rehash(upgraded)
        # The upgraded hash still admits the same password, and is left alone from now on.
        assert sign_in(client, "alice").status_code == 200
        assert stored_hash(engine, "alice") == upgraded
