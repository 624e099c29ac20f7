"""API shapes of alerts and webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from pledge.alerts import AlertState, AlertType, Severity
from services.api.schemas import Input, Output


class EvidenceOut(Output):
    """A link to what proves the alert, with the hash that is anchored."""

    kind: str
    uri: str
    sha256: str


class AlertOut(Output):
    """An alert to your organisation and where it is in its life."""

    id: str
    org_id: str
    type: AlertType
    severity: Severity
    subject: dict[str, str]
    title: str
    detail: str
    evidence: list[EvidenceOut]
    dedup_key: str
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    state: AlertState
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str
    escalation_level: int
    escalated_at: datetime | None


class ResolveIn(Input):
    """What was found and done; a resolution without a note is refused."""

    note: str = Field(min_length=1, max_length=4000)


class WebhookIn(Input):
    """Where to post your organisation's alert events."""

    url: str = Field(max_length=2000, examples=["https://hooks.example.com/pledgewatch"])
    description: str = Field("", max_length=200)


class WebhookOut(Output):
    """A webhook subscription (its secret is shown only once, at creation)."""

    id: str
    url: str
    description: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    """A new subscription with the secret that signs its deliveries: store it now."""

    secret: str
