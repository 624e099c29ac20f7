"""Camera edge tables: cameras, latest frames, worker keys, evidence, counts, live checks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, Dec, UtcDateTime


class CameraRow(Base):
    """A camera registered by a warehouse operator; its id keys the bays' polygons."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    analysis_fps: Mapped[float] = mapped_column(Float)
    # online | offline | tampered, as the worker last reported.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_reason: Mapped[str] = mapped_column(String(200), default="")
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CameraFrameRow(Base):
    """The latest annotated JPEG a camera's worker uploaded (one row per camera, overwritten)."""

    __tablename__ = "camera_frames"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkerKeyRow(Base):
    """A vision worker's Ed25519 public key, registered by a device of the organisation."""

    __tablename__ = "vision_worker_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EvidenceRow(Base):
    """A signed snapshot (and clip) of a camera event, where its files are, who may see it."""

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # bay_change | tamper | live_check
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    bay_id: Mapped[str | None] = mapped_column(ForeignKey("bays.id"), nullable=True, index=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    # The manifest's SHA-256: what the signature covers and what is anchored on the ledger.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(ForeignKey("vision_worker_keys.key_id"))
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    snapshot_uri: Mapped[str] = mapped_column(Text)
    clip_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    clip_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # Organisations that may see it: the warehouse, the lien banks then, a requesting bank.
    parties: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BayCountRow(Base):
    """What the cameras last counted in a bay, and the baseline taken when it was pledged."""

    __tablename__ = "camera_bay_counts"

    bay_id: Mapped[str] = mapped_column(ForeignKey("bays.id"), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    count: Mapped[int] = mapped_column(Integer)
    identities: Mapped[list[str]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    baseline_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Book quantity per commodity code when the baseline was taken (decimal strings).
    baseline_quantities: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    baseline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ReleaseMatchRow(Base):
    """How much of a release order a camera-seen removal used, so an order covers only once."""

    __tablename__ = "camera_release_matches"
    __table_args__ = (Index("ix_camera_release_matches_order", "order_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("release_orders.id"))
    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"))
    quantity: Mapped[Decimal] = mapped_column(Dec)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class LiveCheckRow(Base):
    """A bank's request for a live picture of a bay, and the signed answer once it came."""

    __tablename__ = "live_checks"
    __table_args__ = (Index("ix_live_checks_status", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bay_id: Mapped[str] = mapped_column(ForeignKey("bays.id"), index=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    bank_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    nonce: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | done | failed
    evidence_id: Mapped[str | None] = mapped_column(ForeignKey("evidence.id"), nullable=True)
    detail: Mapped[str] = mapped_column(String(300), default="")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
