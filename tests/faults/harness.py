"""One fault under load: warm up, inject, wait for recovery, drain, then check every promise.

The load runs throughout. Recovery means every part answers /readyz again and each kind of
load made progress that started after the fault: a read published afterwards is stored, a loan
step completes, and (when the vision worker was hit) a live check asked afterwards is answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from services.cameras.tables import LiveCheckRow
from services.db import make_session_factory
from services.ingest.acl import ReaderAccount
from services.ingest.mqtturl import BrokerAddress
from services.scheduler_tables import JobRun
from services.seed import seed_demo
from tests.faults import checks
from tests.faults.backends import Backends, wait_until
from tests.faults.camera import SynthCamera
from tests.faults.load import LiveChecks, LoanTraffic, ReadPublisher
from tests.faults.report import FaultRow, record
from tests.faults.stack import PARTS, FaultStack
from tests.faults.world import BAY_READER, GATE_READER, Parties, World, build_world, sign_in
from tests.faults.world import register_readers as register
from tests.production.conftest import Deployment

LOANS = 10
RECOVERY_TIMEOUT_S = 90.0


@dataclass
class Outcome:
    """What a fault run measured and every broken promise it found."""

    row: FaultRow
    findings: list[str] = field(default_factory=list)
    recovery_s: float = 0.0
    log_tail: str = ""


@dataclass
class FaultRun:
    """A deployment under load, ready for one fault."""

    stack: FaultStack
    engine: Engine
    camera: SynthCamera
    who: Parties
    world: World
    reads: ReadPublisher
    traffic: LoanTraffic
    live: LiveChecks
    started_at: float = 0.0

    def close(self) -> None:
        """Stop whatever load still runs and close the camera and sessions."""
        for worker in (self.reads, self.traffic, self.live):
            worker.stop_event.set()
        self.camera.close()
        self.who.close()


def prepare(
    deployment: Deployment,
    engine: Engine,
    mqtt_url: str,
    broker: BrokerAddress,
    readers: dict[str, ReaderAccount],
    evidence_dir: Path,
    share_group: bool = True,
) -> FaultRun:
    """Seed, start every part, build the warehouse and get the load ready (not started)."""
    t0 = time.monotonic()
    seed_demo(make_session_factory(engine))
    register(engine, readers[BAY_READER], readers[GATE_READER])
    camera = SynthCamera()
    stack = FaultStack.plan(deployment, mqtt_url, evidence_dir, share_group)
    try:
        # Vision starts once its camera is registered: a running worker looks for new cameras
        # only every ten seconds. The other parts start meanwhile.
        stack.launch("api", "ingest", "scheduler", "outbox")
        stack.wait_ready("api")
        who = sign_in(stack.api_url)
        t1 = time.monotonic()
        world = build_world(who, camera, LOANS)
        stack.launch("vision")
        stack.wait_ready()
        print(f"prepare: api up {t1 - t0:.1f}s, world and other parts {time.monotonic() - t1:.1f}s")
    except BaseException:
        camera.close()
        raise
    reads = ReadPublisher(
        broker, readers[BAY_READER], readers[GATE_READER], gate_epcs=world.watch_epcs[:40]
    )
    traffic = LoanTraffic(who.bank, who.sme, who.wh, world.plans)
    live = LiveChecks(who.bank, world.watch_bay_id)
    return FaultRun(stack, engine, camera, who, world, reads, traffic, live)


def loaded_run(backends: Backends, tmp_path: Path, share_group: bool = True) -> Iterator[FaultRun]:
    """A prepared run on the test's private back-ends; afterwards its load and parts stop."""
    broker = backends.broker
    run = prepare(
        backends.deployment,
        backends.engine,
        broker.url,
        broker.worker,
        broker.readers,
        tmp_path / "evidence",
        share_group=share_group,
    )
    try:
        yield run
    finally:
        run.close()
        backends.stop_parts()


def assert_survived(nodeid: str, outcome: Outcome) -> None:
    """Record the fault's row for the summary, then fail with its findings if any."""
    record(nodeid, outcome.row)
    assert not outcome.findings, "\n".join(outcome.findings) + "\n" + outcome.log_tail


def _stored(run: FaultRun) -> int:
    return checks.count_reads(run.engine, run.reads.sent.snapshot()).stored


def _answered_since(engine: Engine, since: datetime) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .where(LiveCheckRow.status == "done")
                .where(LiveCheckRow.requested_at >= since)
            ).scalar_one()
        )


def _runs_by(engine: Engine, pid: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .where(JobRun.runner.like(f"%-{pid}"))
                .where(JobRun.status == "ok")
            ).scalar_one()
        )


def warm_up(run: FaultRun) -> None:
    """Start the load and wait until reads are stored, loans move and live checks are answered."""
    started = datetime.now(UTC)
    run.reads.start()
    run.traffic.start()
    run.live.start()
    run.started_at = time.monotonic()
    wait_until(lambda: _stored(run) >= 50, 60, "the first reads to be stored")
    wait_until(lambda: run.traffic.progress >= 3, 60, "the loan traffic to get going")
    wait_until(lambda: _answered_since(run.engine, started) >= 1, 60, "a live check answer")


