"""PLEDGEWATCH_LEDGER=fabric puts the outbox and listener on a FabricLedger."""

from __future__ import annotations

import json
from pathlib import Path

from services.bootstrap import build_container
from services.ledger.fabric import FabricLedger
from services.settings import Settings


def test_the_container_builds_a_fabric_ledger_with_the_configured_identities(
    tmp_path: Path, msp_folder: Path
) -> None:
    (tmp_path / "tlsca.pem").write_text("ca")
    org = {
        "peer": {"address": "127.0.0.1:7051", "tls_ca": str(tmp_path / "tlsca.pem")},
        "user": {"msp_path": str(msp_folder)},
    }
    connection = tmp_path / "connection.json"
    connection.write_text(
        json.dumps(
            {
                "channel": "pledgewatch",
                "chaincode": "pledgewatch",
                "organizations": {
                    "WarehouseMSP": {"msp_id": "WarehouseMSP", **org},
                    "Bank1MSP": {"msp_id": "Bank1MSP", **org},
                },
            }
        )
    )
    settings = Settings.model_validate(
        {
            "db": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
            "ledger": {
                "kind": "fabric",
                "fabric_connection": str(connection),
                "fabric_msp_ids": ["Bank1MSP"],
            },
        }
    )
    container = build_container(settings)
    try:
        container.connect_ledger()  # gRPC channels open lazily: nothing is dialled here
        assert isinstance(container.ledger, FabricLedger)
        assert container.worker is not None and container.listener is not None
        assert container.ledger.msp_ids == ["Bank1MSP"]
    finally:
        container.close()
