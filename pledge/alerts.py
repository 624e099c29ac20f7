"""Alerts: typed, with a severity and evidence, deduplicated, acknowledged, resolved, escalated."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import Actor, OrgKind, Role


class AlertType(StrEnum):
    """What went wrong; each type has its own rule elsewhere that raises it."""

    UNAUTHORISED_MOVEMENT = "unauthorised_movement"
    READER_OFFLINE = "reader_offline"
    CAMERA_TAMPER = "camera_tamper"
    CAMERA_OFFLINE = "camera_offline"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch"
    MARGIN_CALL = "margin_call"
    LEDGER_MISMATCH = "ledger_mismatch"


class Severity(StrEnum):
    """How urgent an alert is, lowest first."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < warning < critical."""
        return _SEVERITIES.index(self)

    def raised(self) -> Severity:
        """The next severity up; critical stays critical."""
        return _SEVERITIES[min(self.rank + 1, len(_SEVERITIES) - 1)]


_SEVERITIES = (Severity.INFO, Severity.WARNING, Severity.CRITICAL)


class AlertState(StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertEventKind(StrEnum):
    """What happened to an alert; every change is pushed to the recipient organisation."""

    RAISED = "raised"
    REPEATED = "repeated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


# Who resolved an alert that closed itself, e.g. a margin call cured by a repayment.
SYSTEM = "pledgewatch"

# Escalation stops here: past it people are already paged, and more levels add only noise.
MAX_ESCALATION_LEVEL = 3

# Default waits before an unacknowledged alert escalates; critical ones are chased soonest.
DEFAULT_ESCALATION_AFTER: Mapping[Severity, timedelta] = {
    Severity.CRITICAL: timedelta(minutes=5),
    Severity.WARNING: timedelta(minutes=30),
    Severity.INFO: timedelta(hours=4),
}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RECIPIENT_KINDS = (OrgKind.BANK, OrgKind.WAREHOUSE)


@dataclass(frozen=True)
class Evidence:
    """A link to what proves the alert: a snapshot, a clip, a tag read log, with its hash."""

    kind: str
    uri: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        """The evidence as a plain mapping, as stored and sent."""
        return {"kind": self.kind, "uri": self.uri, "sha256": self.sha256}


def evidence(kind: str, uri: str, sha256: str) -> Evidence:
    """Check and build an evidence link; the hash is what gets anchored, so it must be real."""
    if not kind.strip() or not uri.strip():
        raise Invalid("invalid_evidence", "evidence needs a kind and a uri")
    if not _SHA256.match(sha256):
        raise Invalid("invalid_evidence", f"sha256 must be 64 lowercase hex digits: {sha256!r}")
    return Evidence(kind.strip(), uri.strip(), sha256)


@dataclass(frozen=True)
class AlertDraft:
    """What a rule reports: everything about an alert that its raiser decides."""

    org_id: str
    type: AlertType
    severity: Severity
    title: str
    dedup_key: str
    subject: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass
class Alert:
    """An alert to one organisation: the bank holding the lien, or the warehouse."""

    id: str
    org_id: str
    type: AlertType
    severity: Severity
    subject: dict[str, str]
    title: str
    detail: str
    evidence: list[dict[str, str]]
    dedup_key: str
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    state: AlertState = AlertState.OPEN
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str = ""
    escalation_level: int = 0
    escalated_at: datetime | None = None


def new_alert(ident: str, draft: AlertDraft, now: datetime) -> Alert:
    """A fresh open alert from a rule's report."""
    if not draft.title.strip():
        raise Invalid("invalid_alert", "an alert needs a title")
    if not draft.dedup_key.strip():
        raise Invalid("invalid_alert", "an alert needs a dedup key")
    return Alert(
        id=ident,
        org_id=draft.org_id,
        type=draft.type,
        severity=draft.severity,
        subject=dict(draft.subject),
        title=draft.title.strip(),
        detail=draft.detail,
        evidence=[e.as_dict() for e in draft.evidence],
        dedup_key=draft.dedup_key,
        occurrences=1,
        first_seen=now,
        last_seen=now,
    )


def repeat(alert: Alert, draft: AlertDraft, now: datetime) -> None:
    """Fold a repeat into the unresolved alert: count it, keep new evidence, never downgrade."""
    if alert.state is AlertState.RESOLVED:
        raise Conflict("alert_resolved", "a resolved alert takes no repeats; raise a new one")
    alert.occurrences += 1
    alert.last_seen = max(alert.last_seen, now)
    if draft.severity.rank > alert.severity.rank:
        alert.severity = draft.severity
    known = {(e["kind"], e["uri"], e["sha256"]) for e in alert.evidence}
    fresh = [e.as_dict() for e in draft.evidence if (e.kind, e.uri, e.sha256) not in known]
    if fresh:
        # A new list, so the change is seen by stores that compare by identity.
        alert.evidence = [*alert.evidence, *fresh]
    if draft.detail:
        alert.detail = draft.detail
    # The subject shows the latest report (e.g. which tags left this time); a new dict, for
    # the same reason as the evidence list.
    alert.subject = {**alert.subject, **draft.subject}


def check_may_handle(actor: Actor) -> None:
    """Refuse anyone but an officer of a bank or a warehouse, the organisations alerts go to."""
    actor.require_any(_RECIPIENT_KINDS, Role.OFFICER)


def check_handler(actor: Actor, alert: Alert) -> None:
    """Refuse anyone but an officer of the recipient organisation; other orgs see nothing."""
    check_may_handle(actor)
    check_visible(actor, alert)


def check_visible(actor: Actor, alert: Alert) -> None:
    """Another organisation's alert answers not found, exactly like a missing one."""
    if alert.org_id != actor.org_id:
        raise NotFound("alert_not_found", f"no alert {alert.id}")


def acknowledge(alert: Alert, actor: Actor, now: datetime) -> None:
    """Someone has seen it and is on it: escalation stops."""
    check_handler(actor, alert)
    if alert.state is not AlertState.OPEN:
        raise Conflict("alert_not_open", f"the alert is {alert.state.value}, not open")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_by = actor.user_id or actor.org_id
    alert.acknowledged_at = now


def resolve(alert: Alert, actor: Actor, now: datetime, note: str) -> None:
    """Close the alert with a note saying what was found and done."""
    check_handler(actor, alert)
    if not note.strip():
        raise Invalid("note_required", "resolving an alert needs a note of what was done")
    if alert.state is AlertState.RESOLVED:
        raise Conflict("alert_resolved", "the alert is already resolved")
    if alert.acknowledged_at is None:
        # Resolving implies it was seen; record that too so the audit trail has no gap.
        alert.acknowledged_by = actor.user_id or actor.org_id
        alert.acknowledged_at = now
    alert.state = AlertState.RESOLVED
    alert.resolved_by = actor.user_id or actor.org_id
    alert.resolved_at = now
    alert.resolution_note = note.strip()


def settle(alert: Alert, now: datetime, note: str) -> None:
    """Resolve an alert whose cause went away by itself (no person acted), saying why."""
    if alert.state is AlertState.RESOLVED:
        return
    alert.state = AlertState.RESOLVED
    alert.resolved_by = SYSTEM
    alert.resolved_at = now
    alert.resolution_note = note


def due_for_escalation(
    alerts: Iterable[Alert],
    now: datetime,
    after: Mapping[Severity, timedelta] = DEFAULT_ESCALATION_AFTER,
) -> list[Alert]:
    """Open alerts left unacknowledged longer than their severity allows since the last nudge."""
    due = []
    for alert in alerts:
        if alert.state is not AlertState.OPEN or alert.escalation_level >= MAX_ESCALATION_LEVEL:
            continue
        since = alert.escalated_at or alert.first_seen
        if now - since >= after[alert.severity]:
            due.append(alert)
    return due


def escalate(alert: Alert, now: datetime) -> None:
    """One level up: a higher severity and a fresh wait before the next nudge."""
    alert.escalation_level += 1
    alert.severity = alert.severity.raised()
    alert.escalated_at = now
