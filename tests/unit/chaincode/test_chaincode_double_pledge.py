"""The invariant the ledger exists for: the same goods never carry two active liens."""

from __future__ import annotations

import json

import pytest
from chaincode_net import Net, h

from chaincode.contract import PledgeContract
from chaincode.errors import ContractError
from chaincode.memory import MvccConflictError


@pytest.mark.parametrize("bank", ["bank_a", "bank_b"])
def test_second_lien_on_same_key_is_rejected_whichever_bank_asks(pledged: Net, bank: str) -> None:
    # A duplicate receipt for the same tagged goods carries the same lien key.
    pledged.issue("R1-dup", [h("epc-2")])
    error = pledged.refuse(
        getattr(pledged, bank),
        "register_pledge",
        "LIEN_EXISTS",
        loan_id="L2",
        receipt_ids=["R1-dup"],
        warehouse_msp="WarehouseMSP",
        commitment=h("l2"),
    )
    assert error.message == "goods under receipt R1-dup are already pledged (active lien)"
    assert "BankAMSP" not in error.message and "L1" not in error.message


@pytest.mark.parametrize("bank", ["bank_a", "bank_b"])
def test_pledging_the_same_receipt_again_is_refused_whichever_bank_asks(
    pledged: Net, bank: str
) -> None:
    error = pledged.refuse(
        getattr(pledged, bank),
        "register_pledge",
        "RECEIPT_NOT_AVAILABLE",
        loan_id="L2",
        receipt_ids=["R1"],
        warehouse_msp="WarehouseMSP",
        commitment=h("l2"),
    )
    assert "pledged" in error.message


def test_a_clean_receipt_bundled_with_a_duplicate_is_refused_as_a_whole(pledged: Net) -> None:
    pledged.issue("R2", [h("epc-9")])
    pledged.issue("R1-dup", [h("epc-1")])
    pledged.refuse(
        pledged.bank_b,
        "register_pledge",
        "LIEN_EXISTS",
        loan_id="L2",
        receipt_ids=["R2", "R1-dup"],
        warehouse_msp="WarehouseMSP",
        commitment=h("l2"),
    )
    assert pledged.state("receipt:R2")["status"] == "issued"
    assert pledged.ledger.get(f"lien:{h('epc-9')}") is None


def test_two_receipts_for_the_same_goods_cannot_be_pledged_together(net: Net) -> None:
    net.issue("R1", [h("epc-1")])
    net.issue("R2", [h("epc-1")])
    error = net.refuse(
        net.bank_a,
        "register_pledge",
        "LIEN_EXISTS",
        loan_id="L1",
        receipt_ids=["R1", "R2"],
        warehouse_msp="WarehouseMSP",
        commitment=h("l1"),
    )
    assert "R2" in error.message


def test_goods_can_be_pledged_again_once_the_lien_is_lifted(pledged: Net) -> None:
    pledged.call(pledged.bank_a, "lift_lien", loan_id="L1", commitment=h("closed"))
    pledged.pledge("L2", ["R1"], by=pledged.bank_b)
    lien = pledged.state(f"lien:{h('epc-1')}")
    assert (lien["loan_id"], lien["bank_msp"], lien["status"]) == ("L2", "BankBMSP", "active")


def test_released_goods_carried_onto_a_new_receipt_can_be_pledged_again(pledged: Net) -> None:
    pledged.call(
        pledged.bank_a,
        "issue_release_order",
        order_id="O1",
        loan_id="L1",
        receipt_id="R1",
        lien_keys=[h("epc-1"), h("epc-2")],
        commitment=h("o1"),
    )
    pledged.call(pledged.warehouse, "confirm_release", order_id="O1", receipt_closed=True)
    pledged.issue("R2", [h("epc-1")])
    pledged.pledge("L2", ["R2"], by=pledged.bank_b)
    assert pledged.state(f"lien:{h('epc-1')}")["loan_id"] == "L2"


def test_concurrent_pledges_of_the_same_goods_let_only_the_first_commit(net: Net) -> None:
    net.issue("R1", [h("epc-1")])
    net.issue("R2", [h("epc-1")])
    contract = PledgeContract()

    def pledge_args(loan_id: str, receipt_id: str) -> str:
        """register_pledge arguments for one receipt."""
        return json.dumps(
            {
                "loan_id": loan_id,
                "receipt_ids": [receipt_id],
                "warehouse_msp": "WarehouseMSP",
                "commitment": h(loan_id),
            }
        )

    first = net.ledger.begin(net.bank_a)
    second = net.ledger.begin(net.bank_b)
    # Both simulate against the same committed state, as two endorsements racing on Fabric.
    contract.invoke(first, "register_pledge", pledge_args("L1", "R1"))
    contract.invoke(second, "register_pledge", pledge_args("L2", "R2"))
    first.commit()
    with pytest.raises(MvccConflictError):
        second.commit()
    assert net.state(f"lien:{h('epc-1')}")["loan_id"] == "L1"
    assert net.ledger.get("loan:L2") is None
    assert net.state("receipt:R2")["status"] == "issued"


def test_a_failed_pledge_leaves_no_trace_and_a_retry_with_free_goods_succeeds(pledged: Net) -> None:
    pledged.issue("R2", [h("epc-2")])
    with pytest.raises(ContractError):
        pledged.pledge("L2", ["R2"], by=pledged.bank_b)
    assert pledged.ledger.get("loan:L2") is None
    pledged.issue("R3", [h("epc-3")])
    pledged.pledge("L2", ["R3"], by=pledged.bank_b)
    assert pledged.state("loan:L2")["receipt_ids"] == ["R3"]
