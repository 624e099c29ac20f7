"""Verifying the embedded chain finds the first tampered block, signature or state key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.embedded import EmbeddedLedger, block_hash
from services.ledger.embedded_tables import LedgerBlock, LedgerState
from services.ledger.port import Submission


@pytest.fixture
def chain(ledger: EmbeddedLedger) -> EmbeddedLedger:
    """A ledger holding four blocks, one of them endorsed by two orgs."""
    ledger.submit(Submission("tx-1", "put", {"key": "a", "value": 1}, "BankAMSP"))
    ledger.submit(Submission("tx-2", "put", {"key": "b", "value": 2}, "BankAMSP"))
    ledger.submit(
        Submission("tx-3", "pair", {"key": "c", "value": 3}, "WarehouseMSP", ("BankBMSP",))
    )
    ledger.submit(Submission("tx-4", "remove", {"key": "a"}, "BankAMSP"))
    return ledger


def sql(sessions: sessionmaker[Session], statement: str, **params: object) -> None:
    """Run a raw SQL statement, as someone with database access would."""
    with sessions() as session, session.begin():
        session.execute(text(statement), params)


def test_an_untouched_chain_verifies(chain: EmbeddedLedger) -> None:
    report = chain.verify()
    assert (report.ok, report.blocks, report.first_broken, report.reason) == (True, 4, None, "")


def test_an_empty_ledger_verifies(ledger: EmbeddedLedger) -> None:
    assert ledger.verify().ok


def test_changed_args_in_a_stored_block_are_reported_on_that_block(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "UPDATE ledger_blocks SET args = :a WHERE number = 2", a='{"key":"b","value":9}')
    report = chain.verify()
    assert (report.ok, report.first_broken, report.blocks) == (False, 2, 1)
    assert "hash" in report.reason


def test_a_changed_write_value_in_a_stored_block_is_reported_on_that_block(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "UPDATE ledger_blocks SET writes = :w WHERE number = 3", w='{"c":"4"}')
    report = chain.verify()
    assert (report.ok, report.first_broken) == (False, 3)


def test_a_rewritten_block_with_a_recomputed_hash_fails_on_its_signatures(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session, session.begin():
        block = session.scalars(select(LedgerBlock).where(LedgerBlock.number == 4)).one()
        block.writes = json.dumps({})
        block.hash = block_hash(block)
        # Put the deleted key back so only the forged block itself can give the game away.
        session.add(LedgerState(key="a", value="1", version=1))
    report = chain.verify()
    assert (report.ok, report.first_broken) == (False, 4)
    assert "signature of BankAMSP is invalid" in report.reason


def test_a_broken_link_is_reported_on_the_block_that_points_wrong(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "UPDATE ledger_blocks SET hash = :h WHERE number = 1", h="f" * 64)
    report = chain.verify()
    # Block 1's stored hash no longer matches its contents, which is found first.
    assert (report.ok, report.first_broken) == (False, 1)


def test_a_deleted_block_is_reported_as_missing(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "DELETE FROM ledger_blocks WHERE number = 2")
    report = chain.verify()
    assert (report.ok, report.first_broken) == (False, 2)
    assert "missing" in report.reason


def test_a_dropped_endorsement_breaks_the_policy_of_that_block(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        stored = session.execute(
            text("SELECT endorsements FROM ledger_blocks WHERE number = 3")
        ).scalar_one()
    only_submitter = [e for e in json.loads(stored) if e["msp"] == "WarehouseMSP"]
    sql(
        sessions,
        "UPDATE ledger_blocks SET endorsements = :e WHERE number = 3",
        e=json.dumps(only_submitter),
    )
    report = chain.verify()
    assert (report.ok, report.first_broken) == (False, 3)
    assert "missing bank" in report.reason


def test_a_changed_state_value_is_reported_with_its_key(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "UPDATE ledger_state SET value = '20' WHERE key = 'b'")
    report = chain.verify()
    assert (report.ok, report.blocks, report.first_broken) == (False, 4, 2)
    assert "'b'" in report.reason


def test_a_state_key_no_block_wrote_is_reported(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "INSERT INTO ledger_state (key, value, version) VALUES ('zz', '1', 2)")
    report = chain.verify()
    assert not report.ok
    assert "'zz'" in report.reason


def test_a_deleted_state_key_is_reported(
    chain: EmbeddedLedger, sessions: sessionmaker[Session]
) -> None:
    sql(sessions, "DELETE FROM ledger_state WHERE key = 'c'")
    report = chain.verify()
    assert (report.ok, report.first_broken) == (False, 3)
    assert "'c'" in report.reason
