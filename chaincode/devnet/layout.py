"""Where the devnet keeps its binaries and generated files, and which ports each process uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FABRIC_VERSION = "3.1.5"
# Fabric's module path has no /v3 suffix, so v3.1.5 is only reachable by its pseudo-version.
FABRIC_MODULE = "github.com/hyperledger/fabric"
FABRIC_PSEUDO_VERSION = "v1.4.0-rc1.0.20260618074816-86c1172bec37"
TOOLS = ("peer", "orderer", "osnadmin", "configtxgen", "cryptogen")

CHANNEL = "pledgewatch"
CHAINCODE = "pledgewatch"
CHAINCODE_LABEL = "pledgewatch_1"
DOMAIN = "pledgewatch.test"
DEFAULT_BASE_PORT = 17050
HOME_ENV = "PLEDGEWATCH_FABRIC_HOME"
BASE_PORT_ENV = "PLEDGEWATCH_FABRIC_BASE_PORT"

TEMPLATES = Path(__file__).resolve().parent / "templates"
BUILDER_SOURCE = Path(__file__).resolve().parent / "builders" / "ccaas"


@dataclass(frozen=True)
class Org:
    """A peer organisation: its MSP, cryptogen domain, role on the channel and port slot."""

    key: str
    msp_id: str
    role: str
    slot: int

    @property
    def domain(self) -> str:
        """The organisation's cryptogen domain."""
        return f"{self.key}.{DOMAIN}"

    @property
    def peer_host(self) -> str:
        """The peer's host name, as its TLS certificate names it."""
        return f"peer0.{self.domain}"


ORGS = (
    Org("warehouse", "WarehouseMSP", "warehouse", 0),
    Org("bank1", "Bank1MSP", "bank", 1),
    Org("bank2", "Bank2MSP", "bank", 2),
)
ORDERER_DOMAIN = f"orderer.{DOMAIN}"
ORDERER_HOST = f"orderer0.{ORDERER_DOMAIN}"


@dataclass(frozen=True)
class PeerPorts:
    """One peer's listen (gRPC, gossip and gateway), chaincode and operations ports."""

    listen: int
    chaincode: int
    operations: int


@dataclass(frozen=True)
class Ports:
    """Every port of the network, derived from one base so that two networks can coexist."""

    base: int

    @property
    def orderer(self) -> int:
        """Orderer gRPC (broadcast and deliver)."""
        return self.base

    @property
    def orderer_admin(self) -> int:
        """Orderer channel participation API (osnadmin)."""
        return self.base + 1

    @property
    def orderer_operations(self) -> int:
        """Orderer /healthz."""
        return self.base + 2

    @property
    def chaincode_server(self) -> int:
        """The chaincode server the peers dial."""
        return self.base + 9

    def peer(self, org: Org) -> PeerPorts:
        """The ports of org's peer: a block of ten per organisation after the orderer's."""
        first = self.base + 10 * (org.slot + 1)
        return PeerPorts(listen=first, chaincode=first + 1, operations=first + 2)

    def all(self) -> list[int]:
        """Every port the network listens on."""
        ports = [self.orderer, self.orderer_admin, self.orderer_operations, self.chaincode_server]
        for org in ORGS:
            peer = self.peer(org)
            ports += [peer.listen, peer.chaincode, peer.operations]
        return ports


def project_root() -> Path:
    """The project folder: the nearest parent of this package holding pyproject.toml."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


@dataclass(frozen=True)
class Layout:
    """Folders of one devnet: binaries are shared, the network folder is rebuilt by `up`."""

    home: Path
    # Tests run their own network beside a developer's, sharing only the binaries.
    network_name: str = "network"

    @classmethod
    def default(cls) -> Layout:
        """`$PLEDGEWATCH_FABRIC_HOME`, else `.cache/fabric` in the project (ignored by git)."""
        configured = os.environ.get(HOME_ENV, "").strip()
        return cls(Path(configured) if configured else project_root() / ".cache" / "fabric")

    @property
    def bin_dir(self) -> Path:
        """The five Fabric binaries."""
        return self.home / "bin"

    @property
    def network(self) -> Path:
        """Everything of the running network."""
        return self.home / self.network_name

    @property
    def crypto(self) -> Path:
        """cryptogen output."""
        return self.network / "crypto"

    @property
    def config(self) -> Path:
        """core.yaml, orderer.yaml, crypto-config.yaml and configtx.yaml."""
        return self.network / "config"

    @property
    def logs(self) -> Path:
        """One log file per process."""
        return self.network / "logs"

    @property
    def pids(self) -> Path:
        """One PID file per process."""
        return self.network / "pids"

    @property
    def state_file(self) -> Path:
        """What `up` built: ports and package id, for `status` and `down`."""
        return self.network / "state.json"

    @property
    def connection_file(self) -> Path:
        """Per-organisation endpoints and identities for gateway clients."""
        return self.network / "connection.json"

    def tool(self, name: str) -> Path:
        """Path of one Fabric binary."""
        return self.bin_dir / name

    def peer_node(self, org: Org) -> Path:
        """The peer's cryptogen folder (msp/ and tls/)."""
        return self.crypto / "peerOrganizations" / org.domain / "peers" / org.peer_host

    def org_user(self, org: Org, user: str) -> Path:
        """A user's cryptogen folder, user being `Admin` or `User1`."""
        return self.crypto / "peerOrganizations" / org.domain / "users" / f"{user}@{org.domain}"

    @property
    def orderer_node(self) -> Path:
        """The orderer's cryptogen folder (msp/ and tls/)."""
        return self.crypto / "ordererOrganizations" / ORDERER_DOMAIN / "orderers" / ORDERER_HOST

    @property
    def orderer_admin_user(self) -> Path:
        """The orderer organisation's admin, whose TLS client certificate osnadmin presents."""
        return (
            self.crypto
            / "ordererOrganizations"
            / ORDERER_DOMAIN
            / "users"
            / (f"Admin@{ORDERER_DOMAIN}")
        )
