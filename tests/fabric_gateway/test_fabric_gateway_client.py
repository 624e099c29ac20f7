"""Our gateway client against a real Fabric network: submit, query, refusals, events, replays."""

from __future__ import annotations

import hashlib
import threading
import uuid
from typing import Any

import pytest

from services.ledger.fabric import FabricLedger
from services.ledger.fabric.adapter import FABRIC_TX_ID
from services.ledger.outbox import command_tx_id
from services.ledger.port import LedgerEvent, Rejected, Submission

# Needs the Fabric binaries; run with `make test-fabric` (see README).
pytestmark = pytest.mark.fabric

WAREHOUSE, BANK1, BANK2 = "WarehouseMSP", "Bank1MSP", "Bank2MSP"


def h(text: str) -> str:
    """Hex SHA-256 of text: the shape of lien keys and commitments."""
    return hashlib.sha256(text.encode()).hexdigest()


def unique(prefix: str) -> str:
    """Ids differ per run, so the tests also pass on a network that outlived a run."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def submission(fn: str, args: dict[str, Any], msp: str, *endorsers: str) -> Submission:
    """A submission with a fresh outbox-style tx id and a fixed timestamp."""
    return Submission(
        tx_id=command_tx_id(uuid.uuid4().hex),
        fn=fn,
        args=args,
        submitter_msp=msp,
        endorsers=tuple(endorsers),
        timestamp="2026-05-01T10:00:00.000000Z",
    )


def issue(ledger: FabricLedger, receipt_id: str, epc: str | None = None) -> Submission:
    """Issue a receipt as the warehouse (its lien key from epc) and return the submission."""
    sub = submission(
        "issue_receipt",
        {
            "receipt_id": receipt_id,
            "warehouse_id": "W1",
            "lien_keys": [h(epc or f"{receipt_id}-epc")],
            "commitment": h(f"{receipt_id}-terms"),
        },
        WAREHOUSE,
    )
    ledger.submit(sub)
    return sub


def pledge(bank: str, loan_id: str, receipt_id: str) -> Submission:
    """A pledge of receipt_id by bank, endorsed by the bank and the warehouse."""
    return submission(
        "register_pledge",
        {
            "loan_id": loan_id,
            "receipt_ids": [receipt_id],
            "warehouse_msp": WAREHOUSE,
            "commitment": h(f"{loan_id}-terms"),
        },
        bank,
        WAREHOUSE,
    )


def test_an_issued_receipt_commits_and_evaluates_back(ledger: FabricLedger) -> None:
    receipt_id = unique("R-gw")
    sub = submission(
        "issue_receipt",
        {
            "receipt_id": receipt_id,
            "warehouse_id": "W1",
            "lien_keys": [h(f"{receipt_id}-epc")],
            "commitment": h("terms"),
        },
        WAREHOUSE,
    )
    result = ledger.submit(sub)
    assert result.tx_id == sub.tx_id
    assert result.block_number >= 1
    assert result.payload["receipt_id"] == receipt_id
    assert result.payload[FABRIC_TX_ID] == ledger.fabric_tx_id(sub)
    stored = ledger.evaluate("get_receipt", {"receipt_id": receipt_id}, WAREHOUSE)
    assert stored["status"] == "issued"
    assert stored["warehouse_msp"] == WAREHOUSE
    # The proposal's timestamp is the submission's, on every endorser.
    assert stored["issued_at"] == "2026-05-01T10:00:00.000000Z"


def test_a_bank_pledge_commits_and_a_second_bank_is_refused_with_the_contracts_code(
    ledger: FabricLedger,
) -> None:
    receipt_id = unique("R-pl")
    issue(ledger, receipt_id)
    first = ledger.submit(pledge(BANK1, unique("L1"), receipt_id))
    assert first.block_number >= 1
    with pytest.raises(Rejected) as refused:
        ledger.submit(pledge(BANK2, unique("L2"), receipt_id))
    assert refused.value.code == "RECEIPT_NOT_AVAILABLE"
    # The same goods under a second receipt: the lien key is what the ledger refuses.
    twin = unique("R-twin")
    issue(ledger, twin, epc=f"{receipt_id}-epc")
    with pytest.raises(Rejected) as twice:
        ledger.submit(pledge(BANK2, unique("L3"), twin))
    assert twice.value.code == "LIEN_EXISTS"


def test_a_query_for_a_missing_receipt_is_rejected_with_a_code(ledger: FabricLedger) -> None:
    with pytest.raises(Rejected) as refused:
        ledger.evaluate("get_receipt", {"receipt_id": unique("R-none")}, BANK1)
    assert refused.value.code == "RECEIPT_NOT_FOUND"


def test_resubmitting_the_same_submission_returns_the_original_commit(
    ledger: FabricLedger,
) -> None:
    receipt_id = unique("R-replay")
    sub = submission(
        "issue_receipt",
        {
            "receipt_id": receipt_id,
            "warehouse_id": "W1",
            "lien_keys": [h(f"{receipt_id}-epc")],
            "commitment": h("terms"),
        },
        WAREHOUSE,
    )
    first = ledger.submit(sub)
    again = ledger.submit(sub)
    assert again.block_number == first.block_number
    assert again.payload == first.payload
    # Exactly one transaction of ours made it: the receipt exists once, with one event.
    events = [e for e in ledger.events(first.block_number - 1) if e.tx_id == sub.tx_id]
    assert len(events) == 1


def test_events_stream_from_the_start_and_from_a_checkpoint_without_gaps_or_repeats(
    ledger: FabricLedger,
) -> None:
    subs = [issue(ledger, unique(f"R-ev{i}")) for i in range(3)]
    everything = list(ledger.events(0))
    assert everything, "no events at all"
    numbers = [e.block_number for e in everything]
    assert numbers == sorted(numbers)
    keys = [(e.block_number, e.tx_id) for e in everything]
    assert len(keys) == len(set(keys))
    ours = {s.tx_id for s in subs}
    mine = [e for e in everything if e.tx_id in ours]
    # Events carry our own tx ids (read back from the nonce) and the decoded JSON payload.
    assert {e.tx_id for e in mine} == ours
    assert all(e.name == "ReceiptIssued" and e.payload["status"] == "issued" for e in mine)

    checkpoint = mine[0].block_number
    resumed = list(ledger.events(checkpoint))
    expected = [e for e in everything if e.block_number > checkpoint]
    assert resumed == expected
    assert list(ledger.events(ledger.height() - 1)) == []


def test_the_live_stream_starts_at_a_checkpoint_with_our_tx_ids(ledger: FabricLedger) -> None:
    sub = issue(ledger, unique("R-live"))
    (target,) = [e for e in ledger.events(0) if e.tx_id == sub.tx_id]
    stop = threading.Event()
    # The stream has no end of its own: a watchdog stops it should the event never come.
    watchdog = threading.Timer(30.0, stop.set)
    watchdog.start()
    seen: list[LedgerEvent] = []
    try:
        for event in ledger.follow(target.block_number - 1, stop=stop):
            seen.append(event)
            if event.tx_id == sub.tx_id:
                stop.set()
    finally:
        watchdog.cancel()
    assert seen, "the live stream delivered nothing"
    assert seen[0].block_number == target.block_number
    assert seen[-1] == target


def test_verify_reports_that_the_peers_verify_and_the_height_is_readable(
    ledger: FabricLedger,
) -> None:
    report = ledger.verify()
    assert report.ok
    assert report.blocks == ledger.height() >= 1
    assert "peers" in report.reason
