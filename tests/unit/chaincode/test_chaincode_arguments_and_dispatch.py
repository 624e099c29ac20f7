"""Argument validation, dispatch and the contract's published tables."""

from __future__ import annotations

import json

import pytest
from chaincode_net import Net, h

from chaincode.contract import QUERIES, REQUIRED_ENDORSERS, TRANSACTIONS, PledgeContract
from chaincode.errors import ContractError
from chaincode.stub import Creator

VALID: dict[str, tuple[str, dict[str, object]]] = {
    "issue_receipt": (
        "warehouse",
        {"receipt_id": "R2", "warehouse_id": "W", "lien_keys": [h("k")], "commitment": h("c")},
    ),
    "register_pledge": (
        "bank_a",
        {"loan_id": "L2", "receipt_ids": ["R1"], "warehouse_msp": "W", "commitment": h("c")},
    ),
    "update_loan": ("bank_a", {"loan_id": "L1", "status": "active", "commitment": h("c")}),
    "issue_release_order": (
        "bank_a",
        {
            "order_id": "O1",
            "loan_id": "L1",
            "receipt_id": "R1",
            "lien_keys": [h("epc-1")],
            "commitment": h("c"),
        },
    ),
    "confirm_release": ("warehouse", {"order_id": "O1", "receipt_closed": False}),
    "lift_lien": ("bank_a", {"loan_id": "L1", "commitment": h("c")}),
    "retire_receipt": ("warehouse", {"receipt_id": "R1"}),
    "anchor": ("warehouse", {"anchor_id": "A1", "kind": "epcis", "hash": h("e")}),
    "get_receipt": ("auditor", {"receipt_id": "R1"}),
    "get_loan": ("auditor", {"loan_id": "L1"}),
    "get_lien": ("auditor", {"lien_key": h("epc-1")}),
    "get_release_order": ("auditor", {"order_id": "O1"}),
    "get_anchor": ("auditor", {"hash": h("e")}),
    "history": ("auditor", {"key": "loan:L1"}),
}
FIELDS = [(fn, name) for fn, (_, args) in VALID.items() for name in args]


def with_field(fn: str, name: str, value: object) -> tuple[str, dict[str, object]]:
    """A function's caller and valid arguments with one field replaced."""
    party, args = VALID[fn]
    return party, {**args, name: value}


def test_every_function_has_a_validation_case() -> None:
    assert set(VALID) == TRANSACTIONS | QUERIES


@pytest.mark.parametrize(("fn", "name"), FIELDS)
def test_a_missing_field_is_bad_args_naming_it(pledged: Net, fn: str, name: str) -> None:
    party, args = VALID[fn]
    args = {k: v for k, v in args.items() if k != name}
    error = pledged.refuse(getattr(pledged, party), fn, "BAD_ARGS", **args)
    assert error.message == f"missing field(s): {name}"


@pytest.mark.parametrize(("fn", "name"), FIELDS)
def test_a_field_of_the_wrong_type_is_bad_args_naming_it(pledged: Net, fn: str, name: str) -> None:
    party, args = with_field(fn, name, {"nested": 1})
    error = pledged.refuse(getattr(pledged, party), fn, "BAD_ARGS", **args)
    assert error.message.startswith(name)


@pytest.mark.parametrize("fn", sorted(VALID))
def test_an_unexpected_field_is_bad_args(pledged: Net, fn: str) -> None:
    party, args = with_field(fn, "amount", "1000000.00")
    error = pledged.refuse(getattr(pledged, party), fn, "BAD_ARGS", **args)
    assert "amount" in error.message


