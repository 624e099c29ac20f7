"""The chaincode-as-a-service package: metadata saying `ccaas` and where the server listens."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

# Fixed file times keep the package bytes, and so the package id, the same for the same input.
_MTIME = 0


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _MTIME
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def _targz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for name in sorted(files):
            _add(archive, name, files[name])
    return buffer.getvalue()


def ccaas_package(label: str, address: str, dial_timeout: str = "10s") -> bytes:
    """Bytes of a ccaas package for a chaincode server at address, plain gRPC (no TLS)."""
    connection = {"address": address, "dial_timeout": dial_timeout, "tls_required": False}
    code = _targz({"connection.json": json.dumps(connection, indent=2).encode()})
    metadata = {"type": "ccaas", "label": label}
    return _targz({"code.tar.gz": code, "metadata.json": json.dumps(metadata).encode()})


def write_package(path: Path, label: str, address: str) -> Path:
    """Write the ccaas package to path and return path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ccaas_package(label, address))
    return path


def package_id(label: str, package: bytes) -> str:
    """The id the peer gives an installed package: its label and the SHA-256 of its bytes."""
    return f"{label}:{hashlib.sha256(package).hexdigest()}"
