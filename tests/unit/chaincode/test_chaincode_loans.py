"""Loan status changes by the lien-holding bank, including liquidation of the collateral."""

from __future__ import annotations

import pytest
from chaincode_net import Net, h

PATHS = {
    "pledged": [],
    "active": ["active"],
    "margin_call": ["active", "margin_call"],
    "defaulted": ["active", "defaulted"],
    "liquidated": ["active", "defaulted", "liquidated"],
}
ALLOWED = {
    ("pledged", "active"),
    ("active", "active"),
    ("active", "margin_call"),
    ("margin_call", "margin_call"),
    ("margin_call", "active"),
    ("active", "defaulted"),
    ("margin_call", "defaulted"),
    ("defaulted", "liquidated"),
}
STATUSES = ["pledged", "active", "margin_call", "defaulted", "liquidated", "closed"]


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("start", sorted(PATHS))
def test_a_loan_moves_only_along_the_allowed_transitions(
    pledged: Net, start: str, target: str
) -> None:
    for step in PATHS[start]:
        pledged.set_loan("L1", step)
    if (start, target) in ALLOWED:
        event = pledged.set_loan("L1", target)
        assert (event["previous_status"], event["status"]) == (start, target)
        assert pledged.state("loan:L1")["status"] == target
    else:
        error = pledged.refuse(
            pledged.bank_a,
            "update_loan",
            "INVALID_TRANSITION",
            loan_id="L1",
            status=target,
            commitment=h("x"),
        )
        assert start in error.message and target in error.message


def test_a_closed_loan_cannot_be_reopened(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
    pledged.refuse(
        pledged.bank_a,
        "update_loan",
        "INVALID_TRANSITION",
        loan_id="L1",
        status="active",
        commitment=h("x"),
    )


def test_only_the_lien_holding_bank_may_update_a_loan(pledged: Net) -> None:
    args = {"loan_id": "L1", "status": "active", "commitment": h("x")}
    for party in (pledged.warehouse, pledged.sme, pledged.auditor):
        pledged.refuse(party, "update_loan", "FORBIDDEN", **args)
    pledged.refuse(pledged.bank_b, "update_loan", "NOT_LIEN_HOLDER", **args)


def test_updating_an_unknown_loan_is_refused(net: Net) -> None:
    net.refuse(
        net.bank_a,
        "update_loan",
        "LOAN_NOT_FOUND",
        loan_id="L9",
        status="active",
        commitment=h("x"),
    )


def test_an_unknown_status_is_bad_args_not_a_transition(pledged: Net) -> None:
    error = pledged.refuse(
        pledged.bank_a, "update_loan", "BAD_ARGS", loan_id="L1", status="paid", commitment=h("x")
    )
    assert "status" in error.message


def test_liquidation_moves_active_liens_and_pledged_receipts_to_liquidated(net: Net) -> None:
    net.issue("R1", [h("a"), h("b")])
    net.issue("R2", [h("c")])
    net.pledge("L1", ["R1", "R2"])
    net.set_loan("L1", "active")
    net.call(
        net.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=[h("a")],
        commitment=h("o"),
    )
    net.call(net.warehouse, "confirm_release", order_id="O1", receipt_closed=False)
    net.set_loan("L1", "defaulted")
    event = net.set_loan("L1", "liquidated")
    assert event["liquidated_lien_keys"] == [h("b"), h("c")]
    assert event["liquidated_receipt_ids"] == ["R1", "R2"]
    assert net.state(f"lien:{h('a')}")["status"] == "released"
    assert net.state(f"lien:{h('b')}")["status"] == "liquidated"
    assert net.state(f"lien:{h('c')}")["status"] == "liquidated"
    assert net.state("receipt:R1")["status"] == "liquidated"
    assert net.state("receipt:R2")["status"] == "liquidated"
    assert net.state("receipt:R2")["loan_id"] == "L1"


def test_a_repayment_replaces_the_commitment_and_keeps_the_loan_active(pledged: Net) -> None:
    pledged.set_loan("L1", "active")
    pledged.call(pledged.bank_a, "update_loan", loan_id="L1", status="active", commitment=h("p1"))
    loan = pledged.state("loan:L1")
    assert (loan["status"], loan["commitment"]) == ("active", h("p1"))
