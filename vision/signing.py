"""The vision worker's signing key: Ed25519, made on first start, checked by the service.

A worker signs the manifest of every piece of evidence it produces (the hashes of the snapshot
and the clip, the camera, the bay, the time). The service keeps the public half, registered by
the worker, so anyone holding the evidence can check that this worker produced it unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "worker-ed25519.pem"


def key_id_of(public_raw: bytes) -> str:
    """A short stable name for a public key: the first 32 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


@dataclass(frozen=True)
class WorkerKey:
    """A worker's private key, with the id and encoded public key the service registers."""

    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        """The 32 raw bytes of the public key."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_b64(self) -> str:
        """The public key as base64 text, the form the service stores."""
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def key_id(self) -> str:
        """The key's id."""
        return key_id_of(self.public_raw)

    def sign(self, data: bytes) -> str:
        """A base64 Ed25519 signature of `data`."""
        return base64.b64encode(self.private.sign(data)).decode("ascii")

    @classmethod
    def generate(cls) -> WorkerKey:
        """A fresh key held only in memory."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, key_dir: Path) -> WorkerKey:
        """The key stored in `key_dir`, made (readable by the owner only) if there is none."""
        path = key_dir / KEY_FILE
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 private key")
            return cls(loaded)
        key = cls.generate()
        key_dir.mkdir(parents=True, exist_ok=True)
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written beside and renamed, private from the first byte: a crash leaves no half key.
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        tmp.replace(path)
        return key


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Decode a registered public key; ValueError if it is not 32 raw Ed25519 bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ValueError("the public key is not base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_valid(public_b64: str, data: bytes, signature_b64: str) -> bool:
    """Whether `signature_b64` is the registered key's signature of `data`."""
    try:
        key = public_key_from_b64(public_b64)
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
