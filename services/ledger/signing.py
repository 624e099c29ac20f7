"""Organisation signing keys: ECDSA P-256 over SHA-256 with low-S DER signatures."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

# Order of the P-256 group; a signature (r, s) is equally valid as (r, n - s).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_HALF_ORDER = P256_ORDER // 2

# MSP ids become file names, so anything that could climb out of the key folder is refused.
_MSP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def to_low_s(signature: bytes) -> bytes:
    """Return the DER signature with s folded into the lower half of the group order."""
    r, s = decode_dss_signature(signature)
    if s > _HALF_ORDER:
        s = P256_ORDER - s
    return encode_dss_signature(r, s)


def is_low_s(signature: bytes) -> bool:
    """Whether a DER signature already has s in the lower half of the group order."""
    _r, s = decode_dss_signature(signature)
    return 0 < s <= _HALF_ORDER


def verify(public_pem: bytes, data: bytes, signature: bytes) -> bool:
    """Check a low-S DER signature over data against a PEM public key."""
    try:
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            return False
        # Fabric refuses high-S signatures to stop malleated copies; so do we.
        if not is_low_s(signature):
            return False
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


class Keyring:
    """One P-256 private key per MSP, kept as PEM files in a folder readable by the owner only."""

    def __init__(self, key_dir: Path) -> None:
        self._dir = Path(key_dir)
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._lock = threading.Lock()

    def key_for(self, msp_id: str) -> ec.EllipticCurvePrivateKey:
        """Load the MSP's private key, creating and saving it on first use."""
        if not _MSP_ID.match(msp_id):
            raise ValueError(f"not a usable MSP id: {msp_id!r}")
        with self._lock:
            cached = self._keys.get(msp_id)
            if cached is not None:
                return cached
            key = self._load_or_create(self._dir / f"{msp_id}.key.pem")
            self._keys[msp_id] = key
            return key

    def public_pem(self, msp_id: str) -> bytes:
        """PEM (SubjectPublicKeyInfo) of the MSP's public key."""
        return (
            self.key_for(msp_id)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def sign(self, msp_id: str, data: bytes) -> bytes:
        """Sign data as the MSP; the DER signature is always low-S."""
        raw = self.key_for(msp_id).sign(data, ec.ECDSA(hashes.SHA256()))
        return to_low_s(raw)

    verify = staticmethod(verify)

    def _load_or_create(self, path: Path) -> ec.EllipticCurvePrivateKey:
        if path.exists():
            return _load_private(path)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Write aside then hard-link into place, so a racing process never reads a half file
        # and both end up with the same key.
        tmp = self._dir / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.link(tmp, path)
        except FileExistsError:
            return _load_private(path)
        finally:
            tmp.unlink(missing_ok=True)
        return key


def _load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path.name} does not hold a P-256 private key")
    return key
