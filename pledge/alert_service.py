"""Alert use cases: raise (deduplicated), acknowledge, resolve, escalate; every change announced.

The alerts live in the same unit of work as the facts that raised them, so an alert and the
change that caused it commit together: a unit of work carries its alert store as `alerts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from pledge.alerts import (
    DEFAULT_ESCALATION_AFTER,
    Alert,
    AlertDraft,
    AlertEventKind,
    AlertState,
    AlertType,
    Evidence,
    Severity,
    acknowledge,
    check_may_handle,
    check_visible,
    due_for_escalation,
    escalate,
    new_alert,
    repeat,
    resolve,
    settle,
)
from pledge.errors import NotFound
from pledge.parties import Actor
from pledge.ports import Context


class AlertStore(Protocol):
    """Alerts of a unit of work, and the announcement of their changes to the recipients."""

    def get(self, ident: str) -> Alert | None:
        """The alert with this id, or None."""
        ...

    def add(self, alert: Alert) -> None:
        """Track a new alert; it is written on commit."""
        ...

    def find(self, **equals: Any) -> list[Alert]:
        """Alerts whose named attributes equal the given values, oldest first."""
        ...

    def unresolved(self, org_id: str, dedup_key: str) -> Alert | None:
        """The open or acknowledged alert with this dedup key for this organisation, if any."""
        ...

    def announce(self, alert: Alert, kind: AlertEventKind, at: datetime) -> None:
        """Record that the alert changed, so the change is pushed once the unit commits."""
        ...


class Committing(Protocol):
    """A unit of work that can be committed."""

    def commit(self) -> None:
        """Write every change at once."""
        ...


def alerts_of(uow: object) -> AlertStore:
    """The alert store of a unit of work."""
    store: AlertStore | None = getattr(uow, "alerts", None)
    if store is None:
        raise RuntimeError("this unit of work has no alert store (alerts)")
    return store


def record_alert(uow: object, now: datetime, draft: AlertDraft) -> Alert:
    """Raise an alert inside a running use case; a repeat of an unresolved one is folded into it."""
    store = alerts_of(uow)
    existing = store.unresolved(draft.org_id, draft.dedup_key)
    if existing is not None:
        repeat(existing, draft, now)
        store.announce(existing, AlertEventKind.REPEATED, now)
        return existing
    alert = new_alert(uuid.uuid4().hex, draft, now)
    store.add(alert)
    store.announce(alert, AlertEventKind.RAISED, now)
    return alert


def raise_alert(uow: Committing, now: datetime, draft: AlertDraft) -> Alert:
    """Raise an alert on its own and commit it (for workers that only report)."""
    alert = record_alert(uow, now, draft)
    uow.commit()
    return alert


def record_margin_call(
    uow: object, now: datetime, *, bank_org_id: str, loan_id: str, ltv: Decimal | None, severe: bool
) -> Alert:
    """Tell the lending bank its loan crossed the margin-call (or liquidation) threshold."""
    shown = "unknown" if ltv is None else f"{ltv:.4f}"
    threshold = "liquidation" if severe else "margin-call"
    draft = AlertDraft(
        org_id=bank_org_id,
        type=AlertType.MARGIN_CALL,
        severity=Severity.CRITICAL if severe else Severity.WARNING,
        title=f"Margin call on loan {loan_id}",
        detail=f"LTV {shown} crossed the {threshold} threshold after revaluation",
        dedup_key=f"margin_call:{loan_id}",
        subject={"loan_id": loan_id},
    )
    return record_alert(uow, now, draft)


def settle_margin_call(
    uow: object, now: datetime, *, loan_id: str, bank_org_id: str, why: str
) -> Alert | None:
    """Close the loan's margin-call alert once LTV is back under the threshold or it is repaid."""
    store = alerts_of(uow)
    alert = store.unresolved(bank_org_id, f"margin_call:{loan_id}")
    if alert is None:
        return None
    settle(alert, now, why)
    store.announce(alert, AlertEventKind.RESOLVED, now)
    return alert


def raise_unauthorised_movement(
    uow: Committing,
    now: datetime,
    *,
    org_ids: Iterable[str],
    warehouse_id: str,
    bay_id: str,
    lot_id: str,
    epcs: Iterable[str] = (),
    proof: Iterable[Evidence] = (),
    detail: str = "",
) -> list[Alert]:
    """Pledged goods left their bay without a release order: alert each recipient, then commit."""
    tags = sorted(set(epcs))
    subject = {"warehouse_id": warehouse_id, "bay_id": bay_id, "lot_id": lot_id}
    if tags:
        subject["epcs"] = ",".join(tags)
    alerts = [
        record_alert(
            uow,
            now,
            AlertDraft(
                org_id=org_id,
                type=AlertType.UNAUTHORISED_MOVEMENT,
                severity=Severity.CRITICAL,
                title=f"Pledged goods of lot {lot_id} left bay {bay_id} without a release order",
                detail=detail or f"{len(tags)} tagged unit(s) seen leaving",
                # One alert per lot and bay: further tags leaving are repeats of the same incident.
                dedup_key=f"unauthorised_movement:{lot_id}:{bay_id}",
                subject=subject,
                evidence=tuple(proof),
            ),
        )
        for org_id in sorted(set(org_ids))
    ]
    uow.commit()
    return alerts


def visible_alert(uow: object, actor: Actor, alert_id: str) -> Alert:
    """One of the actor's organisation's alerts; anyone else's answers not found."""
    alert = alerts_of(uow).get(alert_id)
    if alert is None:
        raise NotFound("alert_not_found", f"no alert {alert_id}")
    check_visible(actor, alert)
    return alert


def list_alerts(
    uow: object, actor: Actor, state: AlertState | None = None, type: AlertType | None = None
) -> list[Alert]:
    """The actor's organisation's alerts, newest first, optionally by state and type."""
    equals: dict[str, Any] = {"org_id": actor.org_id}
    if state is not None:
        equals["state"] = state
    if type is not None:
        equals["type"] = type
    return sorted(alerts_of(uow).find(**equals), key=lambda a: (a.last_seen, a.id), reverse=True)


def acknowledge_alert(uow: Committing, actor: Actor, ctx: Context, alert_id: str) -> Alert:
    """An officer of the recipient organisation takes the alert on."""
    alert = _handled(uow, actor, alert_id)
    acknowledge(alert, actor, ctx.now)
    alerts_of(uow).announce(alert, AlertEventKind.ACKNOWLEDGED, ctx.now)
    uow.commit()
    return alert


def resolve_alert(uow: Committing, actor: Actor, ctx: Context, alert_id: str, note: str) -> Alert:
    """An officer of the recipient organisation closes the alert with a note."""
    alert = _handled(uow, actor, alert_id)
    resolve(alert, actor, ctx.now, note)
    alerts_of(uow).announce(alert, AlertEventKind.RESOLVED, ctx.now)
    uow.commit()
    return alert


def escalate_overdue(
    uow: Committing,
    now: datetime,
    after: Mapping[Severity, timedelta] = DEFAULT_ESCALATION_AFTER,
) -> list[Alert]:
    """Escalate every open alert left unacknowledged too long, and announce each."""
    store = alerts_of(uow)
    due = due_for_escalation(store.find(state=AlertState.OPEN), now, after)
    for alert in due:
        escalate(alert, now)
        store.announce(alert, AlertEventKind.ESCALATED, now)
    uow.commit()
    return due


def _handled(uow: object, actor: Actor, alert_id: str) -> Alert:
    # Role first, so an SME or a viewer learns nothing about which alert ids exist.
    check_may_handle(actor)
    return visible_alert(uow, actor, alert_id)
