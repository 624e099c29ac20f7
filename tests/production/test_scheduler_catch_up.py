"""The leader's dispatch: ticks aligned for every replica, one run per tick, missed ticks caught
up once after downtime, and job state kept in the database across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.bootstrap import Container, build_container
from services.migrate import upgrade
from services.scheduler import JobSpec, LeaderScheduler, select_jobs
from services.scheduler_tables import JobRun, ScheduledJob
from services.schema import load_metadata
from services.settings import Settings

NOW = datetime(2026, 5, 14, 9, 30, 12, tzinfo=UTC)


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    """A migrated SQLite service (one process: it always leads)."""
    url = f"sqlite:///{tmp_path / 'sched.db'}"
    upgrade(url)
    settings = Settings.model_validate(
        {"db": {"url": url}, "ledger": {"key_dir": str(tmp_path / "k")}}
    )
    built = build_container(settings)
    load_metadata().create_all(built.engine, checkfirst=True)
    yield built
    built.close()


def finish(scheduler: LeaderScheduler) -> None:
    """Wait for the runs dispatch started."""
    for future in scheduler._running.values():
        future.result(30)


def test_ticks_are_aligned_so_every_replica_computes_the_same_one() -> None:
    every = JobSpec("x", lambda _c: None, every_s=15)
    assert every.last_tick(NOW) == datetime(2026, 5, 14, 9, 30, 0, tzinfo=UTC)
    daily = JobSpec("d", lambda _c: None, daily_at=time(0, 5))
    assert daily.last_tick(NOW) == datetime(2026, 5, 14, 0, 5, tzinfo=UTC)
    assert daily.last_tick(NOW.replace(hour=0, minute=1)) == datetime(2026, 5, 13, 0, 5, tzinfo=UTC)


def test_a_daily_job_missed_for_days_runs_once_on_start_and_not_again(container: Container) -> None:
    calls: list[datetime] = []
    job = JobSpec("daily-book", lambda _c: calls.append(datetime.now(UTC)), daily_at=time(0, 5))
    with container.session_factory() as session, session.begin():
        session.add(
            ScheduledJob(
                id=job.id,
                schedule=job.schedule(),
                last_tick_at=NOW - timedelta(days=3),
                updated_at=NOW - timedelta(days=3),
            )
        )
    scheduler = LeaderScheduler(container, [job])
    assert scheduler.lock.try_acquire()
    assert scheduler.dispatch(NOW) == ["daily-book"]
    finish(scheduler)
    # Same tick, later moment, and a "restart" (a new scheduler object): nothing runs twice.
    assert scheduler.dispatch(NOW + timedelta(hours=5)) == []
    restarted = LeaderScheduler(container, [job])
    assert restarted.dispatch(NOW + timedelta(hours=6)) == []
    assert len(calls) == 1
    with container.session_factory() as session:
        state = session.get(ScheduledJob, job.id)
        runs = list(session.scalars(select(JobRun)))
    assert state is not None and state.last_tick_at == datetime(2026, 5, 14, 0, 5, tzinfo=UTC)
    assert state.last_status == "ok"
    assert [(r.job_id, r.tick_at, r.status) for r in runs] == [
        ("daily-book", datetime(2026, 5, 14, 0, 5, tzinfo=UTC), "ok")
    ]
    # The next day's tick runs.
    assert restarted.dispatch(NOW + timedelta(days=1)) == ["daily-book"]
    finish(restarted)
    assert len(calls) == 2


def test_a_failing_job_is_recorded_and_runs_again_next_tick(container: Container) -> None:
    def broken(_c: Container) -> None:
        raise RuntimeError("price feed away")

    job = JobSpec("flaky", broken, every_s=10)
    scheduler = LeaderScheduler(container, [job])
    assert scheduler.dispatch(NOW) == ["flaky"]
    finish(scheduler)
    assert scheduler.dispatch(NOW + timedelta(seconds=10)) == ["flaky"]
    finish(scheduler)
    with container.session_factory() as session:
        runs = list(session.scalars(select(JobRun).order_by(JobRun.tick_at)))
    assert [r.status for r in runs] == ["failed", "failed"]
    assert "price feed away" in runs[0].detail


def test_the_job_table_can_be_narrowed_and_sped_up_but_not_misspelt() -> None:
    chosen = select_jobs(["pump", "accrue"], {"accrue": 5})
    assert [j.id for j in chosen] == ["accrue", "pump"]
    assert chosen[0].every_s == 5 and chosen[0].daily_at is None
    with pytest.raises(ValueError, match="unknown jobs: pmup"):
        select_jobs(["pmup"])
