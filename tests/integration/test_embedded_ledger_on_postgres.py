"""The embedded ledger running the real pledge contract over SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chaincode.canonical import sha256_hex
from chaincode.contract import REQUIRED_ENDORSERS, PledgeContract
from services.ledger.embedded import EmbeddedLedger
from services.ledger.embedded_tables import LedgerBlock, LedgerRejection
from services.ledger.port import Conflict, Rejected, Submission, SubmitResult
from services.ledger.signing import Keyring

BANK, OTHER_BANK, WAREHOUSE = "Bank1MSP", "Bank2MSP", "WarehouseMSP"
ORGS = {BANK: "bank", OTHER_BANK: "bank", WAREHOUSE: "warehouse", "AuditorMSP": "auditor"}
THREADS = 10


def h(label: str) -> str:
    """A stable 64-hex digest standing in for a lien key or commitment."""
    return sha256_hex(label.encode())


def issue(receipt_id: str, epc: str) -> Submission:
    """The warehouse issues a receipt whose goods carry the lien key of `epc`."""
    args = {
        "receipt_id": receipt_id,
        "warehouse_id": "np-1",
        "lien_keys": [h(epc)],
        "commitment": h(f"terms-{receipt_id}"),
    }
    return Submission(f"tx-issue-{receipt_id}", "issue_receipt", args, WAREHOUSE)


def pledge(loan_id: str, receipt_id: str, bank: str = BANK) -> Submission:
    """A bank registers a pledge over a receipt, endorsed by the warehouse."""
    args = {
        "loan_id": loan_id,
        "receipt_ids": [receipt_id],
        "warehouse_msp": WAREHOUSE,
        "commitment": h(f"loan-{loan_id}"),
    }
    return Submission(f"tx-pledge-{loan_id}", "register_pledge", args, bank, (WAREHOUSE,))


@pytest.fixture
def ledger(session_factory: sessionmaker[Session], tmp_path: Path) -> EmbeddedLedger:
    """The embedded ledger with the pledge contract and its endorsement policy."""
    built = EmbeddedLedger(
        session_factory,
        PledgeContract(),
        ORGS,
        Keyring(tmp_path / "keys"),
        required_endorsers=REQUIRED_ENDORSERS,
    )
    built.register_orgs()
    return built


def test_a_receipt_and_its_pledge_commit_and_the_lien_is_visible(ledger: EmbeddedLedger) -> None:
    issued = ledger.submit(issue("R1", "epc-1"))
    pledged = ledger.submit(pledge("L1", "R1"))

    assert (issued.block_number, pledged.block_number) == (1, 2)
    assert pledged.payload["lien_keys"] == [h("epc-1")]
    receipt = ledger.evaluate("get_receipt", {"receipt_id": "R1"}, WAREHOUSE)
    assert (receipt["status"], receipt["loan_id"]) == ("pledged", "L1")
    assert ledger.evaluate("get_lien", {"lien_key": h("epc-1")}, OTHER_BANK)["status"] == "active"


def test_a_pledge_without_the_warehouse_endorsement_is_refused(ledger: EmbeddedLedger) -> None:
    ledger.submit(issue("R1", "epc-1"))
    alone = Submission("tx-alone", "register_pledge", pledge("L1", "R1").args, BANK)

    with pytest.raises(Rejected) as refused:
        ledger.submit(alone)

    assert refused.value.code == "ENDORSEMENT_POLICY_FAILURE"


def test_a_second_pledge_of_the_same_goods_is_rejected_with_lien_exists(
    ledger: EmbeddedLedger, session_factory: sessionmaker[Session]
) -> None:
    ledger.submit(issue("R1", "epc-1"))
    ledger.submit(pledge("L1", "R1"))
    # A duplicate receipt for the same tagged goods carries the same lien key.
    ledger.submit(issue("R1-dup", "epc-1"))

    with pytest.raises(Rejected) as refused:
        ledger.submit(pledge("L2", "R1-dup", bank=OTHER_BANK))
    with pytest.raises(Rejected) as again:
        ledger.submit(pledge("L2", "R1-dup", bank=OTHER_BANK))

    assert refused.value.code == again.value.code == "LIEN_EXISTS"
    assert BANK not in refused.value.message and "L1" not in refused.value.message
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LedgerBlock)) == 3
        rejection = session.get(LedgerRejection, "tx-pledge-L2")
        assert rejection is not None and rejection.code == "LIEN_EXISTS"
    dup = ledger.evaluate("get_receipt", {"receipt_id": "R1-dup"}, WAREHOUSE)
    assert dup["status"] == "issued"


def test_events_stream_in_block_order_from_any_checkpoint(ledger: EmbeddedLedger) -> None:
    ledger.submit(issue("R1", "epc-1"))
    ledger.submit(issue("R2", "epc-2"))
    ledger.submit(pledge("L1", "R2"))

    everything = list(ledger.events(0))
    after_first = list(ledger.events(1))
    after_last = list(ledger.events(3))

    assert [(e.block_number, e.name) for e in everything] == [
        (1, "ReceiptIssued"),
        (2, "ReceiptIssued"),
        (3, "PledgeRegistered"),
    ]
    assert [e.tx_id for e in after_first] == ["tx-issue-R2", "tx-pledge-L1"]
    assert after_first[-1].payload["loan_id"] == "L1"
    assert after_first[-1].payload["receipt_ids"] == ["R2"]
    assert after_last == []


def test_verify_accepts_an_untouched_chain(ledger: EmbeddedLedger) -> None:
    ledger.submit(issue("R1", "epc-1"))
    ledger.submit(pledge("L1", "R1"))
    ledger.submit(issue("R1-dup", "epc-1"))
    with pytest.raises(Rejected):
        ledger.submit(pledge("L2", "R1-dup", bank=OTHER_BANK))

    report = ledger.verify()

    assert report.ok, report.reason
    assert report.blocks == 3


def test_resubmitting_a_committed_transaction_returns_its_block_without_a_new_one(
    ledger: EmbeddedLedger,
) -> None:
    first = ledger.submit(issue("R1", "epc-1"))

    again = ledger.submit(issue("R1", "epc-1"))

    assert again == first
    assert ledger.verify().blocks == 1


def test_concurrent_submits_of_distinct_receipts_all_commit_with_dense_block_numbers(
    ledger: EmbeddedLedger,
) -> None:
    results: dict[str, SubmitResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def submit(receipt_id: str) -> None:
        start.wait()
        try:
            results[receipt_id] = ledger.submit(issue(receipt_id, f"epc-{receipt_id}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(f"R{n}",)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == THREADS
    assert sorted(r.block_number for r in results.values()) == list(range(1, THREADS + 1))
    report = ledger.verify()
    assert report.ok, report.reason
    assert report.blocks == THREADS
    for receipt_id in results:
        stored = ledger.evaluate("get_receipt", {"receipt_id": receipt_id}, WAREHOUSE)
        assert stored["status"] == "issued"


def test_two_ledger_processes_racing_to_pledge_the_same_goods_leave_one_active_lien(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    keys = Keyring(tmp_path / "keys")
    first, second = (
        EmbeddedLedger(session_factory, PledgeContract(), ORGS, keys, REQUIRED_ENDORSERS)
        for _ in range(2)
    )
    first.register_orgs()
    second.register_orgs()
    first.submit(issue("R1", "epc-1"))
    second.submit(issue("R1-dup", "epc-1"))
    outcomes: dict[str, str] = {}
    start = threading.Barrier(2)

    def race(ledger: EmbeddedLedger, submission: Submission) -> None:
        start.wait()
        # A Conflict means another process committed first: resubmitting is the documented fix.
        for _attempt in range(20):
            try:
                ledger.submit(submission)
            except Conflict:
                continue
            except Rejected as exc:
                outcomes[submission.tx_id] = exc.code
            except Exception as exc:
                outcomes[submission.tx_id] = type(exc).__name__
            else:
                outcomes[submission.tx_id] = "committed"
            return

    threads = [
        threading.Thread(target=race, args=(first, pledge("L1", "R1"))),
        threading.Thread(target=race, args=(second, pledge("L2", "R1-dup", bank=OTHER_BANK))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["LIEN_EXISTS", "committed"]
    report = first.verify()
    assert report.ok, report.reason
    assert report.blocks == 3
