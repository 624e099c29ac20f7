"""Background jobs: daily interest accrual (catching up missed days), the ledger pump and checks.

Two runners share one job table. `start_scheduler` (APScheduler, in process) serves `run` in
development. `LeaderScheduler` serves production: every replica runs it, one holds a PostgreSQL
advisory lock and runs the jobs, the others stand by and take over when the leader dies. Each
(job, tick) is claimed by a row with a unique key, so a tick runs once even while two replicas
briefly both believe they lead, and a tick missed while no replica ran is caught up (once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from loans.servicing import accrue_all
from pledge.reconcile_jobs import reconcile_every_warehouse, reconcile_requests_job
from services.bootstrap import Container
from services.ingest.monitoring import revalue_for_monitoring
from services.ingest.movement import check_movements
from services.leader import LeaderLock
from services.ledger.audit import audit_ledger, persisting
from services.ledger.audit_alerts import raise_audit_alerts
from services.notify.jobs import deliver_webhooks_job, escalate_job
from services.scheduler_tables import JobRun, ScheduledJob
from services.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def accrue_job(container: Container) -> int:
    """Book interest up to yesterday on every running loan; days missed while down are caught up."""
    with SqlUnitOfWork.start(container.session_factory) as uow:
        booked = accrue_all(uow, container.context().now.date())
    if booked:
        log.info("booked %d loan-days of interest", booked)
    return booked


PUMP_SECONDS = 2.0


def reconcile_job(container: Container) -> int:
    """Reconcile every warehouse's bays; returns how many bays disagree on some count."""
    return reconcile_every_warehouse(container)


def movement_job(container: Container) -> int:
    """Alert pledged tags that left their bay or passed an exit gate without a release order."""
    try:
        alerts = check_movements(container.session_factory, container.context().now)
    except IntegrityError:
        # Ingest's check after a batch recorded the same departure at the same moment and raised
        # its alert: a race both sides expect, not a failure.
        log.info("a concurrent movement check recorded the same departure")
        return 0
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


def ledger_audit_job(container: Container, recheck_after: float = 2 * PUMP_SECONDS) -> int:
    """Compare the database with the ledger; alert each organisation whose records differ."""
    try:
        if container.ledger is None:
            container.connect_ledger()
        assert container.ledger is not None
        report = audit_ledger(container.session_factory, container.ledger)
        if report.differences:
            # Only what still differs a couple of pumps later is alerted (see `persisting`).
            time.sleep(recheck_after)
            again = audit_ledger(container.session_factory, container.ledger)
            report = persisting(report, again)
    except Exception:
        # An unreachable ledger is the readiness probe's and the outbox metrics' to report.
        log.exception("the ledger audit could not run")
        return 0
    if report.differences:
        log.error("the ledger audit found %d difference(s)", len(report.differences))
    return len(raise_audit_alerts(container.session_factory, container.context().now, report))


def pump_job(container: Container) -> None:
    """Retry queued ledger commands and apply new ledger events."""
    try:
        container.pump()
    except Exception:
        # A failing pump must not kill the scheduler; the next run retries.
        log.exception("ledger pump failed")


@dataclass(frozen=True)
class JobSpec:
    """A recurring job: every `every_s` seconds, or once a day at `daily_at` (UTC)."""

    id: str
    fn: Callable[[Container], object]
    every_s: float | None = None
    daily_at: clock_time | None = None

    def schedule(self) -> str:
        """The schedule in words, as stored in scheduler_jobs."""
        if self.daily_at is not None:
            return f"daily at {self.daily_at.strftime('%H:%M')} UTC"
        return f"every {self.every_s:g}s"

    def last_tick(self, now: datetime) -> datetime:
        """The latest tick at or before `now`; ticks are aligned so every replica agrees."""
        if self.daily_at is not None:
            today = datetime.combine(now.date(), self.daily_at, tzinfo=UTC)
            return today if today <= now else today - timedelta(days=1)
        assert self.every_s is not None and self.every_s > 0
        epoch = now.timestamp()
        return datetime.fromtimestamp(epoch - (epoch % self.every_s), tz=UTC)


