"""The scheduled ledger audit's outcome as alerts: each organisation hears of its own records.

A difference between the database and the ledger means one of them was changed behind the
other's back, or an event was lost: either way the bank must not act on the record until someone
has looked. One critical alert per organisation, folded into the open one while it persists.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pledge.alert_service import raise_alert
from pledge.alerts import Alert, AlertDraft, AlertType, Severity
from services.identity.tables import Org
from services.ledger.audit import AuditReport, Difference
from services.uow import SqlUnitOfWork

DEDUP_KEY = "ledger-audit"
# The alert names this many differences; the CLI (`pledgewatch ledger audit`) lists them all.
SHOWN = 5


def raise_audit_alerts(
    session_factory: sessionmaker[Session], now: datetime, report: AuditReport
) -> list[Alert]:
    """Raise (or repeat) one critical alert per organisation whose records differ."""
    if not report.differences:
        return []
    with session_factory() as session:
        everyone = sorted(session.scalars(select(Org.id)))
    by_org: dict[str, list[Difference]] = defaultdict(list)
    for difference in report.differences:
        # A broken chain or a difference of no one's record concerns every organisation.
        for org_id in [difference.org_id] if difference.org_id else everyone:
            by_org[org_id].append(difference)
    raised = []
    for org_id, found in sorted(by_org.items()):
        draft = AlertDraft(
            org_id=org_id,
            type=AlertType.LEDGER_MISMATCH,
            severity=Severity.CRITICAL,
            title=f"database and ledger disagree on {len(found)} record(s)",
            dedup_key=DEDUP_KEY,
            detail=_detail(found),
        )
        with SqlUnitOfWork.start(session_factory) as uow:
            raised.append(raise_alert(uow, now, draft))
    return raised


def _detail(found: list[Difference]) -> str:
    lines = [f"{d.kind} {d.subject}: database {d.db!r}, ledger {d.ledger!r}" for d in found]
    more = len(lines) - SHOWN
    shown = "; ".join(lines[:SHOWN])
    return shown + (f"; and {more} more (pledgewatch ledger audit lists all)" if more > 0 else "")
