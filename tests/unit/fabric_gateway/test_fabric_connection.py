"""The connection file, in the devnet's nested form and in the flat form, with relative paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ledger.fabric.connection import ConnectionFileError, load_connection, load_identities


def test_the_devnets_nested_form_loads_with_identities(tmp_path: Path, msp_folder: Path) -> None:
    (tmp_path / "tlsca.pem").write_text("ca")
    file = tmp_path / "net" / "connection.json"
    file.parent.mkdir()
    file.write_text(
        json.dumps(
            {
                "version": 1,
                "channel": "pledgewatch",
                "chaincode": "pledgewatch",
                "organizations": {
                    "WarehouseMSP": {
                        "msp_id": "WarehouseMSP",
                        "role": "warehouse",
                        "peer": {
                            "address": "127.0.0.1:7051",
                            "host_name": "peer0.warehouse.example",
                            "tls_ca": str(tmp_path / "tlsca.pem"),
                        },
                        "user": {"msp_path": str(msp_folder)},
                    }
                },
            }
        )
    )
    connection = load_connection(file)
    endpoint = connection.endpoint("WarehouseMSP")
    assert (connection.channel, connection.chaincode) == ("pledgewatch", "pledgewatch")
    assert endpoint.peer_address == "127.0.0.1:7051"
    assert endpoint.tls_root_pem() == b"ca"
    assert endpoint.tls_server_name == ""
    identities = load_identities(connection)
    assert identities["WarehouseMSP"].msp_id == "WarehouseMSP"


def test_the_flat_form_resolves_relative_paths_against_the_file(tmp_path: Path) -> None:
    file = tmp_path / "conn.json"
    file.write_text(
        json.dumps(
            {
                "orgs": [
                    {
                        "msp_id": "Bank1MSP",
                        "peer_address": "localhost:9051",
                        "tls_ca_cert": "crypto/ca.pem",
                        "user_msp": "crypto/user/msp",
                        "tls_server_name": "peer0.bank1",
                    }
                ]
            }
        )
    )
    endpoint = load_connection(file).endpoint("Bank1MSP")
    assert endpoint.tls_ca_cert == (tmp_path / "crypto" / "ca.pem").resolve()
    assert endpoint.user_msp == (tmp_path / "crypto" / "user" / "msp").resolve()
    assert endpoint.tls_server_name == "peer0.bank1"


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    file = tmp_path / "conn.json"
    file.write_text(json.dumps({"organizations": {"Bank2MSP": {"peer": {"address": "x:1"}}}}))
    with pytest.raises(ConnectionFileError, match="Bank2MSP lacks tls_ca_cert"):
        load_connection(file)


def test_an_unknown_msp_is_a_clear_key_error(tmp_path: Path) -> None:
    file = tmp_path / "conn.json"
    file.write_text(
        json.dumps({"orgs": {"A": {"peer_address": "a:1", "tls_ca_cert": "c", "user_msp": "m"}}})
    )
    with pytest.raises(KeyError, match="known: A"):
        load_connection(file).endpoint("B")
