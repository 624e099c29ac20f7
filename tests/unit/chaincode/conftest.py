"""Shared fixtures: a fresh in-memory ledger running the pledge contract for each test."""

from __future__ import annotations

import pytest
from chaincode_net import Net, h


@pytest.fixture
def net() -> Net:
    """A fresh network per test."""
    return Net()


@pytest.fixture
def pledged(net: Net) -> Net:
    """A network where bank A holds loan L1 over receipt R1 (two tagged units)."""
    net.issue("R1", [h("epc-1"), h("epc-2")])
    net.pledge("L1", ["R1"])
    return net
