"""DB-to-ledger audit: does the service's database say what the ledger says?

Three kinds of check, each a list of differences when they disagree:
- commands: every confirmed command's transaction is on the chain exactly once, no ledger
  transaction of ours is left unconfirmed behind the event checkpoint, and no effect was queued
  twice (two commands with the same function and arguments);
- state: every receipt, loan and release order the database shows settled has the same status
  (and, for loans, the same terms commitment) on the ledger, and those the database shows
  refused or never registered are absent from it;
- chain: the ledger's own integrity check passes.

Subjects with commands still in flight are counted as unsettled and not compared: their two
sides legitimately differ until the outbox and the event listener catch up.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loans.model import LoanStatus
from loans.tables import loans
from pledge.model import OrderStatus, ReceiptStatus
from pledge.tables import receipts, release_orders
from services.identity.tables import Org
from services.ledger.outbox import CONFIRMED, PENDING, SUBMITTED
from services.ledger.port import LedgerPort, Rejected
from services.ledger.tables import LedgerCheckpoint, LedgerCommand

# Statuses the database holds only until the ledger answers, or after it refused.
_RECEIPT_OFF_CHAIN = frozenset({ReceiptStatus.PENDING, ReceiptStatus.REJECTED})
_ORDER_OFF_CHAIN = frozenset({OrderStatus.PENDING, OrderStatus.REJECTED})
_LOAN_OFF_CHAIN = frozenset({LoanStatus.APPLIED, LoanStatus.REJECTED, LoanStatus.APPROVED})
_NOT_FOUND = frozenset({"RECEIPT_NOT_FOUND", "LOAN_NOT_FOUND", "ORDER_NOT_FOUND"})
_IN_FLIGHT = frozenset({PENDING, SUBMITTED})


@dataclass(frozen=True)
class Difference:
    """One disagreement: what the database holds and what the ledger holds for a subject."""

    kind: str
    subject: str
    db: str
    ledger: str
    # The organisation whose record differs (empty: every organisation, e.g. a broken chain).
    org_id: str = ""


@dataclass
class AuditReport:
    """The outcome of one audit."""

    differences: list[Difference] = field(default_factory=list)
    unsettled: int = 0
    checked: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when nothing differs and nothing is still in flight."""
        return not self.differences and self.unsettled == 0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "ok": self.ok,
            "unsettled": self.unsettled,
            "checked": dict(sorted(self.checked.items())),
            "differences": [vars(d) for d in self.differences],
        }


def audit_ledger(session_factory: Callable[[], Session], ledger: LedgerPort) -> AuditReport:
    """Compare the database with the ledger; see the module docstring for what is checked."""
    report = AuditReport()
    with session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            # One snapshot for every read below, so a command and the record it changes agree.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        commands = list(session.scalars(select(LedgerCommand)))
        checkpoint_row = session.get(LedgerCheckpoint, "service")
        msp_of = {org.id: org.msp_id for org in session.scalars(select(Org))}
        r = receipts.c
        receipt_rows = session.execute(select(r.id, r.status, r.loan_id, r.warehouse_org_id)).all()
        order_rows = session.execute(
            select(release_orders.c.id, release_orders.c.status, release_orders.c.bank_org_id)
        ).all()
        loan_rows = session.execute(select(loans.c.id, loans.c.status, loans.c.bank_org_id)).all()
    checkpoint = 0 if checkpoint_row is None else checkpoint_row.block_number

    in_flight = {(c.subject_type, c.subject_id) for c in commands if c.status in _IN_FLIGHT}
    report.unsettled = sum(1 for c in commands if c.status in _IN_FLIGHT)
    report.checked["commands"] = len(commands)
    _check_commands(report, commands, ledger, checkpoint)

    state = _StateCheck(report, ledger, in_flight, commands)
    for row in receipt_rows:
        owner = _Owner(row.warehouse_org_id, msp_of.get(row.warehouse_org_id, ""))
        state.receipt(row.id, ReceiptStatus(row.status), row.loan_id, owner)
    for order in order_rows:
        owner = _Owner(order.bank_org_id, msp_of.get(order.bank_org_id, ""))
        state.order(order.id, OrderStatus(order.status), owner)
    for loan in loan_rows:
        owner = _Owner(loan.bank_org_id, msp_of.get(loan.bank_org_id, ""))
        state.loan(loan.id, LoanStatus(loan.status), owner)

    verdict = ledger.verify()
    report.checked["blocks"] = verdict.blocks
    if not verdict.ok:
        report.differences.append(
            Difference("chain", f"block {verdict.first_broken}", "", verdict.reason)
        )
    return report


def persisting(first: AuditReport, second: AuditReport) -> AuditReport:
    """The second audit keeping only the differences the first found too."""
    # Traffic between an audit's database read and its ledger read can make a record differ for
    # a moment; a difference found twice, the same on both sides, is not such a moment.
    seen = set(first.differences)
    kept = [d for d in second.differences if d in seen]
    return AuditReport(kept, second.unsettled, second.checked)


