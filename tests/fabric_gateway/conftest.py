"""A real Fabric network for the gateway client's tests, and a FabricLedger connected to it.

The network is started with the devnet's own startup (`chaincode.devnet.network.up`, what
`pledgewatch fabric up` runs), in a folder and on ports of its own, so it can run in the same
session as the devnet's tests (`tests/fabric/`) without the two stopping each other's peers.
Availability follows the devnet tests: in CI (CI=true) or with PLEDGEWATCH_FABRIC set, missing
binaries fail the tests; locally they skip with the reason; PLEDGEWATCH_FABRIC=off skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaincode.devnet import network
from chaincode.devnet.binaries import BinariesUnavailableError, ensure_binaries
from chaincode.devnet.layout import Layout
from chaincode.devnet.procs import DevnetError
from services.ledger.fabric import FabricLedger
from tests.service_gate import FABRIC_ENV, fabric_unavailable

BASE_PORT_ENV = "PLEDGEWATCH_GATEWAY_TEST_BASE_PORT"
# Clear of the devnet's default network and of the devnet tests' network (27050).
DEFAULT_BASE_PORT = 28050


@pytest.fixture(scope="session")
def gateway_network() -> Iterator[Path]:
    """Bring a network up for the session; yield the path of its connection file."""
    layout = Layout(Layout.default().home, network_name="gateway-test-network")
    if os.environ.get(FABRIC_ENV, "").strip().lower() == "off":
        fabric_unavailable("turned off")
    try:
        ensure_binaries(layout)
    except BinariesUnavailableError as exc:
        fabric_unavailable(str(exc))
    base = int(os.environ.get(BASE_PORT_ENV, "") or DEFAULT_BASE_PORT)
    try:
        network.up(layout, base)
    except (BinariesUnavailableError, DevnetError) as exc:
        pytest.fail(f"the Fabric network did not come up: {exc}", pytrace=False)
    try:
        yield layout.connection_file
    finally:
        network.down(layout)


@pytest.fixture(scope="session")
def ledger(gateway_network: Path) -> Iterator[FabricLedger]:
    """A FabricLedger holding all three organisations' user identities, as the demo does."""
    fabric = FabricLedger.from_connection_file(gateway_network)
    try:
        yield fabric
    finally:
        fabric.close()
