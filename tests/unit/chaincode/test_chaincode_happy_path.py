"""The whole story on the ledger: issue, pledge, disburse, repay, release, lift."""

from __future__ import annotations

import json

from chaincode_net import Net, h

from chaincode.canonical import canonical_json


def test_the_full_loan_life_cycle_moves_every_record_through_its_statuses(net: Net) -> None:
    keys = net.issue("R1", [h("epc-1"), h("epc-2")])
    receipt = net.state("receipt:R1")
    assert receipt == {
        "receipt_id": "R1",
        "warehouse_id": "WH-QD-01",
        "warehouse_msp": "WarehouseMSP",
        "lien_keys": keys,
        "commitment": h("receipt-R1"),
        "status": "issued",
        "loan_id": None,
        "issued_at": "2025-01-01T00:00:01Z",
        "updated_at": "2025-01-01T00:00:01Z",
    }

    net.pledge("L1", ["R1"])
    assert net.state("loan:L1") == {
        "loan_id": "L1",
        "bank_msp": "BankAMSP",
        "warehouse_msp": "WarehouseMSP",
        "receipt_ids": ["R1"],
        "status": "pledged",
        "commitment": h("loan-L1"),
        "updated_at": "2025-01-01T00:00:02Z",
    }
    assert net.state("receipt:R1")["status"] == "pledged"
    assert net.state("receipt:R1")["loan_id"] == "L1"
    for key in keys:
        assert net.state(f"lien:{key}") == {
            "lien_key": key,
            "loan_id": "L1",
            "bank_msp": "BankAMSP",
            "receipt_id": "R1",
            "status": "active",
            "since": "2025-01-01T00:00:02Z",
            "updated_at": "2025-01-01T00:00:02Z",
        }

    net.set_loan("L1", "active")
    repaid = net.call(net.bank_a, "update_loan", loan_id="L1", status="active", commitment=h("r"))
    assert repaid["previous_status"] == "active"
    assert net.state("loan:L1")["commitment"] == h("r")

    net.call(
        net.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=[keys[0]],
        commitment=h("order-1"),
    )
    order = net.state("release:O1")
    assert order["status"] == "open"
    assert order["bank_msp"] == "BankAMSP"
    assert order["warehouse_msp"] == "WarehouseMSP"

    confirmed = net.call(net.warehouse, "confirm_release", order_id="O1", receipt_closed=False)
    assert confirmed["released_lien_keys"] == [keys[0]]
    assert confirmed["receipt_status"] == "pledged"
    assert net.state("release:O1")["status"] == "executed"
    assert net.state("release:O1")["executed_at"] == net.ledger.transactions[-1].timestamp
    assert net.state(f"lien:{keys[0]}")["status"] == "released"
    assert net.state(f"lien:{keys[1]}")["status"] == "active"

    lifted = net.call(net.bank_a, "lift_lien", loan_id="L1", commitment=h("closed"))
    assert lifted == {
        "loan_id": "L1",
        "status": "closed",
        "lifted_lien_keys": [keys[1]],
        "freed_receipt_ids": ["R1"],
    }
    assert net.state("loan:L1")["status"] == "closed"
    assert net.state(f"lien:{keys[0]}")["status"] == "released"
    assert net.state(f"lien:{keys[1]}")["status"] == "lifted"
    assert net.state("receipt:R1")["status"] == "issued"
    assert net.state("receipt:R1")["loan_id"] is None

    net.call(net.warehouse, "retire_receipt", receipt_id="R1")
    assert net.state("receipt:R1")["status"] == "released"


def test_every_transaction_sets_exactly_one_event_naming_what_changed(net: Net) -> None:
    keys = net.issue("R1", [h("epc-1")])
    net.pledge("L1", ["R1"])
    net.set_loan("L1", "active")
    net.call(
        net.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=keys,
        commitment=h("o"),
    )
    net.call(net.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    net.issue("R2")
    net.pledge("L2", ["R2"])
    net.call(net.bank_a, "lift_lien", loan_id="L2", commitment=h("c"))
    net.call(net.warehouse, "retire_receipt", receipt_id="R2")
    net.call(net.bank_a, "anchor", anchor_id="A1", kind="epcis", hash=h("event"))

    assert all(tx.event is not None for tx in net.ledger.transactions)
    events = [(name, json.loads(payload)) for _, name, payload in net.ledger.events]
    assert [name for name, _ in events] == [
        "ReceiptIssued",
        "PledgeRegistered",
        "LoanUpdated",
        "ReleaseOrdered",
        "ReleaseConfirmed",
        "ReceiptIssued",
        "PledgeRegistered",
        "LienLifted",
        "ReceiptRetired",
        "Anchored",
    ]
    by_name = dict(events)
    assert by_name["PledgeRegistered"]["lien_keys"] == [h("epc-R2")]
    assert by_name["LoanUpdated"] == {
        "loan_id": "L1",
        "previous_status": "pledged",
        "status": "active",
        "liquidated_lien_keys": [],
        "liquidated_receipt_ids": [],
    }
    assert by_name["ReleaseConfirmed"] == {
        "order_id": "O1",
        "loan_id": "L1",
        "receipt_id": "R1",
        "status": "executed",
        "released_lien_keys": keys,
        "receipt_status": "released",
    }
    assert by_name["ReceiptRetired"] == {"receipt_id": "R2", "status": "released"}
    assert by_name["Anchored"] == {"anchor_id": "A1", "kind": "epcis", "hash": h("event")}


def test_events_never_name_the_lending_bank(pledged: Net) -> None:
    for _, _, payload in pledged.ledger.events:
        assert b"BankAMSP" not in payload


def test_a_transaction_returns_its_event_payload_as_canonical_json(net: Net) -> None:
    raw = net.submit(
        net.warehouse,
        "issue_receipt",
        json.dumps(
            {"receipt_id": "R1", "warehouse_id": "W", "lien_keys": [h("k")], "commitment": h("c")}
        ),
    )
    _, _, payload = net.ledger.events[-1]
    assert raw == payload == canonical_json(json.loads(raw))


def test_every_state_value_is_canonical_json_with_sorted_keys(pledged: Net) -> None:
    pledged.set_loan("L1", "active")
    pledged.call(pledged.bank_a, "anchor", anchor_id="A1", kind="clip", hash=h("clip"))
    snapshot = pledged.ledger.snapshot()
    assert {key.split(":")[0] for key in snapshot} == {"receipt", "lien", "loan", "anchor"}
    for value in snapshot.values():
        decoded = json.loads(value)
        assert value == canonical_json(decoded)
        assert list(decoded) == sorted(decoded)


def test_timestamps_come_from_the_transaction_not_the_clock(net: Net) -> None:
    net.ledger.run(
        net.warehouse,
        lambda stub: net.contract.invoke(
            stub,
            "issue_receipt",
            json.dumps(
                {
                    "receipt_id": "R9",
                    "warehouse_id": "W",
                    "lien_keys": [h("k9")],
                    "commitment": h("c9"),
                }
            ),
        ),
        timestamp="2031-07-04T12:00:00Z",
    )
    assert net.state("receipt:R9")["issued_at"] == "2031-07-04T12:00:00Z"
