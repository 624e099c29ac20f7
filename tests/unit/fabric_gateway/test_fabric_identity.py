"""MSP folders load into identities whose signatures Fabric would accept."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fabric_protos.msp import identities_pb2

from services.ledger.fabric.identity import Identity, IdentityError, load_msp, sign_p256
from services.ledger.signing import P256_ORDER, is_low_s
from tests.unit.fabric_gateway.conftest import MSP_ID, key_pem, self_signed, write_msp


def test_an_msp_folder_loads_the_key_that_matches_its_certificate(msp_folder: Path) -> None:
    identity = load_msp(msp_folder, MSP_ID)
    cert_pem = next((msp_folder / "signcerts").glob("*.pem")).read_bytes()
    assert identity.msp_id == MSP_ID
    assert identity.certificate_pem == cert_pem
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(identity.sign(b"hello"), b"hello", ec.ECDSA(hashes.SHA256()))


def test_the_creator_is_a_serialized_identity_of_msp_id_and_certificate(
    identity: Identity,
) -> None:
    decoded = identities_pb2.SerializedIdentity.FromString(identity.creator)
    assert decoded.mspid == MSP_ID
    assert decoded.id_bytes == identity.certificate_pem


def test_signatures_are_der_and_always_low_s(identity: Identity) -> None:
    public = identity.private_key.public_key()
    for i in range(200):
        data = f"message {i}".encode()
        signature = identity.sign(data)
        r, s = decode_dss_signature(signature)  # raises unless DER
        assert 0 < s <= P256_ORDER // 2
        assert 0 < r < P256_ORDER
        assert is_low_s(signature), f"high S on message {i}"
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_sign_p256_folds_a_high_s_that_the_raw_signer_produces() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw_high = 0
    for i in range(64):
        raw = key.sign(f"m{i}".encode(), ec.ECDSA(hashes.SHA256()))
        raw_high += not is_low_s(raw)
        assert is_low_s(sign_p256(key, f"m{i}".encode()))
    # About half of raw ECDSA signatures are high-S; the fold is what makes them all low.
    assert raw_high > 0


def test_a_folder_without_a_matching_key_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    folder = write_msp(tmp_path / "msp", other, self_signed(key, "mismatch"))
    with pytest.raises(IdentityError, match="no private key"):
        load_msp(folder, MSP_ID)


def test_a_folder_without_a_certificate_is_refused(tmp_path: Path) -> None:
    (tmp_path / "msp" / "keystore").mkdir(parents=True)
    (tmp_path / "msp" / "keystore" / "priv_sk").write_bytes(
        key_pem(ec.generate_private_key(ec.SECP256R1()))
    )
    with pytest.raises(IdentityError, match="no certificate"):
        load_msp(tmp_path / "msp", MSP_ID)


def test_an_identity_refuses_a_key_that_is_not_the_certificates() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(IdentityError, match="does not match"):
        Identity(MSP_ID, self_signed(key, "x"), ec.generate_private_key(ec.SECP256R1()))
