"""The `fabric_network` fixture: a real Fabric network from native binaries, for the session.

Binaries are built into the cache when missing (a few minutes, once). When they cannot be had,
the network tests fail in CI (CI=true) and when PLEDGEWATCH_FABRIC is set; otherwise, locally,
they are skipped with the reason. PLEDGEWATCH_FABRIC=off turns them off explicitly (a visible
skip, for a machine that cannot build Fabric at all). The test network has its own folder and
ports, beside any network a developer runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chaincode.devnet import network
from chaincode.devnet.binaries import BinariesUnavailableError, ensure_binaries
from chaincode.devnet.layout import Layout, Ports
from chaincode.devnet.procs import DevnetError
from tests.service_gate import FABRIC_ENV, fabric_unavailable

TEST_BASE_PORT_ENV = "PLEDGEWATCH_FABRIC_TEST_BASE_PORT"
DEFAULT_TEST_BASE_PORT = 27050


@pytest.fixture(scope="session")
def fabric_layout() -> Layout:
    """Folders of the test network: the shared binary cache, a network folder of its own."""
    return Layout(Layout.default().home, network_name="test-network")


@pytest.fixture(scope="session")
def fabric_network(fabric_layout: Layout) -> Iterator[dict[str, Any]]:
    """Bring the network up once per session, yield its connection info, tear it down."""
    if os.environ.get(FABRIC_ENV, "").strip().lower() == "off":
        fabric_unavailable("turned off")
    try:
        ensure_binaries(fabric_layout)
    except BinariesUnavailableError as exc:
        fabric_unavailable(str(exc))
    base = int(os.environ.get(TEST_BASE_PORT_ENV, "") or DEFAULT_TEST_BASE_PORT)
    started = time.monotonic()
    try:
        info, _ = network.up(fabric_layout, base)
    except (BinariesUnavailableError, DevnetError) as exc:
        pytest.fail(f"the Fabric network did not come up: {exc}", pytrace=False)
    info["up_seconds"] = round(time.monotonic() - started, 2)
    try:
        yield info
    finally:
        network.down(fabric_layout)


@pytest.fixture(scope="session")
def fabric_devnet(fabric_network: dict[str, Any], fabric_layout: Layout) -> network.Network:
    """The running test network's command helpers (peer CLI as any organisation)."""
    ports = network.saved_ports(fabric_layout)
    assert ports is not None
    return network.Network(fabric_layout, Ports(ports.base))
