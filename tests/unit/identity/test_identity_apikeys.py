"""API key generation and checking."""

from __future__ import annotations

import hashlib

from services.identity.apikeys import hash_key, key_matches, new_api_key, prefix_of


def test_a_new_key_has_the_pw_prefix_rest_shape() -> None:
    secret, prefix, _ = new_api_key()
    mark, key_prefix, rest = secret.split("_", 2)
    assert mark == "pw"
    assert key_prefix == prefix
    assert len(prefix) == 8
    assert len(rest) >= 40


def test_the_stored_hash_is_the_sha256_of_the_secret() -> None:
    secret, _, key_hash = new_api_key()
    assert key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert hash_key(secret) == key_hash


def test_two_new_keys_never_share_a_secret() -> None:
    secrets = {new_api_key()[0] for _ in range(50)}
    assert len(secrets) == 50


def test_the_prefix_is_read_back_from_a_well_formed_secret() -> None:
    secret, prefix, _ = new_api_key()
    assert prefix_of(secret) == prefix


def test_malformed_secrets_have_no_prefix() -> None:
    assert prefix_of("") is None
    assert prefix_of("pw_short_rest") is None
    assert prefix_of("xx_abcdefgh_rest") is None
    assert prefix_of("pw_abcdefgh_") is None


def test_a_key_matches_only_its_own_hash() -> None:
    secret, _, key_hash = new_api_key()
    other, _, _ = new_api_key()
    assert key_matches(secret, key_hash)
    assert not key_matches(other, key_hash)
