"""The alert rules on their own: dedup, who may acknowledge and resolve, and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pledge.alerts import (
    MAX_ESCALATION_LEVEL,
    AlertDraft,
    AlertState,
    AlertType,
    Severity,
    acknowledge,
    due_for_escalation,
    escalate,
    evidence,
    new_alert,
    repeat,
    resolve,
)
from pledge.errors import Conflict, Forbidden, Invalid, NotFound
from pledge.parties import Actor, OrgKind, Role

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BANK_OFFICER = Actor("bank1", OrgKind.BANK, "Bank1MSP", frozenset({Role.OFFICER}), "u-1")
SHA = "0f" * 32


def draft(severity: Severity = Severity.WARNING, sha: str = SHA) -> AlertDraft:
    return AlertDraft(
        org_id="bank1",
        type=AlertType.CAMERA_TAMPER,
        severity=severity,
        title="Camera 3 covered",
        dedup_key="camera_tamper:cam-3",
        subject={"camera_id": "cam-3"},
        evidence=(evidence("snapshot", f"file:///{sha}.jpg", sha),),
    )


def test_a_repeat_counts_keeps_new_evidence_and_never_lowers_the_severity() -> None:
    alert = new_alert("a1", draft(Severity.WARNING), T0)
    repeat(alert, draft(Severity.INFO), T0 + timedelta(minutes=1))
    repeat(alert, draft(Severity.CRITICAL, "1e" * 32), T0 + timedelta(minutes=2))
    assert alert.occurrences == 3
    assert alert.first_seen == T0 and alert.last_seen == T0 + timedelta(minutes=2)
    assert alert.severity is Severity.CRITICAL
    assert [e["sha256"] for e in alert.evidence] == [SHA, "1e" * 32]


def test_a_resolved_alert_takes_no_repeats() -> None:
    alert = new_alert("a1", draft(), T0)
    resolve(alert, BANK_OFFICER, T0, "lens cleaned")
    with pytest.raises(Conflict):
        repeat(alert, draft(), T0)


def test_evidence_needs_a_real_sha256() -> None:
    with pytest.raises(Invalid):
        evidence("snapshot", "file:///x.jpg", "not-a-hash")


@pytest.mark.parametrize(
    ("actor", "error"),
    [
        (Actor("bank2", OrgKind.BANK, "Bank2MSP", frozenset({Role.OFFICER})), NotFound),
        (Actor("acme", OrgKind.SME, "AcmeMSP", frozenset({Role.OFFICER})), Forbidden),
        (Actor("bank1", OrgKind.BANK, "Bank1MSP", frozenset({Role.VIEWER})), Forbidden),
    ],
)
def test_only_an_officer_of_the_recipient_org_may_acknowledge(
    actor: Actor, error: type[Exception]
) -> None:
    alert = new_alert("a1", draft(), T0)
    with pytest.raises(error):
        acknowledge(alert, actor, T0)
    assert alert.state is AlertState.OPEN


def test_resolving_needs_a_note_and_records_who_and_when() -> None:
    alert = new_alert("a1", draft(), T0)
    with pytest.raises(Invalid):
        resolve(alert, BANK_OFFICER, T0, "  ")
    resolve(alert, BANK_OFFICER, T0 + timedelta(hours=1), "camera re-aimed")
    assert alert.state is AlertState.RESOLVED
    assert (alert.resolved_by, alert.resolved_at) == ("u-1", T0 + timedelta(hours=1))
    assert alert.acknowledged_at == T0 + timedelta(hours=1)


def test_an_alert_escalates_once_its_severity_delay_has_passed_unacknowledged() -> None:
    after = {Severity.INFO: timedelta(hours=1), Severity.WARNING: timedelta(minutes=30)}
    after[Severity.CRITICAL] = timedelta(minutes=5)
    alert = new_alert("a1", draft(Severity.WARNING), T0)
    assert due_for_escalation([alert], T0 + timedelta(minutes=29), after) == []
    assert due_for_escalation([alert], T0 + timedelta(minutes=30), after) == [alert]
    escalate(alert, T0 + timedelta(minutes=30))
    assert (alert.severity, alert.escalation_level) == (Severity.CRITICAL, 1)
    # The next nudge waits the new severity's delay from the last escalation.
    assert due_for_escalation([alert], T0 + timedelta(minutes=34), after) == []
    assert due_for_escalation([alert], T0 + timedelta(minutes=35), after) == [alert]


def test_an_acknowledged_or_maxed_out_alert_does_not_escalate() -> None:
    late = T0 + timedelta(days=1)
    seen = new_alert("a1", draft(), T0)
    acknowledge(seen, BANK_OFFICER, T0)
    maxed = new_alert("a2", draft(), T0)
    maxed.escalation_level = MAX_ESCALATION_LEVEL
    assert due_for_escalation([seen, maxed], late) == []
