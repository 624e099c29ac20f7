"""Refusals around receipts and pledges."""

from __future__ import annotations

from chaincode_net import Net, h


def receipt_args(receipt_id: str = "R1") -> dict[str, object]:
    """Valid issue_receipt arguments."""
    return {
        "receipt_id": receipt_id,
        "warehouse_id": "WH-QD-01",
        "lien_keys": [h("epc-1")],
        "commitment": h("c"),
    }


def test_only_a_warehouse_may_issue_a_receipt(net: Net) -> None:
    for party in (net.bank_a, net.sme, net.auditor):
        net.refuse(party, "issue_receipt", "FORBIDDEN", **receipt_args())


def test_a_receipt_id_cannot_be_issued_twice(net: Net) -> None:
    net.issue("R1")
    net.refuse(net.other_warehouse, "issue_receipt", "RECEIPT_EXISTS", **receipt_args())


def test_a_receipt_records_the_issuing_warehouse_organisation(net: Net) -> None:
    net.issue("R1", by=net.other_warehouse)
    assert net.state("receipt:R1")["warehouse_msp"] == "OtherWarehouseMSP"


def pledge_args(**overrides: object) -> dict[str, object]:
    """Valid register_pledge arguments, some replaced."""
    args: dict[str, object] = {
        "loan_id": "L2",
        "receipt_ids": ["R2"],
        "warehouse_msp": "WarehouseMSP",
        "commitment": h("l2"),
    }
    args.update(overrides)
    return args


def test_only_a_bank_may_register_a_pledge(net: Net) -> None:
    net.issue("R2")
    for party in (net.warehouse, net.sme, net.auditor):
        net.refuse(party, "register_pledge", "FORBIDDEN", **pledge_args())


def test_a_loan_id_cannot_be_registered_twice(pledged: Net) -> None:
    pledged.issue("R2")
    pledged.refuse(pledged.bank_b, "register_pledge", "LOAN_EXISTS", **pledge_args(loan_id="L1"))


def test_pledging_an_unknown_receipt_is_refused(net: Net) -> None:
    error = net.refuse(net.bank_a, "register_pledge", "RECEIPT_NOT_FOUND", **pledge_args())
    assert "R2" in error.message


def test_pledging_a_retired_receipt_is_refused_with_its_status(net: Net) -> None:
    net.issue("R2")
    net.call(net.warehouse, "retire_receipt", receipt_id="R2")
    error = net.refuse(net.bank_a, "register_pledge", "RECEIPT_NOT_AVAILABLE", **pledge_args())
    assert error.message == "receipt R2 is released, not issued"


def test_pledging_a_receipt_of_another_warehouse_is_refused(net: Net) -> None:
    net.issue("R2", by=net.other_warehouse)
    net.refuse(net.bank_a, "register_pledge", "WRONG_WAREHOUSE", **pledge_args())


def test_a_pledge_over_several_receipts_liens_every_key_of_each(net: Net) -> None:
    net.issue("R1", [h("a"), h("b")])
    net.issue("R2", [h("c")])
    event = net.pledge("L1", ["R1", "R2"])
    assert event["lien_keys"] == [h("a"), h("b"), h("c")]
    assert net.state(f"lien:{h('c')}")["receipt_id"] == "R2"
    assert net.state("receipt:R2")["loan_id"] == "L1"


def test_only_a_warehouse_may_retire_a_receipt(net: Net) -> None:
    net.issue("R1")
    for party in (net.bank_a, net.sme, net.auditor):
        net.refuse(party, "retire_receipt", "FORBIDDEN", receipt_id="R1")


def test_retiring_an_unknown_receipt_is_refused(net: Net) -> None:
    net.refuse(net.warehouse, "retire_receipt", "RECEIPT_NOT_FOUND", receipt_id="R1")


def test_a_warehouse_cannot_retire_another_warehouses_receipt(net: Net) -> None:
    net.issue("R1")
    net.refuse(net.other_warehouse, "retire_receipt", "WRONG_WAREHOUSE", receipt_id="R1")


def test_a_pledged_receipt_cannot_be_retired(pledged: Net) -> None:
    error = pledged.refuse(
        pledged.warehouse, "retire_receipt", "RECEIPT_NOT_AVAILABLE", receipt_id="R1"
    )
    assert "pledged" in error.message


def test_a_retired_receipt_cannot_be_retired_again(net: Net) -> None:
    net.issue("R1")
    net.call(net.warehouse, "retire_receipt", receipt_id="R1")
    net.refuse(net.warehouse, "retire_receipt", "RECEIPT_NOT_AVAILABLE", receipt_id="R1")


def test_lifting_is_for_the_lien_holding_bank_only(pledged: Net) -> None:
    args = {"loan_id": "L1", "commitment": h("x")}
    pledged.refuse(pledged.warehouse, "lift_lien", "FORBIDDEN", **args)
    pledged.refuse(pledged.bank_b, "lift_lien", "NOT_LIEN_HOLDER", **args)
    pledged.refuse(pledged.bank_a, "lift_lien", "LOAN_NOT_FOUND", loan_id="L9", commitment=h("x"))


def test_a_defaulted_or_closed_loan_cannot_have_its_lien_lifted(pledged: Net) -> None:
    pledged.set_loan("L1", "active")
    pledged.set_loan("L1", "defaulted")
    error = pledged.refuse(
        pledged.bank_a, "lift_lien", "INVALID_TRANSITION", loan_id="L1", commitment=h("x")
    )
    assert "defaulted" in error.message
    pledged.issue("R2")
    pledged.pledge("L2", ["R2"])
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L2", commitment=h("y"))
    pledged.refuse(
        pledged.bank_a, "lift_lien", "INVALID_TRANSITION", loan_id="L2", commitment=h("z")
    )


def test_lifting_frees_only_receipts_still_pledged_and_leaves_closed_ones_closed(net: Net) -> None:
    net.issue("R1", [h("a")])
    net.issue("R2", [h("b")])
    net.pledge("L1", ["R1", "R2"])
    net.call(
        net.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=[h("a")],
        commitment=h("o"),
    )
    net.call(net.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    event = net.call(net.bank_a, "lift_lien", loan_id="L1", commitment=h("c"))
    assert event["freed_receipt_ids"] == ["R2"]
    assert event["lifted_lien_keys"] == [h("b")]
    assert net.state("receipt:R1")["status"] == "released"
    assert net.state(f"lien:{h('a')}")["status"] == "released"
