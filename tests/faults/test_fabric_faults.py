"""Fabric peer and orderer killed (-9) and restarted under load: the outbox rides it out.

The same harness as tests/faults/test_faults_under_load.py, with the ledger kind set to Fabric
(the test network of tests/fabric, from native binaries). Deselected by default like the other
Fabric suites; `make test-fabric` runs it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaincode.devnet import procs
from chaincode.devnet.layout import ORGS, Layout
from chaincode.devnet.network import ORDERER, Network, peer_name, saved_ports
from tests.fabric.conftest import fabric_layout, fabric_network  # noqa: F401 - the network
from tests.faults.backends import Backends, wait_until
from tests.faults.harness import FaultRun, assert_survived, loaded_run, run_fault

pytestmark = pytest.mark.fabric

WAREHOUSE = ORGS[0]


def _restart_node(layout: Layout, node: str) -> None:
    """kill -9 one Fabric node, start it again with its own settings, wait for /healthz."""
    ports = saved_ports(layout)
    assert ports is not None, "no running test network"
    net = Network(layout, ports)
    if node == "orderer":
        name, env, port = ORDERER, net.orderer_env(), ports.orderer_operations
        command = [str(layout.tool("orderer"))]
    else:
        name, env, port = (
            peer_name(WAREHOUSE),
            net.peer_env(WAREHOUSE),
            ports.peer(WAREHOUSE).operations,
        )
        command = [str(layout.tool("peer")), "node", "start"]
    pid = procs.running(layout, name)
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: procs.running(layout, name) is None, 20, f"{name} to exit")
    procs.start(layout, name, command, env, layout.network)
    wait_until(lambda: procs.healthy(port), 60, f"{name} /healthz")


@pytest.fixture
def loaded_on_fabric(
    fabric_network: dict[str, Any],  # noqa: F811
    fabric_layout: Layout,  # noqa: F811
    backends: Backends,
    tmp_path: Path,
) -> Iterator[FaultRun]:
    """The deployment on its private back-ends with the ledger on the Fabric test network."""
    backends.deployment.env.update(
        {
            "PLEDGEWATCH_LEDGER__KIND": "fabric",
            "PLEDGEWATCH_LEDGER__FABRIC_CONNECTION": str(fabric_layout.connection_file),
        }
    )
    yield from loaded_run(backends, tmp_path)


@pytest.mark.parametrize(
    "node",
    [
        pytest.param(n, marks=pytest.mark.fault("kill -9 + restart", f"fabric {n}"), id=n)
        for n in ("peer", "orderer")
    ],
)
def test_a_fabric_node_killed_under_load_loses_no_command(
    loaded_on_fabric: FaultRun,
    fabric_layout: Layout,  # noqa: F811
    node: str,
    request: pytest.FixtureRequest,
) -> None:
    outcome = run_fault(
        loaded_on_fabric,
        "kill -9 + restart",
        f"fabric {node}",
        lambda: _restart_node(fabric_layout, node),
        touched=(f"fabric {node}",),
    )
    assert_survived(request.node.nodeid, outcome)
