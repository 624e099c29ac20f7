"""Background jobs: daily interest accrual (catching up missed days) and the ledger pump."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from loans.servicing import accrue_all
from pledge.alert_service import record_alert
from pledge.reconcile_service import run_reconciliation
from services.bootstrap import Container
from services.ingest.monitoring import revalue_for_monitoring
from services.ingest.movement import check_movements
from services.notify.jobs import deliver_webhooks_job, escalate_job
from services.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def accrue_job(container: Container) -> int:
    """Book interest up to yesterday on every running loan; days missed while down are caught up."""
    with SqlUnitOfWork.start(container.session_factory) as uow:
        booked = accrue_all(uow, container.context().now.date())
    if booked:
        log.info("booked %d loan-days of interest", booked)
    return booked


def reconcile_job(container: Container) -> int:
    """Reconcile every warehouse's bays; returns how many bays disagree on some count."""
    with SqlUnitOfWork.start(container.session_factory) as uow:
        warehouses = uow.warehouses.find()
    mismatched = 0
    for warehouse in warehouses:
        try:
            with SqlUnitOfWork.start(container.session_factory) as uow:
                verdicts = run_reconciliation(
                    uow,
                    container.context(),
                    warehouse,
                    container.reconcile_sensors(),
                    container.reconcile_tolerances(),
                    record_alert,
                )
                uow.commit()
        except Exception:
            # One warehouse's failure must not stop the others; the next run retries it.
            log.exception("reconciliation of warehouse %s failed", warehouse.id)
            continue
        mismatched += len({v.bay_id for v in verdicts if v.mismatched})
    return mismatched


def movement_job(container: Container) -> int:
    """Alert pledged tags that left their bay or passed an exit gate without a release order."""
    try:
        alerts = check_movements(container.session_factory, container.context().now)
    except Exception:
        # The next run looks at every pledged tag again, so nothing is missed for good.
        log.exception("the movement check failed")
        return 0
    if alerts:
        log.warning("raised %d unauthorised-movement alert(s)", len(alerts))
    return len(alerts)


def monitoring_job(container: Container) -> int:
    """Revalue loans whose bays lost or regained their readers or cameras; returns margin calls."""
    try:
        return revalue_for_monitoring(container)
    except Exception:
        # The snapshot is kept only after a successful run, so the next run sees the change again.
        log.exception("revaluation after monitoring changes failed")
        return 0


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
    # Recurring jobs, each at most one run at a time; runs missed while busy are merged.
    every: tuple[tuple[Callable[[Container], object], str, float], ...] = (
        (pump_job, "pump", pump_seconds),
        (reconcile_job, "reconcile", 300),
        (movement_job, "movement", 15),
        (monitoring_job, "monitoring-revalue", 30),
        (escalate_job, "escalate-alerts", 60),
        (deliver_webhooks_job, "deliver-webhooks", pump_seconds),
    )
    for job, ident, seconds in every:
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=[container],
            id=ident,
            coalesce=True,
            max_instances=1,
        )
    scheduler.start()
    return scheduler
