"""Devnet pieces that need no Fabric binary: ports, templates, the ccaas package and builder."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from chaincode.devnet.layout import BUILDER_SOURCE, DEFAULT_BASE_PORT, ORGS, Layout, Ports
from chaincode.devnet.network import ENDORSEMENT_POLICY, Network, org_roles
from chaincode.devnet.package import ccaas_package, package_id
from chaincode.runtime.roles import parse_org_roles


def test_every_process_gets_ports_of_its_own_and_none_is_a_fabric_default() -> None:
    ports = Ports(DEFAULT_BASE_PORT).all()
    assert len(ports) == len(set(ports)) == 4 + 3 * len(ORGS)
    # 9443 is both the orderer admin and the peer operations default; 7051-7053 the peer's.
    assert not {7050, 7051, 7052, 7053, 8443, 9443} & set(ports)


def test_two_base_ports_ten_apart_per_org_do_not_overlap() -> None:
    assert not set(Ports(17050).all()) & set(Ports(27050).all())


def test_the_env_templates_fill_every_placeholder(tmp_path: Path) -> None:
    net = Network(Layout(tmp_path), Ports(20000))
    orderer = net.orderer_env()
    assert orderer["ORDERER_GENERAL_LISTENPORT"] == "20000"
    assert orderer["ORDERER_ADMIN_LISTENADDRESS"] == "127.0.0.1:20001"
    assert orderer["ORDERER_OPERATIONS_LISTENADDRESS"] == "127.0.0.1:20002"
    assert orderer["ORDERER_GENERAL_BOOTSTRAPMETHOD"] == "none"
    peer = net.peer_env(ORGS[1])
    assert peer["CORE_PEER_LOCALMSPID"] == "Bank1MSP"
    assert peer["CORE_PEER_LISTENADDRESS"] == "127.0.0.1:20020"
    assert peer["CORE_OPERATIONS_LISTENADDRESS"] == "127.0.0.1:20022"
    assert peer["CORE_VM_ENDPOINT"] == ""
    builders = json.loads(peer["CORE_CHAINCODE_EXTERNALBUILDERS"])
    assert builders == [{"name": "ccaas", "path": str(tmp_path / "network/builders/ccaas")}]
    assert not any("$" in value for value in {**orderer, **peer}.values())


def test_a_caller_s_fabric_variables_never_leak_into_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORE_PEER_TLS_ENABLED", "false")
    monkeypatch.setenv("ORDERER_GENERAL_LISTENPORT", "1")
    net = Network(Layout(tmp_path), Ports(20000))
    assert net.peer_env(ORGS[0])["CORE_PEER_TLS_ENABLED"] == "true"
    assert net.orderer_env()["ORDERER_GENERAL_LISTENPORT"] == "20000"


def test_the_chaincode_server_gets_a_role_for_every_organisation() -> None:
    roles = parse_org_roles(org_roles())
    assert dict(roles) == {"WarehouseMSP": "warehouse", "Bank1MSP": "bank", "Bank2MSP": "bank"}


def test_the_policy_needs_the_warehouse_and_one_bank() -> None:
    assert ENDORSEMENT_POLICY == "AND('WarehouseMSP.peer',OR('Bank1MSP.peer','Bank2MSP.peer'))"


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def test_the_ccaas_package_holds_metadata_and_the_server_address() -> None:
    package = ccaas_package("pledgewatch_1", "127.0.0.1:17059")
    outer = _members(package)
    assert set(outer) == {"metadata.json", "code.tar.gz"}
    assert json.loads(outer["metadata.json"]) == {"type": "ccaas", "label": "pledgewatch_1"}
    connection = json.loads(_members(outer["code.tar.gz"])["connection.json"])
    assert connection == {
        "address": "127.0.0.1:17059",
        "dial_timeout": "10s",
        "tls_required": False,
    }


def test_the_same_package_always_has_the_same_id() -> None:
    first = package_id("pledgewatch_1", ccaas_package("pledgewatch_1", "127.0.0.1:1"))
    second = package_id("pledgewatch_1", ccaas_package("pledgewatch_1", "127.0.0.1:1"))
    assert first == second and first.startswith("pledgewatch_1:")


def _script(name: str, *args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(BUILDER_SOURCE / "bin" / name), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_builder_detects_builds_and_releases_a_ccaas_package(tmp_path: Path) -> None:
    source, metadata, build, release = (tmp_path / d for d in ("src", "meta", "build", "rel"))
    for folder in (source, metadata, build, release):
        folder.mkdir()
    (metadata / "metadata.json").write_text('{"type": "ccaas", "label": "x"}')
    (source / "connection.json").write_text('{"address": "127.0.0.1:1"}')
    assert _script("detect", source, metadata).returncode == 0
    assert _script("build", source, metadata, build).returncode == 0
    assert _script("release", build, release).returncode == 0
    served = release / "chaincode" / "server" / "connection.json"
    assert json.loads(served.read_text()) == {"address": "127.0.0.1:1"}


def test_the_builder_leaves_other_package_types_alone(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"type": "golang", "label": "x"}')
    assert _script("detect", tmp_path, tmp_path).returncode != 0