@pytest.mark.parametrize(
    ("fn", "name", "value", "expected"),
    [
        ("issue_receipt", "receipt_id", "", "receipt_id must not be empty"),
        ("issue_receipt", "receipt_id", "R 1", "receipt_id must be"),
        ("issue_receipt", "receipt_id", "R\x001", "receipt_id must be"),
        ("issue_receipt", "warehouse_id", "W" * 129, "warehouse_id must be"),
        ("issue_receipt", "commitment", h("c").upper(), "commitment must be 64 lowercase hex"),
        ("issue_receipt", "commitment", h("c")[:63], "commitment must be 64 lowercase hex"),
        ("issue_receipt", "commitment", "g" * 64, "commitment must be 64 lowercase hex"),
        ("issue_receipt", "lien_keys", [], "lien_keys must not be empty"),
        ("issue_receipt", "lien_keys", h("k"), "lien_keys must be a list"),
        ("issue_receipt", "lien_keys", [h("k"), h("k")], "lien_keys lists"),
        ("issue_receipt", "lien_keys", [h("k"), h("k").upper()], "lien_keys[1] must be"),
        ("issue_receipt", "lien_keys", [7], "lien_keys[0] must be"),
        ("register_pledge", "receipt_ids", [], "receipt_ids must not be empty"),
        ("register_pledge", "receipt_ids", ["R1", "R1"], "receipt_ids lists 'R1'"),
        ("register_pledge", "receipt_ids", ["R1", ""], "receipt_ids[1] must be"),
        ("register_pledge", "warehouse_msp", "", "warehouse_msp must not be empty"),
        ("update_loan", "status", "repaid", "status must be one of"),
        ("update_loan", "status", 3, "status must be a string"),
        ("issue_release_order", "lien_keys", [h("epc-1")] * 2, "lien_keys lists"),
        ("confirm_release", "receipt_closed", 1, "receipt_closed must be true or false"),
        ("confirm_release", "receipt_closed", "true", "receipt_closed must be true or false"),
        ("anchor", "hash", "", "hash must not be empty"),
        ("anchor", "kind", "two words", "kind must be"),
        ("get_lien", "lien_key", "x", "lien_key must be 64 lowercase hex"),
    ],
)
def test_malformed_values_are_bad_args_with_a_clear_message(
    pledged: Net, fn: str, name: str, value: object, expected: str
) -> None:
    party, args = with_field(fn, name, value)
    error = pledged.refuse(getattr(pledged, party), fn, "BAD_ARGS", **args)
    assert error.message.startswith(expected), error.message


@pytest.mark.parametrize(
    ("args_json", "expected"),
    [
        ("not json", "arguments are not valid JSON"),
        ("", "arguments are not valid JSON"),
        ('["R1"]', "arguments must be a JSON object"),
        ('"R1"', "arguments must be a JSON object"),
        ('{"receipt_id":"R1","receipt_id":"R2"}', "field 'receipt_id' appears more than once"),
    ],
)
def test_arguments_that_are_not_one_json_object_are_bad_args(
    pledged: Net, args_json: str, expected: str
) -> None:
    error = pledged.refuse_raw(pledged.warehouse, "retire_receipt", args_json, "BAD_ARGS")
    assert error.message.startswith(expected)


def test_arguments_passed_as_bytes_are_bad_args(net: Net) -> None:
    stub = net.ledger.begin(net.warehouse)
    with pytest.raises(ContractError) as caught:
        net.contract.invoke(stub, "retire_receipt", b'{"receipt_id":"R1"}')  # type: ignore[arg-type]
    assert caught.value.code == "BAD_ARGS"


def test_an_unknown_function_is_refused_before_its_arguments_are_read(net: Net) -> None:
    error = net.refuse_raw(net.auditor, "delete_everything", "not json", "UNKNOWN_FUNCTION")
    assert "delete_everything" in error.message


@pytest.mark.parametrize("fn", sorted(TRANSACTIONS))
def test_a_submitter_with_an_unknown_role_may_run_no_transaction(pledged: Net, fn: str) -> None:
    _, args = VALID[fn]
    intruder = Creator("BankAMSP", "admin")
    error = pledged.refuse(intruder, fn, "FORBIDDEN", **args)
    assert "'admin'" in error.message


def test_transactions_and_queries_are_disjoint_and_complete() -> None:
    assert {
        "issue_receipt",
        "register_pledge",
        "update_loan",
        "issue_release_order",
        "confirm_release",
        "lift_lien",
        "retire_receipt",
        "anchor",
    } == TRANSACTIONS
    assert {
        "get_receipt",
        "get_loan",
        "get_lien",
        "get_release_order",
        "get_anchor",
        "history",
    } == QUERIES
    assert not TRANSACTIONS & QUERIES


def test_pledges_and_releases_need_both_bank_and_warehouse_to_endorse() -> None:
    both = frozenset({"bank", "warehouse"})
    assert set(REQUIRED_ENDORSERS) == TRANSACTIONS
    for fn in ("register_pledge", "issue_release_order", "confirm_release"):
        assert REQUIRED_ENDORSERS[fn] == both
    for fn in TRANSACTIONS - {"register_pledge", "issue_release_order", "confirm_release"}:
        assert REQUIRED_ENDORSERS[fn] == frozenset()


def test_the_published_tables_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        REQUIRED_ENDORSERS["anchor"] = frozenset({"bank"})  # type: ignore[index]


def test_the_contract_holds_no_state_between_calls(net: Net) -> None:
    net.issue("R1")
    other = PledgeContract()
    stub = net.ledger.begin(net.auditor)
    assert (
        json.loads(other.invoke(stub, "get_receipt", '{"receipt_id":"R1"}'))["status"] == "issued"
    )
