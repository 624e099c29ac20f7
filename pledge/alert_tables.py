"""SQL adapter for alerts: the table and the imperative mapping of the Alert dataclass."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text, text

from pledge.alerts import Alert, AlertState, AlertType, Severity
from services.db import UtcDateTime, mapper_registry, metadata, str_enum

_UNRESOLVED = text("state <> 'resolved'")

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("type", str_enum(AlertType), nullable=False),
    Column("severity", str_enum(Severity), nullable=False),
    Column("subject", JSON, nullable=False),
    Column("title", String(300), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("evidence", JSON, nullable=False),
    Column("dedup_key", String(200), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("state", str_enum(AlertState), nullable=False),
    Column("acknowledged_by", String(64), nullable=True),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution_note", Text, nullable=False, default=""),
    Column("escalation_level", Integer, nullable=False),
    Column("escalated_at", UtcDateTime, nullable=True),
    # Optimistic locking: an acknowledgement racing an escalation fails instead of being lost.
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_alerts_org_state", "org_id", "state"),
    # At most one unresolved alert per org and dedup key, even when two workers raise at once.
    Index(
        "uq_alerts_unresolved_dedup",
        "org_id",
        "dedup_key",
        unique=True,
        sqlite_where=_UNRESOLVED,
        postgresql_where=_UNRESOLVED,
    ),
)


def map_alerts() -> None:
    """Map the Alert dataclass onto its table (once per process)."""
    if not hasattr(Alert, "__mapper__"):
        mapper_registry.map_imperatively(Alert, alerts, version_id_col=alerts.c.version)
