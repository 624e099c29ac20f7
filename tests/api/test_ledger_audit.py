"""The DB-to-ledger audit after the whole story, and what it reports when the two sides differ."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from sqlalchemy import select, text, update

from pledge.alert_tables import alerts
from pledge.tables import receipts
from services.demo import play
from services.ledger.audit import AuditReport, Difference, audit_ledger, persisting
from services.ledger.tables import LedgerCommand
from services.scheduler import ledger_audit_job


def audited(service: Any) -> Any:
    """The audit of the service's database against its ledger."""
    container = service.container
    if container.ledger is None:
        container.connect_ledger()
    return audit_ledger(container.session_factory, container.ledger)


def played(service: Any) -> None:
    """The whole story, every claim holding."""
    out = io.StringIO()
    story = play(service.client, Console(file=out, width=200))
    assert all(ok for _, ok, _ in story.checks), out.getvalue()


def test_after_the_story_database_and_ledger_agree_on_every_subject(service: Any) -> None:
    played(service)

    report = audited(service)

    assert report.differences == []
    assert report.ok and report.unsettled == 0
    # Every kind of subject was compared, and every command's transaction was found.
    assert report.checked["receipt"] >= 2
    assert report.checked["loan"] >= 2
    assert report.checked["release_order"] >= 1
    with service.container.engine.connect() as conn:
        confirmed = conn.execute(
            text("SELECT count(*) FROM ledger_commands WHERE status = 'confirmed'")
        ).scalar_one()
        refused = conn.execute(
            text("SELECT count(*) FROM ledger_commands WHERE status = 'rejected'")
        ).scalar_one()
    # The duplicate pledge the story tries is refused by the ledger and never reaches the chain.
    assert refused >= 1
    assert report.checked["transactions"] == confirmed == report.checked["commands"] - refused
    assert report.checked["blocks"] == report.checked["transactions"]


def test_a_receipt_status_changed_behind_the_ledger_is_reported(service: Any) -> None:
    played(service)
    engine = service.container.engine
    with engine.begin() as conn:
        free = conn.execute(
            select(receipts.c.id).where(receipts.c.status == "issued").limit(1)
        ).scalar_one()
        # Goods quietly marked released in the database while the ledger holds them in stock.
        conn.execute(update(receipts).where(receipts.c.id == free).values(status="released"))

    report = audited(service)

    assert [(d.kind, d.subject) for d in report.differences] == [("receipt", free)]
    assert report.differences[0].db.startswith("released")
    assert report.differences[0].ledger.startswith("issued")


def test_a_confirmed_command_missing_from_the_chain_and_a_duplicated_effect_are_reported(
    service: Any,
) -> None:
    played(service)
    engine = service.container.engine
    with engine.begin() as conn:
        original = conn.execute(
            select(LedgerCommand.__table__).where(LedgerCommand.fn == "issue_receipt").limit(1)
        ).one()
        # The same effect queued twice, the copy claiming a transaction the chain never saw.
        copy = {**original._mapping, "id": "f" * 32, "tx_id": "e" * 64}
        conn.execute(LedgerCommand.__table__.insert().values(copy))

    report = audited(service)

    kinds = sorted(d.kind for d in report.differences)
    assert kinds == ["duplicate_command", "missing_tx"]
    assert not report.ok


def test_commands_in_flight_are_counted_not_compared(service: Any) -> None:
    played(service)
    engine = service.container.engine
    with engine.begin() as conn:
        original = conn.execute(
            select(LedgerCommand.__table__).where(LedgerCommand.fn == "update_loan").limit(1)
        ).one()
        # A newer state of the same loan, queued and not yet submitted.
        queued = {**original._mapping, "id": "a" * 32, "tx_id": "b" * 64, "status": "pending"}
        queued["args"] = queued["args"].replace('"status":"', '"status":"x')
        conn.execute(LedgerCommand.__table__.insert().values(queued))

    report = audited(service)

    assert report.unsettled == 1
    assert report.differences == []
    assert not report.ok


def test_a_committed_transaction_the_listener_never_confirmed_is_reported(service: Any) -> None:
    played(service)
    engine = service.container.engine
    with engine.begin() as conn:
        # As if the event of a committed block had been lost behind the checkpoint.
        lost = conn.execute(
            text("UPDATE ledger_commands SET status = 'submitted' WHERE fn = 'lift_lien'")
        ).rowcount

    report = audited(service)

    assert lost == 1
    assert [(d.kind, d.db, d.ledger) for d in report.differences] == [
        ("unconfirmed_tx", "submitted", "committed")
    ]


def test_the_scheduled_audit_alerts_the_organisation_whose_record_differs_once(
    service: Any,
) -> None:
    played(service)
    container = service.container
    assert ledger_audit_job(container, recheck_after=0) == 0
    with container.engine.begin() as conn:
        free, owner = conn.execute(
            select(receipts.c.id, receipts.c.warehouse_org_id)
            .where(receipts.c.status == "issued")
            .limit(1)
        ).one()
        conn.execute(update(receipts).where(receipts.c.id == free).values(status="pledged"))

    assert ledger_audit_job(container, recheck_after=0) == 1
    # While the difference persists, the next run folds into the open alert.
    assert ledger_audit_job(container, recheck_after=0) == 1

    with container.engine.connect() as conn:
        raised = conn.execute(
            select(alerts.c.org_id, alerts.c.severity, alerts.c.title, alerts.c.detail).where(
                alerts.c.type == "ledger_mismatch"
            )
        ).all()
    assert len(raised) == 1
    [(org_id, severity, title, detail)] = raised
    assert (org_id, severity) == (owner, "critical")
    assert title == "database and ledger disagree on 1 record(s)"
    assert f"receipt {free}" in detail and "ledger 'issued loan=-'" in detail


def test_only_differences_found_by_both_audits_persist() -> None:
    moment = Difference("loan", "L1", "active", "closed", "bank1")
    lasting = Difference("receipt", "R1", "pledged loan=-", "issued loan=-", "northport")
    moved_on = Difference("loan", "L1", "closed", "defaulted", "bank1")

    kept = persisting(AuditReport([moment, lasting]), AuditReport([lasting, moved_on], 2))

    assert kept.differences == [lasting]
    assert kept.unsettled == 2
