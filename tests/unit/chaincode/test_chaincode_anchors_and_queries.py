"""Anchoring evidence hashes, and what the read-only functions reveal."""

from __future__ import annotations

import json

import pytest
from chaincode_net import Net, h


@pytest.mark.parametrize("party", ["warehouse", "bank_a"])
def test_a_warehouse_or_a_bank_may_anchor_a_hash(net: Net, party: str) -> None:
    net.call(getattr(net, party), "anchor", anchor_id="A1", kind="snapshot", hash=h("frame"))
    anchored = net.call(net.auditor, "get_anchor", hash=h("frame"))
    assert anchored == {
        "anchor_id": "A1",
        "kind": "snapshot",
        "hash": h("frame"),
        "msp": getattr(net, party).msp_id,
        "anchored_at": "2025-01-01T00:00:01Z",
    }


@pytest.mark.parametrize("party", ["sme", "auditor"])
def test_other_roles_may_not_anchor(net: Net, party: str) -> None:
    net.refuse(getattr(net, party), "anchor", "FORBIDDEN", anchor_id="A1", kind="k", hash=h("x"))


def test_the_same_hash_is_anchored_only_once_whoever_tries(net: Net) -> None:
    net.call(net.warehouse, "anchor", anchor_id="A1", kind="epcis", hash=h("e"))
    net.refuse(net.bank_a, "anchor", "ANCHOR_EXISTS", anchor_id="A2", kind="epcis", hash=h("e"))
    assert net.state(f"anchor:{h('e')}")["anchor_id"] == "A1"


def test_missing_objects_are_reported_with_their_own_code(net: Net) -> None:
    cases = [
        ("get_receipt", {"receipt_id": "R9"}, "RECEIPT_NOT_FOUND"),
        ("get_loan", {"loan_id": "L9"}, "LOAN_NOT_FOUND"),
        ("get_lien", {"lien_key": h("nothing")}, "LIEN_NOT_FOUND"),
        ("get_release_order", {"order_id": "O9"}, "ORDER_NOT_FOUND"),
        ("get_anchor", {"hash": h("nothing")}, "ANCHOR_NOT_FOUND"),
    ]
    for fn, args, code in cases:
        net.refuse(net.auditor, fn, code, **args)


def test_get_lien_reveals_only_the_hash_and_status_to_another_bank(pledged: Net) -> None:
    lien = pledged.call(pledged.bank_b, "get_lien", lien_key=h("epc-1"))
    assert lien == {"lien_key": h("epc-1"), "status": "active"}


def test_the_history_of_a_lien_does_not_reveal_the_bank_either(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
    result = pledged.call(pledged.bank_b, "history", key=f"lien:{h('epc-1')}")
    assert [entry["value"] for entry in result["history"]] == [
        {"lien_key": h("epc-1"), "status": "active"},
        {"lien_key": h("epc-1"), "status": "lifted"},
    ]
    assert "BankAMSP" not in json.dumps(result) and "L1" not in json.dumps(result)


def test_history_lists_every_committed_value_oldest_first(pledged: Net) -> None:
    pledged.set_loan("L1", "active")
    result = pledged.call(pledged.auditor, "history", key="receipt:R1")
    assert result["key"] == "receipt:R1"
    entries = result["history"]
    assert [entry["value"]["status"] for entry in entries] == ["issued", "pledged"]
    assert [entry["tx_id"] for entry in entries] == ["tx000001", "tx000002"]
    assert entries[0]["timestamp"] == "2025-01-01T00:00:01Z"
    assert not any(entry["is_delete"] for entry in entries)


def test_history_reports_a_deleted_value_as_null(net: Net) -> None:
    stub = net.ledger.begin(net.warehouse)
    stub.put_state("receipt:R1", b'{"status":"issued"}')
    stub.commit()
    stub = net.ledger.begin(net.warehouse)
    stub.del_state("receipt:R1")
    stub.commit()
    entries = net.call(net.auditor, "history", key="receipt:R1")["history"]
    assert entries[1] == {
        "tx_id": "tx000002",
        "timestamp": entries[1]["timestamp"],
        "value": None,
        "is_delete": True,
    }


def test_history_of_an_unknown_key_is_empty(net: Net) -> None:
    assert net.call(net.auditor, "history", key="loan:L9") == {"key": "loan:L9", "history": []}


@pytest.mark.parametrize("key", ["L1", "wallet:L1", "loan:", "lien:not-a-hash", "anchor:ABC"])
def test_history_accepts_only_keys_the_contract_writes(net: Net, key: str) -> None:
    net.refuse(net.auditor, "history", "BAD_ARGS", key=key)


def test_queries_write_nothing_and_set_no_event(pledged: Net) -> None:
    stub = pledged.ledger.begin(pledged.auditor)
    for fn, args in [
        ("get_receipt", '{"receipt_id":"R1"}'),
        ("get_loan", '{"loan_id":"L1"}'),
        ("get_lien", json.dumps({"lien_key": h("epc-1")})),
        ("history", '{"key":"loan:L1"}'),
    ]:
        pledged.contract.invoke(stub, fn, args)
    committed = stub.commit()
    assert committed.writes == ()
    assert committed.event is None


def test_receipts_loans_and_orders_read_back_as_stored(pledged: Net) -> None:
    pledged.call(
        pledged.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=[],
        commitment=h("o"),
    )
    assert pledged.call(pledged.auditor, "get_receipt", receipt_id="R1") == pledged.state(
        "receipt:R1"
    )
    assert pledged.call(pledged.bank_a, "get_loan", loan_id="L1") == pledged.state("loan:L1")
    order = pledged.call(pledged.auditor, "get_release_order", order_id="O1")
    assert order == pledged.state("release:O1")


def test_other_members_see_receipts_without_their_loan_and_no_loans_at_all(pledged: Net) -> None:
    stored = pledged.state("receipt:R1")
    seen = pledged.call(pledged.bank_b, "get_receipt", receipt_id="R1")
    assert stored["loan_id"] == "L1"
    assert "loan_id" not in seen
    assert seen == {k: v for k, v in stored.items() if k != "loan_id"}
    pledged.refuse(pledged.bank_b, "get_loan", "NOT_A_PARTY", loan_id="L1")
    pledged.refuse(pledged.sme, "get_loan", "NOT_A_PARTY", loan_id="L1")
    history = pledged.call(pledged.auditor, "history", key="loan:L1")
    assert history["history"], "auditors read a loan's history"
    pledged.refuse(pledged.bank_b, "history", "NOT_A_PARTY", key="loan:L1")
