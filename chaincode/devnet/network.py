"""Bring the local Fabric network up and down: crypto, orderer, peers, channel, chaincode.

Endorsement policy of the pledgewatch chaincode:
`AND('WarehouseMSP.peer', OR('Bank1MSP.peer', 'Bank2MSP.peer'))`. The contract's
`REQUIRED_ENDORSERS` says that register_pledge, issue_release_order and confirm_release need
both a bank and the warehouse; Fabric applies one policy to the whole chaincode, so it must hold
for every transaction: each one then carries the warehouse's and a bank's endorsement, and a
pledge or a release endorsed by one organisation alone is invalid at commit. Who may *submit*
what is the contract's own check (the submitter's role); the policy only decides whose peers
must agree on the result. A bank cannot endorse alone, and neither can the warehouse.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import string
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaincode.contract import REQUIRED_ENDORSERS
from chaincode.devnet import procs
from chaincode.devnet.binaries import ensure_binaries, sample_config_dir
from chaincode.devnet.layout import (
    BUILDER_SOURCE,
    CHAINCODE,
    CHAINCODE_LABEL,
    CHANNEL,
    DOMAIN,
    ORDERER_HOST,
    ORGS,
    TEMPLATES,
    Layout,
    Org,
    Ports,
    project_root,
)
from chaincode.devnet.package import write_package
from chaincode.devnet.procs import DevnetError

ENDORSEMENT_POLICY = "AND('WarehouseMSP.peer',OR('Bank1MSP.peer','Bank2MSP.peer'))"
CHAINCODE_VERSION = "1"
CHAINCODE_SEQUENCE = 1
START_TIMEOUT_S = 30.0
ORDERER = "orderer"
CHAINCODE_SERVER = "chaincode"
PROFILE = "PledgewatchChannel"
# Fails at import if the contract stops asking for two parties where the policy provides them.
assert {"register_pledge", "issue_release_order", "confirm_release"} <= {
    fn for fn, parties in REQUIRED_ENDORSERS.items() if parties == {"bank", "warehouse"}
}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def peer_name(org: Org) -> str:
    """Process name of org's peer (PID and log file names)."""
    return f"peer-{org.key}"


def org_roles() -> str:
    """The MSP -> role map the chaincode server runs with."""
    return ",".join(f"{org.msp_id}={org.role}" for org in ORGS)


@dataclass
class Timings:
    """Seconds spent on each step of `up`."""

    steps: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.monotonic)

    def mark(self, step: str) -> None:
        """Record the time since the previous mark under step."""
        now = time.monotonic()
        self.steps[step] = round(now - self._last, 3)
        self._last = now

    @property
    def total(self) -> float:
        """Sum of every step."""
        return round(sum(self.steps.values()), 3)


