"""Org signing keys: persistence, ECDSA P-256 signatures, and the low-S rule Fabric enforces."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.signing import P256_ORDER, Keyring, is_low_s, to_low_s, verify


def test_a_new_key_is_saved_readable_by_the_owner_only(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "keys")
    ring.key_for("BankAMSP")
    path = tmp_path / "keys" / "BankAMSP.key.pem"
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["BankAMSP.key.pem"]


def test_a_second_keyring_on_the_same_folder_loads_the_same_key(tmp_path: Path) -> None:
    first = Keyring(tmp_path).public_pem("WarehouseMSP")
    assert Keyring(tmp_path).public_pem("WarehouseMSP") == first
    assert Keyring(tmp_path).public_pem("BankAMSP") != first


def test_a_signature_verifies_only_for_its_data_and_its_signer(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    signature = ring.sign("BankAMSP", b"block hash")
    assert verify(ring.public_pem("BankAMSP"), b"block hash", signature)
    assert not verify(ring.public_pem("BankAMSP"), b"block hash!", signature)
    assert not verify(ring.public_pem("BankBMSP"), b"block hash", signature)
    assert Keyring.verify(ring.public_pem("BankAMSP"), b"block hash", signature)


def test_signatures_are_always_low_s(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    for i in range(200):
        _r, s = decode_dss_signature(ring.sign("BankAMSP", f"message {i}".encode()))
        assert 0 < s <= P256_ORDER // 2


# Sharing one key folder across examples is intended: the key is reused, as in service.
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=256))
def test_any_data_signs_to_a_low_s_signature_that_verifies(tmp_path: Path, data: bytes) -> None:
    ring = Keyring(tmp_path)
    signature = ring.sign("WarehouseMSP", data)
    assert is_low_s(signature)
    assert verify(ring.public_pem("WarehouseMSP"), data, signature)


def test_the_high_s_twin_of_a_valid_signature_is_refused(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    signature = ring.sign("BankAMSP", b"payload")
    r, s = decode_dss_signature(signature)
    high = encode_dss_signature(r, P256_ORDER - s)
    assert not is_low_s(high)
    assert not verify(ring.public_pem("BankAMSP"), b"payload", high)
    assert to_low_s(high) == signature


def test_garbage_signatures_and_keys_do_not_verify(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    assert not verify(ring.public_pem("BankAMSP"), b"x", b"not a signature")
    assert not verify(b"not a key", b"x", ring.sign("BankAMSP", b"x"))


@pytest.mark.parametrize("msp_id", ["../escape", "", "a/b", ".hidden"])
def test_msp_ids_that_are_not_plain_names_are_refused(tmp_path: Path, msp_id: str) -> None:
    with pytest.raises(ValueError, match="MSP id"):
        Keyring(tmp_path).key_for(msp_id)
