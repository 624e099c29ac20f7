"""Tables of the leader-elected scheduler: job state and one row per (job, tick) that ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UtcDateTime


class ScheduledJob(Base):
    """A recurring job as the scheduler last saw it; survives restarts so missed ticks show."""

    __tablename__ = "scheduler_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(64))
    last_tick_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_runner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobRun(Base):
    """One run of one job for one tick; the unique key makes a second run of a tick impossible."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (UniqueConstraint("job_id", "tick_at", name="uq_scheduler_runs_job_tick"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    tick_at: Mapped[datetime] = mapped_column(UtcDateTime)
    runner: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
