"""Background jobs: daily interest accrual (catching up missed days) and the ledger pump."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from loans.servicing import accrue_all
from services.bootstrap import Container
from services.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def accrue_job(container: Container) -> int:
    """Book interest up to yesterday on every running loan; days missed while down are caught up."""
    with SqlUnitOfWork.start(container.session_factory) as uow:
        booked = accrue_all(uow, container.context().now.date())
    if booked:
        log.info("booked %d loan-days of interest", booked)
    return booked


def pump_job(container: Container) -> None:
    """Retry queued ledger commands and apply new ledger events."""
    try:
        container.pump()
    except Exception:
        # A failing pump must not kill the scheduler; the next run retries.
        log.exception("ledger pump failed")


def start_scheduler(container: Container, pump_seconds: float = 2.0) -> BackgroundScheduler:
    """Start the jobs; accrual also runs at once so a restart catches up immediately."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        accrue_job,
        "cron",
        hour=0,
        minute=5,
        args=[container],
        id="accrue",
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(accrue_job, args=[container], id="accrue-catch-up")
    scheduler.add_job(
        pump_job,
        "interval",
        seconds=pump_seconds,
        args=[container],
        id="pump",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    return scheduler
