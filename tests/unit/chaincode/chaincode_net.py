"""The test network for the contract tests: parties, an in-memory ledger and submit helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaincode.canonical import sha256_hex
from chaincode.contract import PledgeContract
from chaincode.errors import ContractError
from chaincode.memory import MemoryLedger
from chaincode.stub import Creator


def h(label: str) -> str:
    """A stable 64-hex digest standing in for a lien key, commitment or evidence hash."""
    return sha256_hex(label.encode())


class Net:
    """A tiny network: the parties, the ledger and helpers that submit as one of them."""

    bank_a = Creator("BankAMSP", "bank")
    bank_b = Creator("BankBMSP", "bank")
    warehouse = Creator("WarehouseMSP", "warehouse")
    other_warehouse = Creator("OtherWarehouseMSP", "warehouse")
    sme = Creator("SmeMSP", "sme")
    auditor = Creator("AuditorMSP", "auditor")

    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.contract = PledgeContract()

    def submit(self, creator: Creator, fn: str, args_json: str) -> bytes:
        """Invoke fn as creator; commit on success, discard on refusal."""
        return self.ledger.run(creator, lambda stub: self.contract.invoke(stub, fn, args_json))

    def call(self, creator: Creator, fn: str, **args: Any) -> dict[str, Any]:
        """Invoke fn with keyword args as creator and return the decoded result."""
        result: dict[str, Any] = json.loads(self.submit(creator, fn, json.dumps(args)))
        return result

    def refuse_raw(self, creator: Creator, fn: str, args_json: str, code: str) -> ContractError:
        """Assert the call is refused with code and leaves state and transactions untouched."""
        before = self.ledger.snapshot()
        committed = len(self.ledger.transactions)
        with pytest.raises(ContractError) as caught:
            self.submit(creator, fn, args_json)
        assert caught.value.code == code, caught.value.message
        assert self.ledger.snapshot() == before
        assert len(self.ledger.transactions) == committed
        return caught.value

    def refuse(self, creator: Creator, fn: str, code: str, **args: Any) -> ContractError:
        """refuse_raw with keyword args."""
        return self.refuse_raw(creator, fn, json.dumps(args), code)

    def state(self, key: str) -> dict[str, Any]:
        """Decoded committed value of key."""
        raw = self.ledger.get(key)
        assert raw is not None, f"{key} is not in the world state"
        value: dict[str, Any] = json.loads(raw)
        return value

    def last_event(self) -> tuple[str, dict[str, Any]]:
        """Name and decoded payload of the latest committed event."""
        _, name, payload = self.ledger.events[-1]
        return name, json.loads(payload)

    def issue(
        self, receipt_id: str, keys: list[str] | None = None, by: Creator | None = None
    ) -> list[str]:
        """Issue a receipt (by default with one key derived from its id); return its keys."""
        keys = keys if keys is not None else [h(f"epc-{receipt_id}")]
        self.call(
            by or self.warehouse,
            "issue_receipt",
            receipt_id=receipt_id,
            warehouse_id="WH-QD-01",
            lien_keys=keys,
            commitment=h(f"receipt-{receipt_id}"),
        )
        return keys

    def pledge(
        self,
        loan_id: str,
        receipt_ids: list[str],
        by: Creator | None = None,
        warehouse_msp: str = "WarehouseMSP",
    ) -> dict[str, Any]:
        """Register a pledge of receipt_ids for loan_id."""
        return self.call(
            by or self.bank_a,
            "register_pledge",
            loan_id=loan_id,
            receipt_ids=receipt_ids,
            warehouse_msp=warehouse_msp,
            commitment=h(f"loan-{loan_id}"),
        )

    def set_loan(self, loan_id: str, status: str, by: Creator | None = None) -> dict[str, Any]:
        """Move loan_id to status as its bank."""
        return self.call(
            by or self.bank_a,
            "update_loan",
            loan_id=loan_id,
            status=status,
            commitment=h(f"{loan_id}-{status}-{len(self.ledger.transactions)}"),
        )
