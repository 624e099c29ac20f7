"""Password hashing."""

from __future__ import annotations

from argon2 import PasswordHasher

from services.identity import passwords


def test_a_password_verifies_against_its_own_hash(fast_hasher: PasswordHasher) -> None:
    stored = passwords.hash_password("correct horse battery", fast_hasher)
    assert passwords.verify_password(stored, "correct horse battery", fast_hasher)


def test_a_wrong_password_is_refused_without_raising(fast_hasher: PasswordHasher) -> None:
    stored = passwords.hash_password("correct horse battery", fast_hasher)
    assert passwords.verify_password(stored, "correct horse batterY", fast_hasher) is False


def test_a_corrupt_stored_hash_counts_as_a_mismatch(fast_hasher: PasswordHasher) -> None:
    assert passwords.verify_password("not-an-argon2-hash", "whatever123", fast_hasher) is False


def test_the_same_password_hashes_differently_each_time(fast_hasher: PasswordHasher) -> None:
    first = passwords.hash_password("same password", fast_hasher)
    second = passwords.hash_password("same password", fast_hasher)
    assert first != second


def test_production_hashes_are_argon2id_with_the_documented_costs() -> None:
    stored = passwords.hash_password("production password")
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3,p=2" in stored
    assert passwords.verify_password(stored, "production password")


def test_a_hash_made_with_weaker_parameters_needs_rehashing(fast_hasher: PasswordHasher) -> None:
    weak = passwords.hash_password("some password", fast_hasher)
    assert passwords.needs_rehash(weak, passwords.PRODUCTION_HASHER)
    assert not passwords.needs_rehash(weak, fast_hasher)


def test_an_unreadable_hash_needs_rehashing() -> None:
    assert passwords.needs_rehash("garbage")