class Network:
    """One devnet: its folders, its port plan and the commands that drive it."""

    def __init__(self, layout: Layout, ports: Ports) -> None:
        self.layout = layout
        self.ports = ports

    # -- environments -------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        # Fabric reads any CORE_/ORDERER_ variable: never let the caller's leak into a process.
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CORE_", "ORDERER_", "FABRIC_", "CHAINCODE_"))
        }
        return keep

    def _template_env(self, name: str, values: Mapping[str, object]) -> dict[str, str]:
        text = string.Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)
        env = self._base_env()
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
        return env

    def orderer_env(self) -> dict[str, str]:
        """Environment of the orderer process."""
        return self._template_env(
            "orderer.env",
            {
                "config_dir": self.layout.config,
                "node_dir": self.layout.orderer_node,
                "data_dir": self.layout.network / "orderer",
                "orderer_port": self.ports.orderer,
                "admin_port": self.ports.orderer_admin,
                "operations_port": self.ports.orderer_operations,
            },
        )

    def peer_env(self, org: Org) -> dict[str, str]:
        """Environment of org's peer process."""
        ports = self.ports.peer(org)
        return self._template_env(
            "peer.env",
            {
                "config_dir": self.layout.config,
                "node_dir": self.layout.peer_node(org),
                "data_dir": self.layout.network / peer_name(org),
                "peer_host": org.peer_host,
                "peer_port": ports.listen,
                "chaincode_port": ports.chaincode,
                "operations_port": ports.operations,
                "msp_id": org.msp_id,
                "builder_dir": self.layout.network / "builders" / "ccaas",
            },
        )

    def cli_env(self, org: Org, user: str = "Admin", log_spec: str = "WARNING") -> dict[str, str]:
        """Environment for the `peer` CLI acting as user of org against org's peer."""
        env = self._base_env()
        env.update(
            {
                "FABRIC_CFG_PATH": str(self.layout.config),
                "FABRIC_LOGGING_SPEC": log_spec,
                "CORE_PEER_LOCALMSPID": org.msp_id,
                "CORE_PEER_MSPCONFIGPATH": str(self.layout.org_user(org, user) / "msp"),
                "CORE_PEER_ADDRESS": f"127.0.0.1:{self.ports.peer(org).listen}",
                "CORE_PEER_TLS_ENABLED": "true",
                "CORE_PEER_TLS_ROOTCERT_FILE": str(self.peer_tls_ca(org)),
            }
        )
        return env

    def peer_tls_ca(self, org: Org) -> Path:
        """The TLS CA certificate that signed org's peer certificate."""
        return self.layout.peer_node(org) / "tls" / "ca.crt"

    @property
    def orderer_tls_ca(self) -> Path:
        """The TLS CA certificate that signed the orderer's certificate."""
        return self.layout.orderer_node / "tls" / "ca.crt"

    def orderer_args(self) -> list[str]:
        """`peer` CLI flags to reach the orderer over TLS."""
        return [
            "-o",
            f"127.0.0.1:{self.ports.orderer}",
            "--tls",
            "--cafile",
            str(self.orderer_tls_ca),
        ]

    def peer_args(self, *orgs: Org) -> list[str]:
        """`peer` CLI flags naming the endorsing peers of orgs with their TLS CAs."""
        args: list[str] = []
        for org in orgs:
            args += ["--peerAddresses", f"127.0.0.1:{self.ports.peer(org).listen}"]
            args += ["--tlsRootCertFiles", str(self.peer_tls_ca(org))]
        return args

    def peer_cli(
        self, org: Org, *args: str, what: str, user: str = "Admin", log_spec: str = "WARNING"
    ) -> str:
        """Run the `peer` CLI as user of org; its standard output, or raise with all output."""
        done = procs.run(
            [str(self.layout.tool("peer")), *args],
            self.cli_env(org, user, log_spec),
            self.layout.network,
            what,
        )
        return done.stdout

    # -- steps of `up` ------------------------------------------------------------------------

    def generate(self, progress: Progress) -> None:
        """Fresh network folder: builder, stock configs, crypto material and the channel block."""
        net = self.layout.network
        if net.exists():
            shutil.rmtree(net)
        self.layout.config.mkdir(parents=True)
        # A copy, made executable here, so the peer never depends on file modes in a checkout.
        builder = net / "builders" / "ccaas"
        shutil.copytree(BUILDER_SOURCE, builder)
        for script in (builder / "bin").iterdir():
            script.chmod(0o755)
        sample = sample_config_dir(progress)
        for name in ("core.yaml", "orderer.yaml"):
            target = self.layout.config / name
            shutil.copyfile(sample / name, target)
            target.chmod(0o644)  # the module cache is read-only
        values: dict[str, object] = {
            "domain": DOMAIN,
            "crypto": self.layout.crypto,
            "orderer_port": self.ports.orderer,
            **{f"{org.key}_peer_port": self.ports.peer(org).listen for org in ORGS},
        }
        for name in ("crypto-config.yaml", "configtx.yaml"):
            text = string.Template((TEMPLATES / name).read_text(encoding="utf-8"))
            (self.layout.config / name).write_text(text.substitute(values), encoding="utf-8")
        env = self._base_env()
        procs.run(
            [
                str(self.layout.tool("cryptogen")),
                "generate",
                f"--config={self.layout.config / 'crypto-config.yaml'}",
                f"--output={self.layout.crypto}",
            ],
            env,
            net,
            "cryptogen generate",
        )
        procs.run(
            [
                str(self.layout.tool("configtxgen")),
                "-configPath",
                str(self.layout.config),
                "-profile",
                PROFILE,
                "-channelID",
                CHANNEL,
                "-outputBlock",
                str(self.genesis_block),
            ],
            env,
            net,
            "configtxgen (channel genesis block)",
        )

    @property
    def genesis_block(self) -> Path:
        """The channel's genesis block, made by configtxgen."""
        return self.layout.network / "channel" / f"{CHANNEL}.block"

    def start_nodes(self) -> None:
        """Start the orderer and the three peers, then wait until each reports healthy."""
        busy = procs.busy_ports(self.ports.all())
        if busy:
            raise DevnetError(
                f"ports already in use: {busy}; run `pledgewatch fabric down` or pick another "
                "--base-port"
            )
        orderer_bin = str(self.layout.tool("orderer"))
        procs.start(self.layout, ORDERER, [orderer_bin], self.orderer_env(), self.layout.network)
        for org in ORGS:
            procs.start(
                self.layout,
                peer_name(org),
                [str(self.layout.tool("peer")), "node", "start"],
                self.peer_env(org),
                self.layout.network,
            )
        checks = [(ORDERER, self.ports.orderer_operations)] + [
            (peer_name(org), self.ports.peer(org).operations) for org in ORGS
        ]
        for name, port in checks:
            procs.wait_until(
                f"{name} /healthz on port {port}",
                functools.partial(self._healthy, name, port),
                START_TIMEOUT_S,
                self.layout.logs / f"{name}.log",
            )

    def _healthy(self, name: str, port: int) -> bool:
        return self._alive(name) and procs.healthy(port)

    def _alive(self, name: str) -> bool:
        if procs.running(self.layout, name) is None:
            raise DevnetError(
                f"{name} exited during start-up\n--- {name}.log ---\n"
                f"{procs.log_tail(self.layout.logs / f'{name}.log')}"
            )
        return True

    def join_channel(self) -> None:
        """Orderer joins with the genesis block (osnadmin), then every peer joins."""
        admin = self.layout.orderer_admin_user / "tls"
        procs.run(
            [
                str(self.layout.tool("osnadmin")),
                "channel",
                "join",
                "--channelID",
                CHANNEL,
                "--config-block",
                str(self.genesis_block),
                "-o",
                f"127.0.0.1:{self.ports.orderer_admin}",
                "--ca-file",
                str(self.orderer_tls_ca),
                "--client-cert",
                str(admin / "client.crt"),
                "--client-key",
                str(admin / "client.key"),
            ],
            self._base_env(),
            self.layout.network,
            "osnadmin channel join",
        )
        with ThreadPoolExecutor(len(ORGS)) as pool:
            joins = [
                pool.submit(
                    self.peer_cli,
                    org,
                    "channel",
                    "join",
                    "-b",
                    str(self.genesis_block),
                    what=f"{peer_name(org)} channel join",
                )
                for org in ORGS
            ]
            for join in joins:
                join.result()

    def install_chaincode(self) -> str:
        """Install the ccaas package on every peer and return its package id."""
        address = f"127.0.0.1:{self.ports.chaincode_server}"
        package = write_package(
            self.layout.network / "chaincode" / f"{CHAINCODE_LABEL}.tar.gz",
            CHAINCODE_LABEL,
            address,
        )
        with ThreadPoolExecutor(len(ORGS)) as pool:
            installs = [
                pool.submit(
                    self.peer_cli,
                    org,
                    "lifecycle",
                    "chaincode",
                    "install",
                    str(package),
                    what=f"chaincode install on {peer_name(org)}",
                )
                for org in ORGS
            ]
            for install in installs:
                install.result()
        out = self.peer_cli(
            ORGS[0],
            "lifecycle",
            "chaincode",
            "calculatepackageid",
            str(package),
            what="calculatepackageid",
        )
        return out.strip().splitlines()[-1].strip()

    def start_chaincode_server(self, package_id: str) -> None:
        """Start our chaincode server (the peers dial it on first use) and wait for its port."""
        env = self._base_env()
        env.update(
            {
                "CHAINCODE_ID": package_id,
                "CHAINCODE_SERVER_ADDRESS": f"127.0.0.1:{self.ports.chaincode_server}",
                "PLEDGEWATCH_ORG_ROLES": org_roles(),
                "PYTHONUNBUFFERED": "1",
            }
        )
        procs.start(
            self.layout,
            CHAINCODE_SERVER,
            [sys.executable, "-m", "chaincode.runtime"],
            env,
            project_root(),
        )
        procs.wait_until(
            f"chaincode server on port {self.ports.chaincode_server}",
            lambda: self._alive(CHAINCODE_SERVER) and procs.port_open(self.ports.chaincode_server),
            START_TIMEOUT_S,
            self.layout.logs / f"{CHAINCODE_SERVER}.log",
        )

    def _definition_args(self) -> list[str]:
        return [
            "--channelID",
            CHANNEL,
            "--name",
            CHAINCODE,
            "--version",
            CHAINCODE_VERSION,
            "--sequence",
            str(CHAINCODE_SEQUENCE),
            "--signature-policy",
            ENDORSEMENT_POLICY,
        ]

    def approve(self, org: Org, package_id: str) -> None:
        """Approve the chaincode definition for org, retrying while Raft elects its leader."""
        args = [
            "lifecycle",
            "chaincode",
            "approveformyorg",
            *self.orderer_args(),
            "--package-id",
            package_id,
            *self._definition_args(),
        ]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.peer_cli(org, *args, what=f"approveformyorg for {org.msp_id}")
                return
            except DevnetError as exc:
                text = str(exc)
                # Right after the join the single Raft node may still be electing itself.
                transient = "leader" in text.lower() or "SERVICE_UNAVAILABLE" in text
                if not transient or time.monotonic() > deadline:
                    raise
                time.sleep(procs.POLL_S)

    def commit_ready(self, org: Org) -> bool:
        """True when org's peer sees every organisation's approval."""
        out = self.peer_cli(
            org,
            "lifecycle",
            "chaincode",
            "checkcommitreadiness",
            "--output",
            "json",
            *self._definition_args(),
            what="checkcommitreadiness",
        )
        approvals = json.loads(out[out.index("{") :]).get("approvals", {})
        return all(approvals.get(o.msp_id) for o in ORGS)

    def deploy_chaincode(self, package_id: str) -> None:
        """Approve for every organisation, wait until all peers see it, commit the definition."""
        with ThreadPoolExecutor(len(ORGS)) as pool:
            for approval in [pool.submit(self.approve, org, package_id) for org in ORGS]:
                approval.result()
        for org in ORGS:
            procs.wait_until(
                f"approvals visible on {peer_name(org)}",
                functools.partial(self.commit_ready, org),
                START_TIMEOUT_S,
            )
        self.peer_cli(
            ORGS[0],
            "lifecycle",
            "chaincode",
            "commit",
            *self.orderer_args(),
            *self._definition_args(),
            *self.peer_args(*ORGS),
            what="chaincode commit",
        )
        for org in ORGS:
            procs.wait_until(
                f"chaincode definition committed on {peer_name(org)}",
                functools.partial(self._committed, org),
                START_TIMEOUT_S,
            )

    def _committed(self, org: Org) -> bool:
        return self.committed_policy(org) is not None

    def committed_policy(self, org: Org) -> str | None:
        """The committed definition's validation parameter as org's peer reports it, or None."""
        try:
            out = self.peer_cli(
                org,
                "lifecycle",
                "chaincode",
                "querycommitted",
                "--channelID",
                CHANNEL,
                "--name",
                CHAINCODE,
                "--output",
                "json",
                what="querycommitted",
            )
        except DevnetError:
            return None
        definition = json.loads(out[out.index("{") :])
        return str(definition.get("validation_parameter", ""))

    def channels(self, org: Org) -> list[str]:
        """Channels org's peer has joined."""
        out = self.peer_cli(org, "channel", "list", what="peer channel list")
        lines = out.splitlines()
        start = next((i for i, line in enumerate(lines) if "Channels peers has joined" in line), -1)
        return [line.strip() for line in lines[start + 1 :] if line.strip()]

    def invoke(self, org: Org, fn: str, args: Mapping[str, Any], *endorsers: Org) -> str:
        """Submit fn as org's User1 through the CLI, endorsed by endorsers; wait for the commit."""
        command = [
            str(self.layout.tool("peer")),
            "chaincode",
            "invoke",
            *self.orderer_args(),
            "-C",
            CHANNEL,
            "-n",
            CHAINCODE,
            *self.peer_args(*endorsers),
            "-c",
            json.dumps({"Args": [fn, json.dumps(args, sort_keys=True)]}),
            "--waitForEvent",
        ]
        # The CLI reports the chaincode's answer in an INFO log line on standard error.
        env = self.cli_env(org, "User1", log_spec="INFO")
        done = procs.run(command, env, self.layout.network, f"invoke {fn}")
        return done.stdout + done.stderr

    def query(self, org: Org, fn: str, args: Mapping[str, Any]) -> str:
        """Evaluate fn on org's peer as org's User1; the raw result."""
        return self.peer_cli(
            org,
            "chaincode",
            "query",
            "-C",
            CHANNEL,
            "-n",
            CHAINCODE,
            "-c",
            json.dumps({"Args": [fn, json.dumps(args, sort_keys=True)]}),
            what=f"query {fn}",
            user="User1",
        )

    # -- outputs ------------------------------------------------------------------------------

    def connection_info(self, package_id: str) -> dict[str, Any]:
        """What a gateway client needs: per organisation the peer, its TLS CA and identities."""
        orgs: dict[str, Any] = {}
        for org in ORGS:
            user = self.layout.org_user(org, "User1") / "msp"
            admin = self.layout.org_user(org, "Admin") / "msp"
            orgs[org.msp_id] = {
                "msp_id": org.msp_id,
                "role": org.role,
                "peer": {
                    "address": f"127.0.0.1:{self.ports.peer(org).listen}",
                    "host_name": org.peer_host,
                    "tls_ca": str(self.peer_tls_ca(org)),
                    "operations": f"http://127.0.0.1:{self.ports.peer(org).operations}",
                },
                "user": _identity(user),
                "admin": _identity(admin),
            }
        return {
            "version": 1,
            "channel": CHANNEL,
            "chaincode": CHAINCODE,
            "package_id": package_id,
            "endorsement_policy": ENDORSEMENT_POLICY,
            "orderer": {
                "address": f"127.0.0.1:{self.ports.orderer}",
                "host_name": ORDERER_HOST,
                "tls_ca": str(self.orderer_tls_ca),
            },
            "chaincode_server": f"127.0.0.1:{self.ports.chaincode_server}",
            "organizations": orgs,
        }

    def stop_all(self) -> list[str]:
        """Stop every process of the network (chaincode first); names of those that ran."""
        names = [CHAINCODE_SERVER, *(peer_name(org) for org in ORGS), ORDERER]
        return [name for name in names if procs.stop(self.layout, name)]


