"""Release orders from the lien-holding bank and their confirmation by the warehouse."""

from __future__ import annotations

import pytest
from chaincode_net import Net, h


def order_args(**overrides: object) -> dict[str, object]:
    """Valid issue_release_order arguments, some replaced."""
    args: dict[str, object] = {
        "order_id": "O1",
        "loan_id": "L1",
        "receipt_id": "R1",
        "lien_keys": [h("epc-1")],
        "commitment": h("o1"),
    }
    args.update(overrides)
    return args


def test_only_the_lien_holding_bank_may_order_a_release(pledged: Net) -> None:
    for party in (pledged.warehouse, pledged.sme, pledged.auditor):
        pledged.refuse(party, "issue_release_order", "FORBIDDEN", **order_args())
    pledged.refuse(pledged.bank_b, "issue_release_order", "NOT_LIEN_HOLDER", **order_args())


def test_an_order_id_cannot_be_used_twice(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.refuse(
        pledged.bank_a, "issue_release_order", "ORDER_EXISTS", **order_args(lien_keys=[])
    )


def test_ordering_a_release_on_an_unknown_loan_is_refused(pledged: Net) -> None:
    pledged.refuse(
        pledged.bank_a, "issue_release_order", "LOAN_NOT_FOUND", **order_args(loan_id="L9")
    )


@pytest.mark.parametrize("path", [["active", "defaulted"], ["closed"]])
def test_no_release_can_be_ordered_once_a_loan_is_defaulted_or_closed(
    pledged: Net, path: list[str]
) -> None:
    for step in path:
        if step == "closed":
            pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
        else:
            pledged.set_loan("L1", step)
    pledged.refuse(pledged.bank_a, "issue_release_order", "INVALID_TRANSITION", **order_args())


@pytest.mark.parametrize("status", ["active", "margin_call"])
def test_a_release_may_be_ordered_while_the_loan_runs(pledged: Net, status: str) -> None:
    pledged.set_loan("L1", "active")
    if status == "margin_call":
        pledged.set_loan("L1", "margin_call")
    assert pledged.call(pledged.bank_a, "issue_release_order", **order_args())["status"] == "open"


def test_a_release_must_name_a_receipt_pledged_to_the_loan(pledged: Net) -> None:
    pledged.issue("R2")
    for receipt_id in ("R2", "R9"):
        pledged.refuse(
            pledged.bank_a,
            "issue_release_order",
            "RECEIPT_NOT_PLEDGED_TO_LOAN",
            **order_args(receipt_id=receipt_id, lien_keys=[]),
        )


def test_a_release_of_an_already_closed_receipt_is_refused(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args(lien_keys=[]))
    pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    pledged.refuse(
        pledged.bank_a,
        "issue_release_order",
        "RECEIPT_NOT_PLEDGED_TO_LOAN",
        **order_args(order_id="O2", lien_keys=[]),
    )


def test_a_release_may_only_list_keys_the_loan_still_holds_on_that_receipt(pledged: Net) -> None:
    pledged.issue("R2", [h("other")])
    for key in (h("other"), h("never-issued")):
        pledged.refuse(
            pledged.bank_a,
            "issue_release_order",
            "LIEN_KEY_NOT_HELD",
            **order_args(lien_keys=[key]),
        )
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=False)
    error = pledged.refuse(
        pledged.bank_a,
        "issue_release_order",
        "LIEN_KEY_NOT_HELD",
        **order_args(order_id="O2"),
    )
    assert h("epc-1") in error.message


def test_a_partial_bulk_release_keeps_the_lien_in_place(net: Net) -> None:
    net.issue("LOT-7", [h("lot-7")])
    net.pledge("L1", ["LOT-7"])
    net.call(net.bank_a, "issue_release_order", **order_args(receipt_id="LOT-7", lien_keys=[]))
    event = net.call(net.warehouse, "confirm_release", order_id="O1", receipt_closed=False)
    assert event["released_lien_keys"] == []
    assert net.state(f"lien:{h('lot-7')}")["status"] == "active"
    assert net.state("receipt:LOT-7")["status"] == "pledged"


def test_only_a_warehouse_may_confirm_a_release(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    for party in (pledged.bank_a, pledged.sme, pledged.auditor):
        pledged.refuse(party, "confirm_release", "FORBIDDEN", order_id="O1", receipt_closed=False)


def test_only_the_warehouse_holding_the_goods_may_confirm_their_release(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.refuse(
        pledged.other_warehouse,
        "confirm_release",
        "WRONG_WAREHOUSE",
        order_id="O1",
        receipt_closed=False,
    )


def test_confirming_an_unknown_order_is_refused(pledged: Net) -> None:
    pledged.refuse(
        pledged.warehouse, "confirm_release", "ORDER_NOT_FOUND", order_id="O9", receipt_closed=True
    )


def test_an_order_can_be_executed_only_once(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=False)
    error = pledged.refuse(
        pledged.warehouse, "confirm_release", "ORDER_NOT_OPEN", order_id="O1", receipt_closed=False
    )
    assert "executed" in error.message


def test_closing_the_receipt_on_release_marks_it_released(pledged: Net) -> None:
    pledged.call(
        pledged.bank_a, "issue_release_order", **order_args(lien_keys=[h("epc-1"), h("epc-2")])
    )
    event = pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    assert event["receipt_status"] == "released"
    assert pledged.state("receipt:R1")["status"] == "released"
    assert pledged.state(f"lien:{h('epc-2')}")["status"] == "released"


def test_an_order_outstanding_when_the_lien_is_lifted_can_still_be_executed(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
    event = pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    # The lien was already lifted, so the release must not rewrite it.
    assert event["released_lien_keys"] == []
    assert pledged.state(f"lien:{h('epc-1')}")["status"] == "lifted"
    assert pledged.state("receipt:R1")["status"] == "released"


def test_a_stale_order_cannot_release_goods_now_pledged_to_another_loan(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
    pledged.pledge("L2", ["R1"], by=pledged.bank_b)
    pledged.refuse(
        pledged.warehouse,
        "confirm_release",
        "RECEIPT_NOT_PLEDGED_TO_LOAN",
        order_id="O1",
        receipt_closed=True,
    )
    assert pledged.state(f"lien:{h('epc-1')}")["loan_id"] == "L2"


def test_a_stale_order_cannot_release_goods_that_were_liquidated(pledged: Net) -> None:
    pledged.set_loan("L1", "active")
    pledged.call(pledged.bank_a, "issue_release_order", **order_args())
    pledged.set_loan("L1", "defaulted")
    pledged.set_loan("L1", "liquidated")
    pledged.refuse(
        pledged.warehouse,
        "confirm_release",
        "RECEIPT_NOT_AVAILABLE",
        order_id="O1",
        receipt_closed=False,
    )
