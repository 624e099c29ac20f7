"""The embedded ledger: commits, idempotency, refusals, endorsement policy, events, queries."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.embedded import GENESIS_HASH, EmbeddedLedger, block_hash
from services.ledger.embedded_tables import LedgerBlock, LedgerRejection, LedgerState
from services.ledger.port import LedgerError, Rejected, Submission
from services.ledger.signing import Keyring, verify


def put(
    tx_id: str, key: str, value: object, msp: str = "BankAMSP", timestamp: str = ""
) -> Submission:
    """A put of key=value submitted by msp."""
    return Submission(tx_id, "put", {"key": key, "value": value}, msp, timestamp=timestamp)


def blocks(sessions: sessionmaker[Session]) -> list[LedgerBlock]:
    """Every stored block, in order."""
    with sessions() as session:
        return list(session.scalars(select(LedgerBlock).order_by(LedgerBlock.number)))


def test_a_submitted_transaction_is_committed_in_a_block_and_changes_state(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    first = ledger.submit(put("tx-1", "a", 1))
    second = ledger.submit(put("tx-2", "a", 2))

    assert (first.block_number, second.block_number) == (1, 2)
    assert second.payload == {"key": "a", "previous": 1}
    assert ledger.evaluate("get", {"key": "a"}, "BankBMSP") == {"value": 2}
    chain = blocks(sessions)
    assert chain[0].prev_hash == GENESIS_HASH
    assert chain[1].prev_hash == chain[0].hash
    assert json.loads(chain[1].writes) == {"a": "2"}
    with sessions() as session:
        state = session.get(LedgerState, "a")
        assert state is not None and (state.value, state.version) == ("2", 2)


def test_resubmitting_a_tx_id_returns_the_first_result_without_a_new_block(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    first = ledger.submit(put("tx-1", "a", 1))
    again = ledger.submit(put("tx-1", "a", 99))

    assert again == first
    assert len(blocks(sessions)) == 1
    assert ledger.evaluate("get", {"key": "a"}, "BankAMSP") == {"value": 1}


def test_a_contract_refusal_is_rejected_recorded_and_repeated_on_resubmission(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.submit(Submission("tx-1", "put_once", {"key": "k", "value": 1}, "BankAMSP"))
    refused = Submission("tx-2", "put_once", {"key": "k", "value": 2}, "BankAMSP")
    with pytest.raises(Rejected) as first:
        ledger.submit(refused)
    # Even once the key is gone the same tx id keeps its recorded answer.
    ledger.submit(Submission("tx-3", "remove", {"key": "k"}, "BankAMSP"))
    with pytest.raises(Rejected) as again:
        ledger.submit(refused)

    assert (first.value.code, first.value.message) == ("EXISTS", "k is already set")
    assert (again.value.code, again.value.message) == ("EXISTS", "k is already set")
    assert [b.tx_id for b in blocks(sessions)] == ["tx-1", "tx-3"]
    with sessions() as session:
        row = session.get(LedgerRejection, "tx-2")
        assert row is not None and row.code == "EXISTS"


def test_a_refused_transaction_writes_no_state(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(Rejected, match="REFUSED: not today"):
        ledger.submit(Submission("tx-1", "refuse", {"why": "not today"}, "BankAMSP"))
    assert blocks(sessions) == []
    with sessions() as session:
        assert session.scalars(select(LedgerState)).all() == []


def test_an_unknown_submitter_is_rejected_as_unknown_org(ledger: EmbeddedLedger) -> None:
    with pytest.raises(Rejected) as caught:
        ledger.submit(put("tx-1", "a", 1, msp="MalloryMSP"))
    assert caught.value.code == "UNKNOWN_ORG"
    with pytest.raises(Rejected) as caught:
        ledger.evaluate("get", {"key": "a"}, "MalloryMSP")
    assert caught.value.code == "UNKNOWN_ORG"


def test_a_crashing_contract_is_rejected_but_not_recorded(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(Rejected) as caught:
        ledger.submit(Submission("tx-1", "explode", {}, "BankAMSP"))
    assert caught.value.code == "CONTRACT_FAILURE"
    with sessions() as session:
        assert session.get(LedgerRejection, "tx-1") is None


def test_a_two_party_function_without_the_second_role_fails_the_endorsement_policy(
    ledger: EmbeddedLedger,
) -> None:
    lone = Submission("tx-1", "pair", {"key": "p", "value": 1}, "BankAMSP", ("BankBMSP",))
    with pytest.raises(Rejected) as caught:
        ledger.submit(lone)
    assert caught.value.code == "ENDORSEMENT_POLICY_FAILURE"
    assert "warehouse" in caught.value.message
    assert "bank" not in caught.value.message.split(":")[-1]


def test_a_two_party_function_commits_with_both_orgs_signatures(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    both = Submission("tx-1", "pair", {"key": "p", "value": 1}, "BankAMSP", ("WarehouseMSP",))
    ledger.submit(both)

    (block,) = blocks(sessions)
    endorsements = json.loads(block.endorsements)
    assert [e["msp"] for e in endorsements] == ["BankAMSP", "WarehouseMSP"]
    for e in endorsements:
        signature = base64.b64decode(e["signature"])
        assert verify(keyring.public_pem(e["msp"]), block.hash.encode(), signature)


def test_the_contract_sees_the_submitter_and_the_client_timestamp(ledger: EmbeddedLedger) -> None:
    stamp = "2026-03-01T09:30:00.000000Z"
    result = ledger.submit(Submission("tx-1", "whoami", {}, "WarehouseMSP", timestamp=stamp))
    assert result.payload == {"msp": "WarehouseMSP", "role": "warehouse", "ts": stamp}


def test_a_transaction_without_a_timestamp_gets_the_current_utc_time(
    ledger: EmbeddedLedger,
) -> None:
    result = ledger.submit(Submission("tx-1", "whoami", {}, "BankAMSP"))
    assert str(result.payload["ts"]).endswith("Z")
    assert str(result.payload["ts"]).startswith("20")


def test_queries_read_state_ranges_and_history_from_the_block_log(ledger: EmbeddedLedger) -> None:
    ledger.submit(put("tx-1", "item:1", "a", timestamp="2026-01-01T00:00:00Z"))
    ledger.submit(put("tx-2", "item:2", "b"))
    ledger.submit(put("tx-3", "item:1", "c", timestamp="2026-01-03T00:00:00Z"))
    ledger.submit(Submission("tx-4", "remove", {"key": "item:1"}, "BankAMSP"))
    ledger.submit(put("tx-5", "other", "d"))

    history = ledger.evaluate("history", {"key": "item:1"}, "BankAMSP")["entries"]
    assert [(h["tx_id"], h["value"], h["is_delete"]) for h in history] == [
        ("tx-1", "a", False),
        ("tx-3", "c", False),
        ("tx-4", None, True),
    ]
    assert history[0]["timestamp"] == "2026-01-01T00:00:00Z"
    assert ledger.evaluate("range", {"start": "item:", "end": "item;"}, "BankAMSP") == {
        "keys": ["item:2"]
    }
    assert ledger.evaluate("range", {"start": "", "end": ""}, "BankAMSP") == {
        "keys": ["item:2", "other"]
    }


def test_a_query_that_tries_to_write_is_rejected(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(Rejected) as caught:
        ledger.evaluate("put", {"key": "a", "value": 1}, "BankAMSP")
    assert caught.value.code == "READ_ONLY"
    assert blocks(sessions) == []


def test_events_stream_every_block_after_the_checkpoint_in_order(ledger: EmbeddedLedger) -> None:
    ledger.submit(put("tx-1", "a", 1))
    ledger.submit(Submission("tx-2", "quiet", {"key": "b", "value": 2}, "BankAMSP"))
    ledger.submit(Submission("tx-3", "remove", {"key": "a"}, "BankAMSP"))

    events = list(ledger.events(0))
    assert [(e.block_number, e.tx_id, e.name) for e in events] == [
        (1, "tx-1", "Put"),
        (2, "tx-2", ""),
        (3, "tx-3", "Removed"),
    ]
    assert events[0].payload == {"key": "a", "by": "tx-1"}
    assert [e.block_number for e in ledger.events(2)] == [3]
    assert list(ledger.events(3)) == []


def test_a_restarted_ledger_continues_the_same_chain(
    make_ledger: Callable[..., EmbeddedLedger],
) -> None:
    make_ledger().submit(put("tx-1", "a", 1))
    restarted = make_ledger()
    assert restarted.submit(put("tx-1", "a", 1)).block_number == 1
    assert restarted.submit(put("tx-2", "a", 2)).block_number == 2
    assert restarted.verify().ok


def test_an_org_whose_key_changed_is_refused_at_registration(
    make_ledger: Callable[..., EmbeddedLedger], tmp_path: Path
) -> None:
    make_ledger().submit(put("tx-1", "a", 1))
    with pytest.raises(LedgerError, match="different key"):
        make_ledger(keyring=Keyring(tmp_path / "other-keys")).register_orgs()


def test_concurrent_submissions_get_dense_block_numbers(ledger: EmbeddedLedger) -> None:
    def worker(n: int) -> None:
        """Submit five puts of one key."""
        for i in range(5):
            ledger.submit(put(f"tx-{n}-{i}", f"k{n}", i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = ledger.verify()
    assert report.ok and report.blocks == 20


def test_block_hash_covers_the_block_number_and_prev_hash(
    ledger: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.submit(put("tx-1", "a", 1))
    (block,) = blocks(sessions)
    original = block_hash(block)
    block.number = 7
    assert block_hash(block) != original
    block.number = 1
    block.prev_hash = "1" * 64
    assert block_hash(block) != original