def _check_commands(
    report: AuditReport, commands: list[LedgerCommand], ledger: LedgerPort, checkpoint: int
) -> None:
    on_chain: Counter[str] = Counter()
    block_of: dict[str, int] = {}
    for event in ledger.events(0):
        # A Fabric block carries several events of one transaction only once per transaction.
        if block_of.get(event.tx_id) == event.block_number:
            continue
        on_chain[event.tx_id] += 1
        block_of[event.tx_id] = event.block_number
    report.checked["transactions"] = len(on_chain)
    for tx_id, count in on_chain.items():
        if count > 1:
            report.differences.append(
                Difference("duplicate_tx", tx_id, "one transaction", f"on chain {count} times")
            )
    effects: Counter[tuple[str, str, str]] = Counter()
    for command in commands:
        subject = f"{command.subject_type} {command.subject_id} ({command.fn})"
        if command.status == CONFIRMED:
            effects[(command.fn, _canonical(command.args), command.org_id)] += 1
            if command.tx_id not in on_chain:
                report.differences.append(
                    Difference(
                        "missing_tx",
                        subject,
                        f"confirmed {command.tx_id}",
                        "absent",
                        command.org_id,
                    )
                )
        elif command.tx_id in on_chain and block_of[command.tx_id] <= checkpoint:
            # The listener passed this block without confirming the command: an event was lost.
            report.differences.append(
                Difference("unconfirmed_tx", subject, command.status, "committed", command.org_id)
            )
    for (fn, args, org_id), count in effects.items():
        if count > 1:
            report.differences.append(
                Difference(
                    "duplicate_command", f"{fn} {args[:120]}", f"{count} commands", "", org_id
                )
            )


def _canonical(args: str) -> str:
    try:
        return json.dumps(json.loads(args), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return args


class _StateCheck:
    """Compares one subject at a time, skipping those with commands in flight."""

    def __init__(
        self,
        report: AuditReport,
        ledger: LedgerPort,
        in_flight: set[tuple[str, str]],
        commands: Iterable[LedgerCommand],
    ) -> None:
        self._report = report
        self._ledger = ledger
        self._in_flight = in_flight
        # The terms commitment of a loan is whatever its last confirmed command wrote.
        self._commitment: dict[str, str] = {}
        confirmed = [c for c in commands if c.status == CONFIRMED and c.subject_type == "loan"]
        for command in sorted(confirmed, key=lambda c: c.block_number or 0):
            written = json.loads(command.args).get("commitment")
            if isinstance(written, str):
                self._commitment[command.subject_id] = written

    def receipt(self, rid: str, status: ReceiptStatus, loan_id: str | None, owner: _Owner) -> None:
        """Receipt status (and the loan it secures) against the ledger's record."""
        settled, found = self._fetch("receipt", rid, "get_receipt", {"receipt_id": rid}, owner)
        if not settled:
            return
        if status in _RECEIPT_OFF_CHAIN:
            self._absent("receipt", rid, status.value, found, owner)
            return
        # A receipt back in stock keeps no loan in the database; the ledger drops it too.
        shown_loan = "-" if status is ReceiptStatus.ISSUED else loan_id or "-"
        db = f"{status.value} loan={shown_loan}"
        self._same("receipt", rid, db, _receipt_view(found), owner)

    def order(self, oid: str, status: OrderStatus, owner: _Owner) -> None:
        """Release order status against the ledger's record."""
        args = {"order_id": oid}
        settled, found = self._fetch("release_order", oid, "get_release_order", args, owner)
        if not settled:
            return
        if status in _ORDER_OFF_CHAIN:
            self._absent("release_order", oid, status.value, found, owner)
            return
        self._same("release_order", oid, status.value, _status(found), owner)

    def loan(self, lid: str, status: LoanStatus, owner: _Owner) -> None:
        """Loan status and terms commitment against the ledger's record."""
        settled, found = self._fetch("loan", lid, "get_loan", {"loan_id": lid}, owner)
        if not settled:
            return
        if status in _LOAN_OFF_CHAIN:
            self._absent("loan", lid, status.value, found, owner)
            return
        self._same("loan", lid, status.value, _status(found), owner)
        if found is not None:
            written = str(self._commitment.get(lid))
            self._same("loan_commitment", lid, written, str(found.get("commitment")), owner)

    def _fetch(
        self, kind: str, subject: str, fn: str, args: dict[str, str], owner: _Owner
    ) -> tuple[bool, dict[str, Any] | None]:
        """(False, None) while the subject has commands in flight; else (True, ledger record)."""
        if (kind, subject) in self._in_flight:
            return False, None
        self._report.checked[kind] += 1
        try:
            found = self._ledger.evaluate(fn, args, owner.msp_id)
        except Rejected as exc:
            if exc.code in _NOT_FOUND:
                return True, None
            raise
        return True, found if isinstance(found, dict) else None

    def _absent(
        self, kind: str, subject: str, db: str, found: dict[str, Any] | None, owner: _Owner
    ) -> None:
        if found is not None:
            self._same(kind, subject, db, _status(found), owner)

    def _same(self, kind: str, subject: str, db: str, ledger: str, owner: _Owner) -> None:
        if db != ledger:
            self._report.differences.append(Difference(kind, subject, db, ledger, owner.org_id))


@dataclass(frozen=True)
class _Owner:
    """The organisation that holds a record, and the MSP id it reads the ledger as."""

    org_id: str
    msp_id: str


def _receipt_view(found: dict[str, Any] | None) -> str:
    if found is None:
        return "absent"
    return f"{found['status']} loan={found.get('loan_id') or '-'}"


def _status(found: dict[str, Any] | None) -> str:
    return "absent" if found is None else str(found.get("status"))
