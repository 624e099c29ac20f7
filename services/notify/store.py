"""The SQL alert store: alerts in the unit of work's session, and each change logged and queued.

Importing this module installs the store for every unit of work that has a `session`, which is
how the domain's alert use cases reach the database without naming it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from pledge.alert_tables import alerts, map_alerts
from pledge.alerts import Alert, AlertEventKind, AlertState
from services.notify.sse import broadcaster_for
from services.notify.tables import AlertEventRow, WebhookDelivery, WebhookSubscription

map_alerts()

# Repeats can arrive many times a second (a tag read per sweep); they update the live view
# but are not worth a webhook call each.
_NOT_WEBHOOKED = frozenset({AlertEventKind.REPEATED})
_PENDING_KEY = "pledgewatch.alert_events"


def alert_snapshot(alert: Alert) -> dict[str, Any]:
    """The alert as plain JSON values, as pushed to dashboards and webhooks."""
    out: dict[str, Any] = {}
    for name in Alert.__dataclass_fields__:
        value = getattr(alert, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        out[name] = value
    return out


def event_document(row: AlertEventRow) -> dict[str, Any]:
    """The message about one alert change, identical on the SSE stream and in webhook bodies."""
    return {
        "id": row.event_id,
        "seq": row.seq,
        "type": f"alert.{row.kind}",
        "org_id": row.org_id,
        "at": row.at.isoformat(),
        "alert": row.payload,
    }


class SqlAlertStore:
    """Alerts of one session; announcements become event rows and webhook deliveries."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, ident: str) -> Alert | None:
        """The alert with this id, or None."""
        return self._session.get(Alert, ident)

    def add(self, alert: Alert) -> None:
        """Track a new alert and write it at once, before the event rows that refer to it."""
        self._session.add(alert)
        self._session.flush()

    def find(self, **equals: Any) -> list[Alert]:
        """Alerts whose attributes equal the given values, oldest first."""
        stmt = select(Alert).filter_by(**equals).order_by(alerts.c.first_seen, alerts.c.id)
        return list(self._session.scalars(stmt))

    def unresolved(self, org_id: str, dedup_key: str) -> Alert | None:
        """The open or acknowledged alert with this key for this organisation, if any."""
        stmt = select(Alert).filter_by(org_id=org_id, dedup_key=dedup_key)
        stmt = stmt.where(alerts.c.state != AlertState.RESOLVED)
        return self._session.scalars(stmt).first()

    def announce(self, alert: Alert, kind: AlertEventKind, at: datetime) -> None:
        """Log the change and owe it to every webhook of the org, in the alert's own transaction."""
        self._session.flush()
        row = AlertEventRow(
            event_id=uuid.uuid4().hex,
            alert_id=alert.id,
            org_id=alert.org_id,
            kind=kind.value,
            at=at,
            payload=alert_snapshot(alert),
        )
        self._session.add(row)
        self._session.flush()
        if kind not in _NOT_WEBHOOKED:
            subscriptions = self._session.scalars(
                select(WebhookSubscription).filter_by(org_id=alert.org_id, active=True)
            )
            for sub in subscriptions:
                self._session.add(
                    WebhookDelivery(
                        id=uuid.uuid4().hex,
                        event_seq=row.seq,
                        subscription_id=sub.id,
                        org_id=alert.org_id,
                        status="pending",
                        attempts=0,
                        next_attempt_at=at,
                        created_at=at,
                    )
                )
            self._session.flush()
        _publish_after_commit(self._session, event_document(row))


def _publish_after_commit(session: Session, document: dict[str, Any]) -> None:
    # Live subscribers hear only what committed: a rolled-back alert was never raised.
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _flush_to_subscribers)
        event.listen(session, "after_rollback", _forget)
    pending.append(document)


def _flush_to_subscribers(session: Session) -> None:
    documents = session.info.pop(_PENDING_KEY, None) or []
    session.info[_PENDING_KEY] = []
    bind = session.get_bind()
    broadcaster = broadcaster_for(bind)
    for document in documents:
        broadcaster.publish(document["org_id"], document)


def _forget(session: Session) -> None:
    session.info[_PENDING_KEY] = []