def recover(run: FaultRun, touched: tuple[str, ...]) -> float:
    """Wait until every part is ready and the load progresses past the fault; returns seconds."""
    run.stack.wait_ready(*PARTS, timeout=RECOVERY_TIMEOUT_S)
    now_wall = datetime.now(UTC)
    now = time.monotonic()
    sent_before = len(run.reads.sent.snapshot())
    wait_until(
        lambda: len(run.reads.sent.snapshot()) > sent_before, RECOVERY_TIMEOUT_S, "new reads"
    )
    fresh = run.reads.sent.snapshot()[sent_before:]
    wait_until(
        lambda: checks.count_reads(run.engine, fresh).lost == 0,
        RECOVERY_TIMEOUT_S,
        "reads published after the fault to be stored",
    )
    if run.traffic.is_alive():
        wait_until(
            lambda: run.traffic.progress_at > now or not run.traffic.is_alive(),
            RECOVERY_TIMEOUT_S,
            "a loan step after the fault",
        )
    if "scheduler" in touched:
        # Ready is not enough for a scheduler: the new process must lead and run jobs again.
        pid = run.stack.current["scheduler"].proc.pid
        wait_until(
            lambda: _runs_by(run.engine, pid) > 0, RECOVERY_TIMEOUT_S, "the new scheduler to lead"
        )
    if "vision" in touched:
        wait_until(
            lambda: _answered_since(run.engine, now_wall) >= 1,
            RECOVERY_TIMEOUT_S,
            "a live check asked after the fault to be answered",
        )
    return time.monotonic()


def run_fault(
    run: FaultRun, fault: str, part: str, inject: Callable[[], None], touched: tuple[str, ...]
) -> Outcome:
    """Warm up, inject the fault, recover, keep the load on a little, drain and check."""
    row = FaultRow(fault, part)
    t0 = time.monotonic()
    warm_up(run)
    injected = time.monotonic()
    inject()
    t_inject = time.monotonic()
    recovered = recover(run, touched)
    outcome = Outcome(row, recovery_s=recovered - injected)
    row.recovery_s = f"{outcome.recovery_s:.1f}"
    # A few more loan steps after recovery, so the load also runs on the recovered deployment.
    after = run.traffic.progress
    wait_until(
        lambda: run.traffic.progress >= after + 3 or not run.traffic.is_alive(),
        RECOVERY_TIMEOUT_S,
        "loan steps after recovery",
    )
    t_after = time.monotonic()
    stop_errors = _stop_load(run)
    t_stop = time.monotonic()
    outcome.findings += stop_errors
    _check(run, outcome)
    t_check = time.monotonic()
    print(
        f"phases: warm-up {injected - t0:.1f}s, inject {t_inject - injected:.1f}s, "
        f"recover {recovered - t_inject:.1f}s, after {t_after - recovered:.1f}s, "
        f"stop {t_stop - t_after:.1f}s, checks {t_check - t_stop:.1f}s; "
        f"traffic progress {run.traffic.progress}"
    )
    return outcome


def _stop_load(run: FaultRun) -> list[str]:
    found = []
    for worker in (run.live, run.reads, run.traffic):
        try:
            worker.finish()
        except BaseException as exc:
            found.append(f"{worker.name} failed: {type(exc).__name__}: {exc}")
    return found


def _check(run: FaultRun, outcome: Outcome) -> None:
    engine, row = run.engine, outcome.row
    acked = run.reads.sent.snapshot()
    reads = checks.wait_reads(engine, acked)
    gate = list(run.reads.gate_sent)
    found = checks.wait_departures(engine, gate)
    departure_problems, missing_events, doubled_events = checks.departure_findings(found, gate)
    effects = checks.loan_effects(engine, run.world.plans)
    checks.wait_commands_settled(engine)
    live_problems, live = checks.live_check_findings(engine)
    audit = checks.run_audit(run.stack.deployment.env, run.stack.deployment.folder)
    command_problems, commands = checks.command_findings(engine)
    alert_problems = checks.alert_findings(engine, run.world.watch_lot_id, len(gate))

    calls = run.who.wh.stats.calls + run.who.bank.stats.calls + run.who.sme.stats.calls
    stuck = sum(n for status, n in commands.items() if status != "confirmed")
    row.load_sent = (
        f"{reads.sent} reads, {len(gate)} gate passages, {calls} calls "
        f"({effects.loans} loans), {sum(live.values())} live checks"
    )
    row.stored = (
        f"{reads.stored} reads, {len(gate) - missing_events} departures, "
        f"{effects.wanted - effects.missing} loan effects, "
        f"{commands.get('confirmed', 0)} commands confirmed"
    )
    row.lost = str(reads.lost + missing_events + effects.missing + stuck)
    row.duplicated = str(reads.duplicated + doubled_events + effects.extra)
    row.ledger_differences = str(len(audit.differences)) if audit.report else "no audit"

    if reads.lost or reads.duplicated:
        outcome.findings.append(f"reads: {reads}")
    outcome.findings += departure_problems + effects.findings + live_problems
    outcome.findings += command_problems + alert_problems
    if audit.exit_code != 0 or audit.differences:
        outcome.findings.append(f"audit exit {audit.exit_code}: {audit.output}")
    crashed = {
        name: codes for name, codes in run.stack.exits().items() if any(c for c in codes if c)
    }
    # Killed parts exit with -9; anything else exiting by itself is a crash.
    crashed = {name: codes for name, codes in crashed.items() if set(codes) - {None, -9}}
    if crashed:
        outcome.findings.append(f"parts exited on their own: {crashed}")
    if outcome.findings:
        tails = []
        for part in run.stack.deployment.parts:
            errors = [line for line in part.log_lines() if '"error"' in line or "Traceback" in line]
            if errors:
                tails.append(
                    f"--- {part.name} ({part.log_path.name}) ---\n" + "\n".join(errors[-5:])
                )
        outcome.log_tail = "\n".join(tails)
