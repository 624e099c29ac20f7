"""Tables of alert delivery: the event log, webhook subscriptions, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime


class AlertEventRow(Base):
    """One change of one alert, in the order it committed; `seq` is the SSE event id."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_org_seq", "org_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Stable across retries and replays: receivers deduplicate on it.
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    alert_id: Mapped[str] = mapped_column(String(36), ForeignKey("alerts.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookSubscription(Base):
    """Where an organisation wants its alert events posted, and the secret that signs them."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept in clear because signing needs it; shown to the subscriber once, at creation.
    secret: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One event owed to one subscription, written in the same transaction as the alert."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_seq: Mapped[int] = mapped_column(Integer, ForeignKey("alert_events.seq"))
    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_subscriptions.id"), index=True
    )
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookAttempt(Base):
    """The log of one try: what the receiver answered, or why it could not be reached."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_deliveries.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