JOBS: tuple[JobSpec, ...] = (
    # Accrual books every day up to yesterday, so one run after an outage catches all up.
    JobSpec("accrue", accrue_job, daily_at=clock_time(0, 5)),
    JobSpec("pump", pump_job, every_s=PUMP_SECONDS),
    JobSpec("reconcile", reconcile_job, every_s=300),
    # Bays that had an event are reconciled once settled, not at the next 5-minute run.
    JobSpec("reconcile-requests", reconcile_requests_job, every_s=5),
    JobSpec("movement", movement_job, every_s=15),
    JobSpec("monitoring-revalue", monitoring_job, every_s=30),
    JobSpec("escalate-alerts", escalate_job, every_s=60),
    JobSpec("deliver-webhooks", deliver_webhooks_job, every_s=PUMP_SECONDS),
    # Every subject is read back from the ledger: hourly keeps the cost small and drift short.
    JobSpec("ledger-audit", ledger_audit_job, every_s=3600),
)


def select_jobs(
    only: Sequence[str] = (), every: Mapping[str, float] | None = None
) -> tuple[JobSpec, ...]:
    """The job table, limited to `only` (ids) and with intervals overridden by `every`."""
    known = {job.id for job in JOBS}
    unknown = sorted((set(only) | set(every or {})) - known)
    if unknown:
        raise ValueError(f"unknown jobs: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    chosen = [job for job in JOBS if not only or job.id in only]
    overrides = every or {}
    return tuple(
        replace(job, every_s=overrides[job.id], daily_at=None) if job.id in overrides else job
        for job in chosen
    )


def start_scheduler(
    container: Container, pump_seconds: float = PUMP_SECONDS
) -> BackgroundScheduler:
    """Start the jobs in process; accrual also runs at once so a restart catches up immediately."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        if job.daily_at is not None:
            scheduler.add_job(
                job.fn,
                "cron",
                hour=job.daily_at.hour,
                minute=job.daily_at.minute,
                args=[container],
                id=job.id,
                coalesce=True,
                misfire_grace_time=3600,
            )
            continue
        seconds = pump_seconds if job.every_s == PUMP_SECONDS else job.every_s
        # Each at most one run at a time; runs missed while busy are merged.
        scheduler.add_job(
            job.fn,
            "interval",
            seconds=seconds,
            args=[container],
            id=job.id,
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_job(accrue_job, args=[container], id="accrue-catch-up")
    scheduler.start()
    return scheduler


def runner_name() -> str:
    """This replica's name in logs and run rows: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class LeaderScheduler:
    """Runs the jobs only while holding the leader lock; waits as a standby otherwise."""

    def __init__(
        self,
        container: Container,
        jobs: Sequence[JobSpec] = JOBS,
        *,
        runner: str | None = None,
        poll_s: float = 0.25,
        standby_poll_s: float = 1.0,
        lock_name: str = "pledgewatch-scheduler",
        keep_runs: timedelta = timedelta(days=2),
    ) -> None:
        """Nothing connects until `run`."""
        self.container = container
        self.jobs = tuple(jobs)
        self.runner = runner or runner_name()
        self.poll_s = poll_s
        self.standby_poll_s = standby_poll_s
        self.keep_runs = keep_runs
        self.lock = LeaderLock(container.engine, lock_name)
        self.leading = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.jobs)), thread_name_prefix="job"
        )
        self._running: dict[str, Future[None]] = {}
        self._next_prune = 0.0

    def stop(self) -> None:
        """Finish: stop dispatching, let running jobs end, release the lock."""
        self._stop.set()

    def run(self) -> None:
        """Stand by or lead until `stop`."""
        try:
            while not self._stop.is_set():
                if not self.leading.is_set():
                    self._try_to_lead()
                    continue
                if not self.lock.still_held():
                    log.warning("scheduler %s lost leadership", self.runner)
                    self.leading.clear()
                    continue
                try:
                    self.dispatch(datetime.now(UTC))
                except Exception:
                    # The database blinked: the lock check above decides whether we still lead.
                    log.exception("scheduler %s could not dispatch", self.runner)
                self._stop.wait(self.poll_s)
        finally:
            self._pool.shutdown(wait=True)
            self.lock.release()
            self.leading.clear()

    def _try_to_lead(self) -> None:
        try:
            won = self.lock.try_acquire()
        except Exception as exc:
            log.warning(
                "scheduler %s cannot reach the database: %s", self.runner, type(exc).__name__
            )
            won = False
        if won:
            log.info("scheduler %s is the leader", self.runner)
            self._register_jobs()
            self.leading.set()
        else:
            self._stop.wait(self.standby_poll_s)

    def _register_jobs(self) -> None:
        now = datetime.now(UTC)
        with self.container.session_factory() as session, session.begin():
            for job in self.jobs:
                row = session.get(ScheduledJob, job.id)
                if row is None:
                    session.add(ScheduledJob(id=job.id, schedule=job.schedule(), updated_at=now))
                else:
                    row.schedule = job.schedule()
                    row.updated_at = now

    def dispatch(self, now: datetime) -> list[str]:
        """Start every job whose current tick has not run yet; returns the ids started."""
        started = []
        with self.container.session_factory() as session:
            last = {row.id: row.last_tick_at for row in session.query(ScheduledJob).all()}
        for job in self.jobs:
            tick = job.last_tick(now)
            done = last.get(job.id)
            if done is not None and done >= tick:
                continue
            busy = self._running.get(job.id)
            if busy is not None and not busy.done():
                # Like max_instances=1 with coalescing: the tick waits for the run in progress.
                continue
            if self._claim(job, tick, now):
                self._running[job.id] = self._pool.submit(self._execute, job, tick)
                started.append(job.id)
        if time.monotonic() >= self._next_prune:
            self._prune(now)
        return started

    def _claim(self, job: JobSpec, tick: datetime, now: datetime) -> bool:
        try:
            with self.container.session_factory() as session, session.begin():
                session.add(
                    JobRun(
                        id=uuid.uuid4().hex,
                        job_id=job.id,
                        tick_at=tick,
                        runner=self.runner,
                        status="running",
                        detail="",
                        started_at=now,
                    )
                )
                session.flush()
                row = session.get(ScheduledJob, job.id, with_for_update=True)
                if row is None:
                    row = ScheduledJob(id=job.id, schedule=job.schedule(), updated_at=now)
                    session.add(row)
                row.last_tick_at = tick
                row.last_runner = self.runner
                row.updated_at = now
        except IntegrityError:
            # Another replica ran this tick already: that is the exactly-once guarantee at work.
            log.info("tick already taken", extra={"job": job.id, "tick": tick.isoformat()})
            with self.container.session_factory() as session, session.begin():
                row = session.get(ScheduledJob, job.id)
                if row is not None and (row.last_tick_at is None or row.last_tick_at < tick):
                    row.last_tick_at = tick
            return False
        return True

    def _execute(self, job: JobSpec, tick: datetime) -> None:
        started = time.monotonic()
        status, detail = "ok", ""
        try:
            job.fn(self.container)
        except Exception as exc:
            status, detail = "failed", f"{type(exc).__name__}: {exc}"[:500]
            log.exception("job %s failed", job.id)
        seconds = time.monotonic() - started
        log.info(
            "job ran",
            extra={
                "job": job.id,
                "tick": tick.isoformat(),
                "runner": self.runner,
                "status": status,
                "seconds": round(seconds, 3),
            },
        )
        try:
            with self.container.session_factory() as session, session.begin():
                run = session.query(JobRun).filter_by(job_id=job.id, tick_at=tick).one_or_none()
                if run is not None:
                    run.status, run.detail, run.seconds = status, detail, seconds
                state = session.get(ScheduledJob, job.id)
                if state is not None:
                    state.last_status = status
                    state.last_finished_at = datetime.now(UTC)
        except Exception:
            log.exception("could not record the run of job %s", job.id)

    def _prune(self, now: datetime) -> None:
        self._next_prune = time.monotonic() + 3600
        try:
            with self.container.session_factory() as session, session.begin():
                session.execute(delete(JobRun).where(JobRun.started_at < now - self.keep_runs))
        except Exception:
            log.exception("pruning old scheduler runs failed")
