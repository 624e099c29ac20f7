"""Faults under load against the production processes: nothing lost, nothing doubled, books agree.

Each test starts api, ingest, vision, scheduler and outbox as separate processes on a PostgreSQL
cluster and a Mosquitto of its own (so a restart, or another suite's burst of reads, touches no
one else) and the embedded ledger, runs the load (tests.faults.load), injects one fault, waits
for recovery, and checks: every acknowledged read stored once, every gate passage recorded and
alerted once, every loan step applied once, every ledger command confirmed, live checks closed,
no part crashing on its own, and `pledgewatch ledger audit` finding 0 differences.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Select, func, select

from services.api.idempotency import IN_PROGRESS, IdempotencyRecord
from services.cameras.tables import LiveCheckRow
from services.scheduler_tables import JobRun
from tests.faults.backends import Backends, wait_until
from tests.faults.harness import FaultRun, assert_survived, loaded_run, run_fault

# A long suite: CI runs it; `-m "not slow"` leaves it out while working on something else.
pytestmark = pytest.mark.slow


def _count(engine: Engine, query: Select[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# Where a kill hurts most, per part: the moment it holds work it has not finished.
AIM: dict[str, tuple[str, Select[Any]]] = {
    # The API claimed a money-moving request's Idempotency-Key but has not stored its answer.
    "api": (
        "a claimed Idempotency-Key",
        select(func.count()).where(IdempotencyRecord.status_code == IN_PROGRESS),
    ),
    # The bank waits for a live snapshot the vision worker has not answered yet.
    "vision": (
        "a live check waiting for its answer",
        select(func.count()).where(LiveCheckRow.status == "pending"),
    ),
    # The scheduler is in the middle of a job run.
    "scheduler": (
        "a job mid-run",
        select(func.count()).where(JobRun.status == "running"),
    ),
}


@pytest.fixture
def loaded(backends: Backends, tmp_path: Path) -> Iterator[FaultRun]:
    """The whole deployment on its private back-ends, with its load ready to start."""
    yield from loaded_run(backends, tmp_path, share_group=True)


@pytest.fixture
def loaded_one_session(backends: Backends, tmp_path: Path) -> Iterator[FaultRun]:
    """The same, with the ingest worker on a plain (not shared) persistent subscription."""
    yield from loaded_run(backends, tmp_path, share_group=False)


KILLED = ("api", "ingest", "vision", "scheduler", "outbox")


@pytest.mark.parametrize(
    "part", [pytest.param(p, marks=pytest.mark.fault("kill -9", p), id=p) for p in KILLED]
)
def test_a_part_killed_under_load_restarts_and_nothing_is_lost_or_doubled(
    loaded: FaultRun, part: str, request: pytest.FixtureRequest
) -> None:
    def kill_and_restart() -> None:
        if part in AIM:
            what, busy = AIM[part]
            wait_until(lambda: _count(loaded.engine, busy) > 0, 30, what, poll=0.002)
        loaded.stack.kill(part)
        loaded.stack.restart(part)

    outcome = run_fault(loaded, "kill -9", part, kill_and_restart, touched=(part,))
    assert_survived(request.node.nodeid, outcome)


@pytest.mark.fault("restart", "postgresql")
def test_a_postgresql_restart_under_load_is_ridden_out_by_every_part(
    loaded: FaultRun, backends: Backends, request: pytest.FixtureRequest
) -> None:
    def restart() -> None:
        backends.postgres.stop()
        # Down until the API itself reports the database gone: the outage is seen under load.
        wait_until(lambda: not loaded.stack.ready_now("api"), 30, "the API to notice the outage")
        backends.postgres.start()

    outcome = run_fault(loaded, "restart", "postgresql", restart, touched=("postgresql",))
    assert_survived(request.node.nodeid, outcome)


@pytest.mark.fault("restart", "mosquitto")
def test_a_mosquitto_restart_under_load_loses_no_acknowledged_read(
    loaded_one_session: FaultRun, backends: Backends, request: pytest.FixtureRequest
) -> None:
    # Mosquitto 2.0 (Debian's) keeps sessions and their queued messages over a restart, but
    # not shared subscriptions: with a share group, reads published before the workers
    # subscribe again are dropped by the broker. A plain persistent subscription keeps them.
    loaded = loaded_one_session

    def restart() -> None:
        backends.broker.stop()
        wait_until(lambda: not loaded.stack.ready_now("ingest"), 30, "ingest to see the outage")
        backends.broker.start()

    outcome = run_fault(loaded, "restart", "mosquitto", restart, touched=("mosquitto",))
    assert_survived(request.node.nodeid, outcome)
