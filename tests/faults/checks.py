"""What must hold after a fault and its recovery, read from the database and the audit command.

Each check returns findings (plain sentences), empty when all is well, so one test can report
every broken promise at once instead of stopping at the first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

from loans.tables import loans, repayments
from pledge.alert_tables import alerts
from pledge.epcis_tables import epcis_event_epcs, epcis_events
from pledge.tables import movements, release_orders
from services.cameras.tables import LiveCheckRow
from services.ingest.tables import TagReadRow
from services.ledger.tables import LedgerCommand
from tests.faults.load import LoanPlan

AUDIT_UNSETTLED = 3
IN_FLIGHT = ("pending", "submitted")


@dataclass
class ReadCount:
    """Reads the broker acknowledged against the rows the database holds for them."""

    sent: int
    stored: int
    lost: int
    duplicated: int


def count_reads(engine: Engine, acked: list[tuple[str, str]]) -> ReadCount:
    """Compare acknowledged (reader, EPC) pairs with the stored rows of those readers."""
    readers = sorted({reader for reader, _ in acked})
    with engine.connect() as conn:
        rows = conn.execute(
            select(TagReadRow.reader_id, TagReadRow.epc, func.count())
            .where(TagReadRow.reader_id.in_(readers))
            .group_by(TagReadRow.reader_id, TagReadRow.epc)
        ).all()
    stored = {(reader, epc): n for reader, epc, n in rows}
    wanted = set(acked)
    return ReadCount(
        sent=len(wanted),
        stored=sum(1 for pair in wanted if pair in stored),
        lost=sum(1 for pair in wanted if pair not in stored),
        duplicated=sum(n - 1 for pair, n in stored.items() if pair in wanted and n > 1),
    )


def wait_reads(engine: Engine, acked: list[tuple[str, str]], timeout: float = 60) -> ReadCount:
    """Poll until every acknowledged read is stored (or the timeout); return the final count."""
    deadline = time.monotonic() + timeout
    while True:
        found = count_reads(engine, acked)
        if found.lost == 0 or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def departures(engine: Engine, epcs: list[str]) -> Counter[str]:
    """How many unauthorised-departure events name each of these EPCs."""
    if not epcs:
        return Counter()
    with engine.connect() as conn:
        rows = conn.execute(
            select(epcis_event_epcs.c.epc)
            .join(epcis_events, epcis_events.c.id == epcis_event_epcs.c.event_id)
            .where(epcis_event_epcs.c.epc.in_(epcs))
            .where(epcis_events.c.biz_step.like("%departing"))
        ).all()
    return Counter(epc for (epc,) in rows)


def wait_departures(engine: Engine, epcs: list[str], timeout: float = 60) -> Counter[str]:
    """Poll until every EPC that passed the gate has its departure event (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = departures(engine, epcs)
        if all(found[e] >= 1 for e in epcs) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def departure_findings(found: Counter[str], epcs: list[str]) -> tuple[list[str], int, int]:
    """Findings, missing and duplicated departures of the tags that passed the gate."""
    missing = [e for e in epcs if found[e] == 0]
    doubled = {e: n for e, n in found.items() if n > 1}
    findings = []
    if missing:
        findings.append(f"{len(missing)} gate passages without a departure event: {missing[:3]}")
    if doubled:
        findings.append(
            f"departure events recorded more than once: {dict(list(doubled.items())[:3])}"
        )
    return findings, len(missing), sum(n - 1 for n in doubled.values())


def alert_findings(engine: Engine, watch_lot_id: str, gate_passages: int) -> list[str]:
    """One unresolved alert per org and dedup key; the watched lot's departures alerted."""
    found = []
    with engine.connect() as conn:
        open_rows = conn.execute(
            select(alerts.c.org_id, alerts.c.dedup_key, func.count())
            .where(alerts.c.state.in_(("open", "acknowledged")))
            .group_by(alerts.c.org_id, alerts.c.dedup_key)
        ).all()
        movement = conn.execute(
            select(alerts.c.org_id, alerts.c.state)
            .where(alerts.c.type == "unauthorised_movement")
            .where(alerts.c.dedup_key.like(f"unauthorised_movement:{watch_lot_id}:%"))
        ).all()
    doubled = [(org, key, n) for org, key, n in open_rows if n > 1]
    if doubled:
        found.append(f"duplicate open alerts: {doubled[:3]}")
    if gate_passages and {org for org, _ in movement} != {"bank1", "northport"}:
        found.append(f"unauthorised movement of the watched lot not alerted to both: {movement}")
    return found


def command_findings(engine: Engine) -> tuple[list[str], Counter[str]]:
    """Every ledger command confirmed (none stuck, none refused); each anchored event once."""
    with engine.connect() as conn:
        statuses = Counter(
            {
                str(status): n
                for status, n in conn.execute(
                    select(LedgerCommand.status, func.count()).group_by(LedgerCommand.status)
                )
            }
        )
        bad = conn.execute(
            select(LedgerCommand.kind, LedgerCommand.status, LedgerCommand.reason_code)
            .where(LedgerCommand.status != "confirmed")
            .limit(5)
        ).all()
        anchors = conn.execute(
            text(
                "SELECT e.id, count(c.id) FROM epcis_events e LEFT JOIN ledger_commands c "
                "ON c.subject_type = 'epcis_event' AND c.subject_id = e.id "
                "GROUP BY e.id HAVING count(c.id) <> 1"
            )
        ).all()
    findings = []
    if bad:
        findings.append(f"ledger commands not confirmed: {statuses} e.g. {[tuple(b) for b in bad]}")
    if anchors:
        findings.append(
            f"EPCIS events not anchored exactly once: {[tuple(a) for a in anchors[:3]]}"
        )
    return findings, statuses


def wait_commands_settled(engine: Engine, timeout: float = 60) -> None:
    """Poll until no ledger command is pending or submitted (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.execute(
                select(func.count()).where(LedgerCommand.status.in_(IN_FLIGHT))
            ).scalar_one()
        if left == 0:
            return
        time.sleep(0.3)


@dataclass
class LoanEffects:
    """Loan effects the traffic asked for against those the database holds."""

    loans: int = 0
    wanted: int = 0
    missing: int = 0
    extra: int = 0
    findings: list[str] = field(default_factory=list)


def loan_effects(engine: Engine, plans: list[LoanPlan]) -> LoanEffects:
    """Each loan the traffic started: closed; repaid, ordered and released exactly as asked."""
    out = LoanEffects()
    with engine.connect() as conn:
        for plan in (p for p in plans if p.steps):
            out.loans += 1
            status = conn.execute(
                select(loans.c.status).where(loans.c.id == plan.loan_id)
            ).scalar_one()
            paid = sorted(
                Decimal(a)
                for (a,) in conn.execute(
                    select(repayments.c.amount).where(repayments.c.loan_id == plan.loan_id)
                )
            )
            orders = conn.execute(
                select(func.count()).where(release_orders.c.loan_id == plan.loan_id)
            ).scalar_one()
            shipped = conn.execute(
                select(func.count())
                .where(movements.c.lot_id == plan.lot_id)
                .where(movements.c.release_order_id.is_not(None))
            ).scalar_one()
            wanted_orders = 1 if plan.released else 0
            counts = [(len(plan.repaid), len(paid)), (wanted_orders, orders)]
            counts.append((wanted_orders, shipped))
            out.wanted += sum(w for w, _ in counts)
            out.missing += sum(max(0, w - f) for w, f in counts)
            out.extra += sum(max(0, f - w) for w, f in counts)
            problems = []
            if not plan.done:
                problems.append(f"traffic stopped after {plan.steps}")
            if status != "closed":
                problems.append(f"status {status}")
            if paid != sorted(plan.repaid):
                problems.append(f"repayments {paid}, sent {plan.repaid}")
            if orders != wanted_orders or shipped != wanted_orders:
                problems.append(f"{orders} release orders and {shipped} releases")
            if problems:
                out.findings.append(f"loan {plan.loan_id}: " + "; ".join(problems))
    return out


def live_check_findings(engine: Engine, timeout: float = 40) -> tuple[list[str], Counter[str]]:
    """Every live check ends done or failed; each done one has its own evidence."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(LiveCheckRow.status, LiveCheckRow.evidence_id)).all()
        pending = sum(1 for status, _ in rows if status == "pending")
        if pending == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    statuses = Counter(str(status) for status, _ in rows)
    evidence = Counter(e for status, e in rows if status == "done")
    findings = []
    if pending:
        findings.append(f"{pending} live checks still pending long after their deadline")
    if any(e is None for e in evidence) or any(n > 1 for n in evidence.values()):
        findings.append("a done live check without evidence of its own")
    return findings, statuses


@dataclass
class Audit:
    """The parsed output of `pledgewatch ledger audit --json`."""

    exit_code: int
    report: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    @property
    def differences(self) -> list[dict[str, Any]]:
        """The differences the audit found."""
        return list(self.report.get("differences", []))


def audit_command() -> list[str]:
    """The argv of the lead's audit command, run exactly as an operator would."""
    return [sys.executable, "-m", "services.cli", "ledger", "audit", "--json"]


def run_audit(env: dict[str, str], cwd: Path, timeout: float = 60) -> Audit:
    """Run the audit until nothing is left in flight (exit 3 means: ask again); return the last."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            audit_command(),
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report = {}
        audit = Audit(done.returncode, report, (done.stdout + done.stderr)[-3000:])
        if audit.exit_code != AUDIT_UNSETTLED or time.monotonic() > deadline:
            return audit
        time.sleep(0.5)