def _identity(msp: Path) -> dict[str, str]:
    """An MSP folder with its signing certificate and private key files."""
    cert = next(iter(sorted((msp / "signcerts").glob("*.pem"))), msp / "signcerts" / "cert.pem")
    key = next(iter(sorted((msp / "keystore").glob("*"))), msp / "keystore" / "priv_sk")
    return {"msp_path": str(msp), "cert": str(cert), "key": str(key)}


def process_names() -> list[str]:
    """Every process name of the network, in start order."""
    return [ORDERER, *(peer_name(org) for org in ORGS), CHAINCODE_SERVER]


def saved_ports(layout: Layout) -> Ports | None:
    """The port plan of the network last brought up in layout, if any."""
    try:
        state = json.loads(layout.state_file.read_text(encoding="utf-8"))
        return Ports(int(state["base_port"]))
    except (OSError, ValueError, KeyError):
        return None


def up(
    layout: Layout, base_port: int, progress: Progress = _quiet
) -> tuple[dict[str, Any], Timings]:
    """Build binaries if needed, then start a fresh network; return connection info and timings."""
    timings = Timings()
    ensure_binaries(layout, progress)
    timings.mark("binaries")
    previous = saved_ports(layout)
    if previous is not None:
        Network(layout, previous).stop_all()
    net = Network(layout, Ports(base_port))
    try:
        progress("generating crypto material and the channel genesis block")
        net.generate(progress)
        timings.mark("generate")
        progress("starting the orderer and three peers")
        net.start_nodes()
        timings.mark("start_nodes")
        progress(f"joining channel {CHANNEL}")
        net.join_channel()
        timings.mark("join_channel")
        progress("installing the chaincode package on every peer")
        package_id = net.install_chaincode()
        timings.mark("install")
        progress(f"starting the chaincode server ({package_id})")
        net.start_chaincode_server(package_id)
        timings.mark("chaincode_server")
        progress(f"approving and committing the definition, policy {ENDORSEMENT_POLICY}")
        net.deploy_chaincode(package_id)
        timings.mark("approve_commit")
    except BaseException:
        net.stop_all()
        raise
    info = net.connection_info(package_id)
    layout.connection_file.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    state = {"base_port": base_port, "package_id": package_id, "timings": timings.steps}
    layout.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return info, timings


def down(layout: Layout, purge: bool = False) -> list[str]:
    """Stop every process of the network; with purge, delete the network folder too."""
    ports = saved_ports(layout) or Ports(0)
    stopped = Network(layout, ports).stop_all()
    if purge and layout.network.exists():
        shutil.rmtree(layout.network)
    return stopped


def status(layout: Layout) -> dict[str, dict[str, Any]]:
    """Per process: PID when running and, for Fabric nodes, whether /healthz answers."""
    ports = saved_ports(layout)
    health_ports: dict[str, int] = {}
    if ports is not None:
        health_ports[ORDERER] = ports.orderer_operations
        health_ports.update({peer_name(org): ports.peer(org).operations for org in ORGS})
    report: dict[str, dict[str, Any]] = {}
    for name in process_names():
        pid = procs.running(layout, name)
        entry: dict[str, Any] = {"pid": pid, "running": pid is not None}
        if name in health_ports:
            entry["healthy"] = pid is not None and procs.healthy(health_ports[name])
        elif name == CHAINCODE_SERVER and ports is not None:
            entry["healthy"] = pid is not None and procs.port_open(ports.chaincode_server)
        report[name] = entry
    return report
