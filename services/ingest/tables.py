"""Tables of the ingest worker: tag reads, dead letters, and readers with their status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime


class TagReadRow(Base):
    """One stored tag read; `dedup_key` makes a redelivered read a no-op."""

    __tablename__ = "tag_reads"
    __table_args__ = (Index("ix_tag_reads_epc_seen_at", "epc", "seen_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    warehouse_code: Mapped[str] = mapped_column(String(64))
    reader_id: Mapped[str] = mapped_column(String(64))
    antenna: Mapped[int] = mapped_column(Integer)
    epc: Mapped[str] = mapped_column(String(128))
    rssi: Mapped[float | None] = mapped_column(Float, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeadLetter(Base):
    """A message the worker could not use, kept with its reason and raw bytes for inspection."""

    __tablename__ = "ingest_dead_letters"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    topic: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Reader(Base):
    """A registered tag reader and what the worker last heard from it."""

    __tablename__ = "ingest_readers"

    reader_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
