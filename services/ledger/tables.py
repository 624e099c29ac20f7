"""Outbox tables: ledger-bound commands and the event listener's checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime


class LedgerCommand(Base):
    """A ledger transaction the service owes, written in the same DB transaction as its cause."""

    __tablename__ = "ledger_commands"
    __table_args__ = (
        Index("ix_ledger_commands_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_ledger_commands_subject", "subject_type", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(128))
    fn: Mapped[str] = mapped_column(String(128))
    args: Mapped[str] = mapped_column(Text)  # canonical JSON
    submitter_msp: Mapped[str] = mapped_column(String(128))
    endorsers: Mapped[str] = mapped_column(Text)  # JSON list of MSP ids
    tx_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    block_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerCheckpoint(Base):
    """The last block a named event consumer has fully processed."""

    __tablename__ = "ledger_checkpoints"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    block_number: Mapped[int] = mapped_column(Integer, default=0)
