"""A throwaway P-256 identity laid out as a cryptogen MSP folder, for the gateway unit tests."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.ledger.fabric.identity import Identity, load_msp

MSP_ID = "WarehouseMSP"


def self_signed(key: ec.EllipticCurvePrivateKey, name: str) -> bytes:
    """A self-signed certificate PEM for key."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of key, as cryptogen writes it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_msp(folder: Path, key: ec.EllipticCurvePrivateKey, cert_pem: bytes) -> Path:
    """Lay out key and certificate as `signcerts/cert.pem` and `keystore/priv_sk`."""
    (folder / "signcerts").mkdir(parents=True)
    (folder / "keystore").mkdir(parents=True)
    (folder / "signcerts" / "User1@warehouse-cert.pem").write_bytes(cert_pem)
    (folder / "keystore" / "priv_sk").write_bytes(key_pem(key))
    return folder


@pytest.fixture
def msp_folder(tmp_path: Path) -> Path:
    """An MSP folder with a matching key, plus an unrelated key that must be ignored."""
    key = ec.generate_private_key(ec.SECP256R1())
    folder = write_msp(tmp_path / "msp", key, self_signed(key, "User1@warehouse"))
    stray = ec.generate_private_key(ec.SECP256R1())
    # Sorted before priv_sk: a loader that took the first file would pick the wrong key.
    (folder / "keystore" / "0000_old_sk").write_bytes(key_pem(stray))
    return folder


@pytest.fixture
def identity(msp_folder: Path) -> Identity:
    """The identity loaded from msp_folder."""
    return load_msp(msp_folder, MSP_ID)
