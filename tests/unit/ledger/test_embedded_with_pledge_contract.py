"""The embedded ledger runs the real pledge contract end to end through the outbox."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.orm import Session, sessionmaker

from chaincode.contract import REQUIRED_ENDORSERS, PledgeContract
from services.ledger.embedded import EmbeddedLedger
from services.ledger.outbox import EventListener, HandlerRegistry, OutboxWorker, enqueue, pump
from services.ledger.port import Rejected, Submission
from services.ledger.signing import Keyring
from services.ledger.tables import LedgerCommand

ORGS = {"BankAMSP": "bank", "WarehouseMSP": "warehouse"}


def digest(text: str) -> str:
    """Hex SHA-256 of text."""
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def pledge_ledger(sessions: sessionmaker[Session], keyring: Keyring) -> EmbeddedLedger:
    """An embedded ledger running the pledge contract."""
    return EmbeddedLedger(sessions, PledgeContract(), ORGS, keyring, REQUIRED_ENDORSERS)


def test_a_warehouse_receipt_issued_through_the_outbox_is_confirmed_and_readable(
    sessions: sessionmaker[Session], pledge_ledger: EmbeddedLedger
) -> None:
    args = {
        "receipt_id": "R-1",
        "warehouse_id": "WH-1",
        "lien_keys": [digest("WH-1/lot-1")],
        "commitment": digest("salt|R-1|100t copper"),
    }
    confirmed: list[str] = []
    handlers = HandlerRegistry()
    handlers.register(
        "issue_receipt", lambda _s, command, event: confirmed.append(event.name if event else "")
    )
    with sessions() as session, session.begin():
        command = enqueue(
            session,
            org_id="wh-org",
            kind="issue_receipt",
            subject_type="receipt",
            subject_id="R-1",
            fn="issue_receipt",
            args=args,
            submitter_msp="WarehouseMSP",
        )
    pump(
        OutboxWorker(sessions, pledge_ledger, handlers),
        EventListener(sessions, pledge_ledger, handlers),
    )

    with sessions() as session:
        stored = session.get(LedgerCommand, command.id)
        assert stored is not None and stored.status == "confirmed"
    assert confirmed == ["ReceiptIssued"]
    receipt = pledge_ledger.evaluate("get_receipt", {"receipt_id": "R-1"}, "BankAMSP")
    assert receipt["warehouse_msp"] == "WarehouseMSP"
    assert receipt["lien_keys"] == args["lien_keys"]
    assert pledge_ledger.verify().ok


def test_a_bank_cannot_issue_a_warehouse_receipt(pledge_ledger: EmbeddedLedger) -> None:
    args = {
        "receipt_id": "R-2",
        "warehouse_id": "WH-1",
        "lien_keys": [digest("WH-1/lot-2")],
        "commitment": digest("c"),
    }
    with pytest.raises(Rejected) as caught:
        pledge_ledger.submit(Submission("tx-r2", "issue_receipt", args, "BankAMSP"))
    assert caught.value.code == "FORBIDDEN"
