"""Client identities for the Fabric gateway: an MSP folder's certificate and key, and a signer.

A Fabric client proves who it is with a SerializedIdentity (MSP id + X.509 certificate PEM) in
every request header, and signs the request bytes with the certificate's ECDSA P-256 key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.ledger.fabric import protos as pb
from services.ledger.signing import to_low_s


class IdentityError(ValueError):
    """An MSP folder is missing its certificate or key, or they do not belong together."""


def sign_p256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256 over SHA-256 of data, DER encoded, with s folded to the low half."""
    # Fabric rejects high-S signatures (they are malleable copies of valid ones).
    return to_low_s(key.sign(data, ec.ECDSA(hashes.SHA256())))


def serialize_identity(msp_id: str, certificate_pem: bytes) -> bytes:
    """The SerializedIdentity bytes Fabric expects as a creator: MSP id and certificate PEM."""
    identity = pb.identities.SerializedIdentity(mspid=msp_id, id_bytes=certificate_pem)
    return bytes(identity.SerializeToString())


@dataclass(frozen=True)
class Identity:
    """One organisation member: MSP id, certificate and the private key that signs for it."""

    msp_id: str
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        cert = x509.load_pem_x509_certificate(self.certificate_pem)
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256R1
        ):
            raise IdentityError(f"{self.msp_id}: the certificate does not hold a P-256 key")
        if _public_der(public) != _public_der(self.private_key.public_key()):
            raise IdentityError(f"{self.msp_id}: the private key does not match the certificate")

    @property
    def creator(self) -> bytes:
        """SerializedIdentity bytes, the creator field of every header this identity signs."""
        return serialize_identity(self.msp_id, self.certificate_pem)

    def sign(self, data: bytes) -> bytes:
        """Sign data as this identity (low-S DER)."""
        return sign_p256(self.private_key, data)


def load_msp(folder: Path | str, msp_id: str) -> Identity:
    """Load an MSP folder laid out by cryptogen: `signcerts/*.pem` and a key in `keystore/`."""
    root = Path(folder)
    certs = sorted((root / "signcerts").glob("*.pem"))
    if not certs:
        raise IdentityError(f"no certificate in {root / 'signcerts'}")
    certificate_pem = certs[0].read_bytes()
    cert_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    keystore = root / "keystore"
    candidates = sorted(p for p in keystore.glob("*") if p.is_file()) if keystore.is_dir() else []
    # cryptogen names the key `priv_sk`, a CA enrolment names it `<ski>_sk`: match by public key
    # rather than by name, so a folder holding old keys still yields the right one.
    for path in candidates:
        key = _try_load_key(path)
        if key is not None and _public_der(key.public_key()) == _public_der(cert_key):
            return Identity(msp_id=msp_id, certificate_pem=certificate_pem, private_key=key)
    raise IdentityError(f"no private key in {keystore} matches {certs[0].name}")


def _try_load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


def _public_der(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
