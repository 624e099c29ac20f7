"""The in-memory runtime: buffered writes, commit, history, events and MVCC checks."""

from __future__ import annotations

import pytest

from chaincode.memory import MemoryLedger, MvccConflictError, TransactionClosedError
from chaincode.stub import Creator, HistoryEntry, Stub

ALICE = Creator("WarehouseMSP", "warehouse")


def test_writes_are_invisible_until_commit_even_to_the_same_transaction() -> None:
    ledger = MemoryLedger()
    stub = ledger.begin(ALICE)
    stub.put_state("k", b"1")
    assert stub.get_state("k") is None
    assert ledger.get("k") is None
    stub.commit()
    assert ledger.get("k") == b"1"


def test_a_discarded_transaction_leaves_nothing_behind() -> None:
    ledger = MemoryLedger()
    stub = ledger.begin(ALICE)
    stub.put_state("k", b"1")
    stub.set_event("E", b"{}")
    stub.discard()
    assert ledger.snapshot() == {}
    assert ledger.transactions == []
    assert ledger.events == []


def test_run_commits_on_return_and_discards_on_error() -> None:
    ledger = MemoryLedger()

    def write(stub: Stub) -> bytes:
        stub.put_state("k", b"1")
        return b"ok"

    def fail(stub: Stub) -> bytes:
        stub.put_state("k", b"2")
        raise ValueError("refused")

    assert ledger.run(ALICE, write) == b"ok"
    with pytest.raises(ValueError, match="refused"):
        ledger.run(ALICE, fail)
    assert ledger.get("k") == b"1"
    assert len(ledger.transactions) == 1


def test_history_keeps_every_committed_value_and_deletion_oldest_first() -> None:
    ledger = MemoryLedger()
    for value in (b"1", b"2", None):
        stub = ledger.begin(ALICE)
        if value is None:
            stub.del_state("k")
        else:
            stub.put_state("k", value)
        stub.commit()
    assert ledger.get("k") is None
    reader = ledger.begin(ALICE)
    assert list(reader.get_history("k")) == [
        HistoryEntry("tx000001", "2025-01-01T00:00:01Z", b"1", False),
        HistoryEntry("tx000002", "2025-01-01T00:00:02Z", b"2", False),
        HistoryEntry("tx000003", "2025-01-01T00:00:03Z", None, True),
    ]
    assert ledger.history("k") == list(reader.get_history("k"))


def test_the_committed_event_is_recorded_with_its_transaction() -> None:
    ledger = MemoryLedger()
    stub = ledger.begin(ALICE, tx_id="abc", timestamp="2026-02-03T04:05:06Z")
    assert (stub.tx_id, stub.tx_timestamp, stub.creator()) == ("abc", "2026-02-03T04:05:06Z", ALICE)
    stub.set_event("Thing", b'{"a":1}')
    committed = stub.commit()
    assert committed.event == ("Thing", b'{"a":1}')
    assert ledger.events == [("abc", "Thing", b'{"a":1}')]


def test_a_second_event_in_one_transaction_is_a_bug_and_raises() -> None:
    stub = MemoryLedger().begin(ALICE)
    stub.set_event("First", b"{}")
    with pytest.raises(RuntimeError, match="First"):
        stub.set_event("Second", b"{}")


def test_a_closed_transaction_accepts_no_more_calls() -> None:
    stub = MemoryLedger().begin(ALICE)
    stub.commit()
    with pytest.raises(TransactionClosedError):
        stub.put_state("k", b"1")
    with pytest.raises(TransactionClosedError):
        stub.commit()


def test_range_reads_are_ordered_half_open_and_ignore_pending_writes() -> None:
    ledger = MemoryLedger()
    seed = ledger.begin(ALICE)
    for key in ("lien:b", "lien:a", "loan:a", "lien:c"):
        seed.put_state(key, key.encode())
    seed.commit()
    stub = ledger.begin(ALICE)
    stub.put_state("lien:aa", b"pending")
    assert [k for k, _ in stub.get_state_by_range("lien:", "lien:c")] == ["lien:a", "lien:b"]
    assert [k for k, _ in stub.get_state_by_range("loan:", "")] == ["loan:a"]


def test_a_transaction_that_read_a_key_changed_since_cannot_commit() -> None:
    ledger = MemoryLedger()
    first = ledger.begin(ALICE)
    second = ledger.begin(ALICE)
    assert first.get_state("k") is None
    assert second.get_state("k") is None
    first.put_state("k", b"1")
    second.put_state("k", b"2")
    first.commit()
    with pytest.raises(MvccConflictError, match="key k"):
        second.commit()
    assert ledger.get("k") == b"1"


def test_a_transaction_whose_range_gained_a_key_cannot_commit() -> None:
    ledger = MemoryLedger()
    scanner = ledger.begin(ALICE)
    list(scanner.get_state_by_range("lien:", "lien;"))
    writer = ledger.begin(ALICE)
    writer.put_state("lien:x", b"1")
    writer.commit()
    scanner.put_state("summary", b"0")
    with pytest.raises(MvccConflictError, match="range"):
        scanner.commit()


def test_blind_writes_to_different_keys_both_commit() -> None:
    ledger = MemoryLedger()
    first = ledger.begin(ALICE)
    second = ledger.begin(ALICE)
    first.put_state("a", b"1")
    second.put_state("b", b"2")
    first.commit()
    second.commit()
    assert ledger.snapshot() == {"a": b"1", "b": b"2"}


def test_a_transaction_id_commits_only_once() -> None:
    ledger = MemoryLedger()
    ledger.begin(ALICE, tx_id="same").commit()
    with pytest.raises(MvccConflictError, match="same"):
        ledger.begin(ALICE, tx_id="same").commit()


def test_keys_must_be_non_empty_and_values_bytes() -> None:
    stub = MemoryLedger().begin(ALICE)
    with pytest.raises(ValueError):
        stub.put_state("", b"1")
    with pytest.raises(ValueError):
        stub.del_state("")
    with pytest.raises(TypeError):
        stub.put_state("k", "text")  # type: ignore[arg-type]


def test_a_memory_stub_satisfies_the_stub_protocol() -> None:
    stub: Stub = MemoryLedger().begin(ALICE)
    assert stub.creator() == ALICE
