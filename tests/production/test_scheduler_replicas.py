"""Two scheduler replicas as two real processes on PostgreSQL: one leads, each tick runs once,
and when the leader is killed the standby takes over."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

from sqlalchemy import Engine, select

from services.scheduler_tables import JobRun
from tests.production.conftest import Deployment, Part

JOBS = ("pump", "movement")
ARGS = ("--job", "pump", "--job", "movement", "--every", "pump=1", "--every", "movement=1")


def runs(engine: Engine) -> list[tuple[str, str, str]]:
    """(job, tick, runner) of every recorded run."""
    with engine.connect() as conn:
        rows = conn.execute(select(JobRun.job_id, JobRun.tick_at, JobRun.runner)).all()
    return [(job, tick.isoformat(), runner) for job, tick, runner in rows]


def ran_in_log(part: Part) -> list[tuple[str, str]]:
    """(job, tick) of every 'job ran' line this replica logged."""
    found = []
    for line in part.log_lines():
        if '"job ran"' not in line:
            continue
        event = json.loads(line)
        found.append((event["job"], event["tick"]))
    return found


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def runner_of(part: Part) -> str:
    """The runner name a replica writes: host and pid."""
    return f"-{part.proc.pid}"


def test_two_replicas_run_each_tick_once_and_the_standby_takes_over(
    db_deployment: Deployment, pg_engine: Engine
) -> None:
    first = db_deployment.start("scheduler", *ARGS, "--probe-port", "-1", "--standby-poll", "0.3")
    second = db_deployment.start("scheduler", *ARGS, "--probe-port", "-1", "--standby-poll", "0.3")
    # Both replicas up, and several ticks of each job recorded.
    wait_for(
        lambda: all(sum(1 for j, _, _ in runs(pg_engine) if j == job) >= 4 for job in JOBS),
        120,
        "four ticks of each job",
    )
    before = runs(pg_engine)
    runners = {runner for _, _, runner in before}
    assert len(runners) == 1, runners
    (leader_name,) = runners
    leader, standby = (first, second) if leader_name.endswith(runner_of(first)) else (second, first)
    assert leader_name.endswith(runner_of(leader))
    assert standby.proc.poll() is None, "the standby must still be running"
    assert ran_in_log(standby) == [], "the standby ran a job while the leader held the lock"

    # The leader dies without a goodbye: its lock goes with its database session.
    leader.stop(signal.SIGKILL)
    killed_at = runs(pg_engine)
    wait_for(
        lambda: (
            sum(1 for _, _, r in runs(pg_engine) if r.endswith(runner_of(standby))) >= 2 * len(JOBS)
        ),
        60,
        "the standby to take over",
    )
    after = runs(pg_engine)
    took_over = [(j, t) for j, t, r in after if r.endswith(runner_of(standby))]
    assert {j for j, _ in took_over} == set(JOBS)

    standby.stop()
    final = runs(pg_engine)
    # Each (job, tick) ran exactly once across both replicas: in the database ...
    per_tick = Counter((job, tick) for job, tick, _ in final)
    assert max(per_tick.values()) == 1
    # ... and by the replicas' own account (each logged what it ran, independently).
    logged = Counter(ran_in_log(leader) + ran_in_log(standby))
    assert logged and max(logged.values()) == 1
    assert set(logged) <= set(per_tick)
    # The new leader ran only ticks after the old one's last.
    last_of_leader = max(t for _, t, r in killed_at if r == leader_name)
    assert all(t > last_of_leader for _, t in took_over)
