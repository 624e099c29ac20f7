"""A real Fabric network: channel joined, chaincode committed with its policy, invoke and query."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pytest

from chaincode.devnet.layout import CHANNEL, ORGS
from chaincode.devnet.network import Network
from chaincode.devnet.procs import DevnetError

# Needs the Fabric binaries; run with `make test-fabric` (see README).
pytestmark = pytest.mark.fabric

WAREHOUSE, BANK1, BANK2 = ORGS


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def receipt(receipt_id: str) -> dict[str, Any]:
    return {
        "receipt_id": receipt_id,
        "warehouse_id": "W1",
        "lien_keys": [h(f"{receipt_id}-epc-1")],
        "commitment": h(f"{receipt_id}-terms"),
    }


def test_the_network_came_up_quickly_with_every_organisation(
    fabric_network: dict[str, Any],
) -> None:
    assert set(fabric_network["organizations"]) == {"WarehouseMSP", "Bank1MSP", "Bank2MSP"}
    for org in fabric_network["organizations"].values():
        assert org["peer"]["address"].startswith("127.0.0.1:")
        assert org["user"]["msp_path"].endswith("/msp")
    # Once the binaries are cached, bringing the network up is a matter of seconds.
    assert fabric_network["up_seconds"] < 60


def test_every_peer_joined_the_channel_and_sees_the_committed_policy(
    fabric_devnet: Network,
) -> None:
    for org in ORGS:
        assert CHANNEL in fabric_devnet.channels(org)
        policy = fabric_devnet.committed_policy(org)
        assert policy, f"no committed definition on {org.msp_id}"
        # The validation parameter is the serialised signature policy naming the three MSPs.
        raw = base64.b64decode(policy)
        assert all(msp.encode() in raw for msp in ("WarehouseMSP", "Bank1MSP", "Bank2MSP"))


def test_an_issued_receipt_commits_and_a_query_returns_it(fabric_devnet: Network) -> None:
    started = time.monotonic()
    out = fabric_devnet.invoke(WAREHOUSE, "issue_receipt", receipt("R-net-1"), WAREHOUSE, BANK1)
    took = time.monotonic() - started
    assert "status:200" in out.replace(" ", "")
    found = json.loads(fabric_devnet.query(BANK2, "get_receipt", {"receipt_id": "R-net-1"}))
    assert found["receipt_id"] == "R-net-1"
    assert found["warehouse_msp"] == "WarehouseMSP"
    assert took < 10


def test_a_transaction_endorsed_by_the_warehouse_alone_is_invalid(fabric_devnet: Network) -> None:
    with pytest.raises(DevnetError) as refused:
        fabric_devnet.invoke(WAREHOUSE, "issue_receipt", receipt("R-net-2"), WAREHOUSE)
    assert "ENDORSEMENT_POLICY_FAILURE" in str(refused.value)
    with pytest.raises(DevnetError) as missing:
        fabric_devnet.query(BANK1, "get_receipt", {"receipt_id": "R-net-2"})
    assert "RECEIPT_NOT_FOUND" in str(missing.value)


def test_a_contract_refusal_reaches_the_client_with_its_code(fabric_devnet: Network) -> None:
    with pytest.raises(DevnetError) as refused:
        fabric_devnet.invoke(BANK1, "issue_receipt", receipt("R-net-3"), WAREHOUSE, BANK1)
    assert "FORBIDDEN: " in str(refused.value)
