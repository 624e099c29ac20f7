"""The connection file: where each organisation's gateway peer is and which identity to use.

The devnet (`chaincode/devnet/network.py`) writes `.cache/fabric/network/connection.json`:

    {
      "channel": "pledgewatch",
      "chaincode": "pledgewatch",
      "organizations": {
        "WarehouseMSP": {
          "msp_id": "WarehouseMSP",
          "peer": {"address": "127.0.0.1:7051", "tls_ca": "/…/tlsca-cert.pem", ...},
          "user": {"msp_path": "/…/users/User1@warehouse…/msp", ...},
          ...
        },
        ...
      }
    }

Only the fields above are read (others, such as the orderer or admin identities, are ignored).
A flat form is accepted as well, per organisation: `peer_address`, `tls_ca_cert`, `user_msp`,
and optionally `tls_server_name` (the name to check the peer's TLS certificate against when it
differs from the host of the address) and `client_tls_cert`/`client_tls_key` (mutual TLS).
`organizations` (or `orgs`) may be an object keyed by MSP id or a list. Relative paths are
resolved against the folder of the file, so the network folder can move.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.ledger.fabric.identity import Identity, load_msp

DEFAULT_CHANNEL = "pledgewatch"
DEFAULT_CHAINCODE = "pledgewatch"

# Field -> where to find it: a top-level key of the organisation, or a (section, key) pair.
_FIELDS: Mapping[str, tuple[str | tuple[str, str], ...]] = {
    "peer_address": ("peer_address", ("peer", "address")),
    "tls_ca_cert": ("tls_ca_cert", ("peer", "tls_ca")),
    "user_msp": ("user_msp", ("user", "msp_path")),
    "tls_server_name": ("tls_server_name", ("peer", "tls_server_name")),
    "client_tls_cert": ("client_tls_cert", ("user", "client_tls_cert")),
    "client_tls_key": ("client_tls_key", ("user", "client_tls_key")),
}


class ConnectionFileError(ValueError):
    """The connection file is missing, unreadable or lacks a required field."""


@dataclass(frozen=True)
class OrgEndpoint:
    """One organisation's gateway peer and the folder of the user that signs for it."""

    msp_id: str
    peer_address: str
    tls_ca_cert: Path
    user_msp: Path
    tls_server_name: str = ""
    client_tls_cert: Path | None = None
    client_tls_key: Path | None = None

    def tls_root_pem(self) -> bytes:
        """The PEM of the TLS CA that signed the peer's TLS certificate."""
        return self.tls_ca_cert.read_bytes()


@dataclass(frozen=True)
class FabricConnection:
    """Every organisation's endpoint, the channel and the chaincode name."""

    orgs: Mapping[str, OrgEndpoint]
    channel: str = DEFAULT_CHANNEL
    chaincode: str = DEFAULT_CHAINCODE

    def endpoint(self, msp_id: str) -> OrgEndpoint:
        """The endpoint of msp_id; KeyError names the MSPs that are known."""
        try:
            return self.orgs[msp_id]
        except KeyError:
            known = ", ".join(sorted(self.orgs)) or "none"
            raise KeyError(f"no endpoint for {msp_id} in the connection (known: {known})") from None


def load_connection(path: Path | str) -> FabricConnection:
    """Read a connection file (format in this module's docstring)."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConnectionFileError(f"cannot read connection file {file}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConnectionFileError(f"{file}: expected a JSON object")
    raw_orgs = data.get("orgs", data.get("organizations"))
    entries: Iterable[tuple[str | None, Any]]
    if isinstance(raw_orgs, dict):
        entries = raw_orgs.items()
    elif isinstance(raw_orgs, list):
        entries = ((None, item) for item in raw_orgs)
    else:
        raise ConnectionFileError(f"{file}: 'orgs' must be an object or a list")
    orgs: dict[str, OrgEndpoint] = {}
    for key, item in entries:
        endpoint = _endpoint(file, key, item)
        orgs[endpoint.msp_id] = endpoint
    if not orgs:
        raise ConnectionFileError(f"{file}: no organisation is listed")
    return FabricConnection(
        orgs=MappingProxyType(orgs),
        channel=str(data.get("channel") or DEFAULT_CHANNEL),
        chaincode=str(data.get("chaincode") or DEFAULT_CHAINCODE),
    )


def load_identities(
    connection: FabricConnection, msp_ids: Iterable[str] | None = None
) -> dict[str, Identity]:
    """Load the user identity of each listed MSP (all of them by default) from its MSP folder."""
    wanted = sorted(connection.orgs) if msp_ids is None else list(msp_ids)
    return {m: load_msp(connection.endpoint(m).user_msp, m) for m in wanted}


def _endpoint(file: Path, key: str | None, item: Any) -> OrgEndpoint:
    if not isinstance(item, dict):
        raise ConnectionFileError(f"{file}: organisation {key!r} must be an object")
    msp_id = str(item.get("msp_id") or item.get("mspid") or key or "")
    if not msp_id:
        raise ConnectionFileError(f"{file}: an organisation has no msp_id")

    def field(name: str, required: bool = True) -> str:
        for where in _FIELDS[name]:
            if isinstance(where, tuple):
                section = item.get(where[0])
                value = section.get(where[1]) if isinstance(section, dict) else None
            else:
                value = item.get(where)
            if value:
                return str(value)
        if required:
            raise ConnectionFileError(f"{file}: {msp_id} lacks {name}")
        return ""

    def path(name: str, required: bool = True) -> Path | None:
        value = field(name, required)
        if not value:
            return None
        candidate = Path(value)
        # Relative to the file, so the network folder can be moved or mounted elsewhere.
        return candidate if candidate.is_absolute() else (file.parent / candidate).resolve()

    tls_ca = path("tls_ca_cert")
    user_msp = path("user_msp")
    assert tls_ca is not None and user_msp is not None  # required fields raise above
    return OrgEndpoint(
        msp_id=msp_id,
        peer_address=field("peer_address"),
        tls_ca_cert=tls_ca,
        user_msp=user_msp,
        tls_server_name=field("tls_server_name", required=False),
        client_tls_cert=path("client_tls_cert", required=False),
        client_tls_key=path("client_tls_key", required=False),
    )
