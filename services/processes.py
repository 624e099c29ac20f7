"""One process per part: `pledgewatch api|ingest|scheduler|outbox|vision`, and a supervisor.

`pledgewatch run --profile production` starts each part as its own child process on the
back-ends the settings name (PostgreSQL, Mosquitto, embedded ledger or Fabric). In Kubernetes
each part is its own workload instead (helm/pledgewatch), started with the same commands.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

import typer

from services.observability.logs import configure_logging, get_logger
from services.settings import Settings, get_settings

log = get_logger(__name__)

ProbePort = Annotated[
    int | None,
    typer.Option(help="Port of /healthz, /readyz and /metrics (default: settings; -1: none)."),
]


# --- vision shards ---------------------------------------------------------------------------


def shard_for(camera_id: str, shards: int) -> int:
    """The shard that owns a camera: rendezvous hashing, stable across restarts and replicas.

    Growing from N to N+1 shards moves only the cameras the new shard wins (about 1/(N+1) of
    them); every other camera keeps its shard, so its worker keeps its baseline.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")

    def weight(shard: int) -> int:
        digest = hashlib.sha256(f"{camera_id}\x00{shard}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    return max(range(shards), key=weight)


def cameras_for_shard(camera_ids: Iterable[str], index: int, shards: int) -> list[str]:
    """The cameras shard `index` of `shards` analyses, sorted."""
    if not 0 <= index < shards:
        raise ValueError(f"shard index {index} outside 0..{shards - 1}")
    return sorted(c for c in set(camera_ids) if shard_for(c, shards) == index)


_ORDINAL = re.compile(r"-(\d+)$")


def shard_index_from_hostname(hostname: str) -> int:
    """A StatefulSet pod's ordinal from its name (`pledgewatch-vision-3` → 3)."""
    match = _ORDINAL.search(hostname)
    if match is None:
        raise ValueError(f"no ordinal at the end of host name {hostname!r}")
    return int(match.group(1))


# --- shared start-up -------------------------------------------------------------------------


def _start(process: str) -> Settings:
    settings = get_settings()
    configure_logging(settings, process=process, level=settings.observability.log_level)
    return settings


def _probe_server(container: Any, port: int | None, checks: Sequence[str]) -> Any:
    from services.observability.health import ProbeServer, build_readiness
    from services.observability.metrics import install_ledger_latency_hook

    install_ledger_latency_hook()
    chosen = container.settings.observability.probe_port if port is None else port
    if chosen < 0:
        return None
    wanted = [c for c in container.settings.observability.readiness_checks if c in checks]
    server = ProbeServer(build_readiness(container, wanted), port=chosen).start()
    log.info("probes listening", port=server.port, checks=wanted)
    return server


def _on_termination(stop: Callable[[], None]) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop())


# --- the parts -------------------------------------------------------------------------------


def api_command(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
) -> None:
    """Serve the HTTP API and dashboards (no jobs, no ingest: those are their own processes)."""
    import uvicorn

    from services.api.app import create_app
    from services.bootstrap import build_container

    settings = _start("api")
    container = build_container(settings)
    try:
        uvicorn.run(
            create_app(container),
            host=host or settings.api.host,
            port=port or settings.api.port,
            log_config=None,
            access_log=False,
        )
    finally:
        container.close()


def scheduler_command(
    only: Annotated[
        list[str] | None, typer.Option("--job", help="Run only these jobs (repeatable).")
    ] = None,
    every: Annotated[
        list[str] | None,
        typer.Option(help="Override a job's interval: JOB=SECONDS (repeatable)."),
    ] = None,
    probe_port: ProbePort = None,
    standby_poll: Annotated[
        float, typer.Option(help="Seconds between a standby's tries to take the lead.")
    ] = 1.0,
) -> None:
    """Run the recurring jobs; replicas elect one leader, the others stand by."""
    from services.bootstrap import build_container
    from services.scheduler import LeaderScheduler, select_jobs

    settings = _start("scheduler")
    overrides = {}
    for item in every or []:
        name, sep, seconds = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected JOB=SECONDS, got {item!r}", param_hint="--every")
        overrides[name] = float(seconds)
    try:
        jobs = select_jobs(only or (), overrides)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    container = build_container(settings)
    probes = _probe_server(container, probe_port, ("db", "ledger"))
    scheduler = LeaderScheduler(container, jobs, standby_poll_s=standby_poll)
    _on_termination(scheduler.stop)
    log.info("scheduler replica started", runner=scheduler.runner, jobs=[j.id for j in jobs])
    try:
        scheduler.run()
    finally:
        if probes is not None:
            probes.stop()
        container.close()


def outbox_command(
    interval: Annotated[float, typer.Option(help="Seconds between outbox drains.")] = 1.0,
    probe_port: ProbePort = None,
) -> None:
    """Submit queued ledger commands and apply ledger events until stopped."""
    from services.bootstrap import build_container

    settings = _start("outbox")
    container = build_container(settings)
    probes = _probe_server(container, probe_port, ("db", "ledger"))
    stop = threading.Event()
    _on_termination(stop.set)
    log.info("outbox worker started", ledger=settings.ledger.kind.value)
    try:
        while not stop.is_set():
            try:
                sent, seen = container.pump()
                if sent or seen:
                    log.info("outbox pumped", commands=sent, events=seen)
            except Exception:
                # Submissions are idempotent on their transaction id: the next round retries.
                log.exception("outbox pump failed")
            stop.wait(interval)
    finally:
        if probes is not None:
            probes.stop()
        container.close()


def with_process_logging(
    process: str, checks: Sequence[str], command: Callable[..., None]
) -> Callable[..., None]:
    """Wrap another module's command: JSON logs and the probe server first, then the command."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> None:
        from services.bootstrap import build_container

        settings = _start(process)
        container = build_container(settings)
        probes = _probe_server(container, None, checks)
        try:
            command(*args, **kwargs)
        finally:
            if probes is not None:
                probes.stop()
            container.close()

    return wrapped


def ingest_process_command() -> Callable[..., None]:
    """`pledgewatch ingest`: the MQTT ingest worker with JSON logs and probes."""
    from services.ingest.cli import ingest_command

    return with_process_logging("ingest", ("db", "broker"), ingest_command)


def vision_command(
    shard_index: Annotated[
        int | None,
        typer.Option(
            envvar="PLEDGEWATCH_VISION_SHARD_INDEX",
            help="This worker's shard (default: the ordinal at the end of the host name).",
        ),
    ] = None,
    shards: Annotated[
        int, typer.Option(envvar="PLEDGEWATCH_VISION_SHARDS", help="How many shards there are.")
    ] = 1,
) -> None:
    """Analyse the cameras of one shard (the camera runner decides how to read them)."""
    settings = _start("vision")
    index = shard_index
    if index is None:
        index = shard_index_from_hostname(os.environ.get("HOSTNAME", "")) if shards > 1 else 0
    if not 0 <= index < shards:
        raise typer.BadParameter(f"shard index {index} outside 0..{shards - 1}")
    try:
        runner = importlib.import_module("services.cameras.runner")
    except ImportError:
        typer.echo(
            "pledgewatch vision: the camera runner (services.cameras.runner) is not installed in "
            "this build; there is nothing to run.",
            err=True,
        )
        raise typer.Exit(code=2) from None
    run = getattr(runner, "run", None)
    if not callable(run):
        typer.echo("pledgewatch vision: services.cameras.runner has no run() entry point", err=True)
        raise typer.Exit(code=2)
    from services.bootstrap import build_container

    log.info("vision shard starting", shard=index, shards=shards)
    container = build_container(settings)
    probes = _probe_server(container, None, ("db", "ledger"))
    try:
        run(settings, select=lambda camera_id: shard_for(camera_id, shards) == index)
    finally:
        if probes is not None:
            probes.stop()
        container.close()


# --- the supervisor --------------------------------------------------------------------------

PARTS = ("api", "ingest", "scheduler", "outbox")
# Probe ports of the parts that serve no API, on one machine.
_PROBE_OFFSETS = {"ingest": 1, "scheduler": 2, "outbox": 3, "vision": 4}


def child_command(part: str, extra: Sequence[str] = ()) -> list[str]:
    """The argv that starts one part as a child of this interpreter."""
    return [sys.executable, "-m", "services.processes", part, *extra]


def run_production(
    parts: Sequence[str] = PARTS,
    *,
    env: dict[str, str] | None = None,
    poll_s: float = 0.5,
    stop: threading.Event | None = None,
    migrate: bool = True,
) -> int:
    """Start each part as its own process; when one dies, stop the others and return 1."""
    settings = get_settings()
    if migrate:
        from services.migrate import upgrade

        upgrade(settings.db.url)
    base = settings.observability.probe_port
    child_env = {**os.environ, **(env or {})}
    # Several workers on one broker split the reads only when they share a group.
    child_env.setdefault("PLEDGEWATCH_MQTT__SHARE_GROUP", "pledgewatch-ingest")
    children: dict[str, subprocess.Popen[bytes]] = {}
    for part in parts:
        extra: list[str] = []
        if part in _PROBE_OFFSETS:
            part_env = {
                **child_env,
                "PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(base + _PROBE_OFFSETS[part]),
            }
        else:
            part_env = child_env
        if part == "ingest":
            # The URL carries the worker's password: pass it in the environment, not in argv.
            part_env = {**part_env, "PLEDGEWATCH_INGEST_MQTT_URL": settings.mqtt.url}
            # Stable across restarts, so the broker hands the same session (and its unacked
            # messages) back to the next run on this machine.
            extra = ["--client-id", f"pledgewatch-ingest-{socket.gethostname()}"]
        children[part] = subprocess.Popen(child_command(part, extra), env=part_env)  # noqa: S603
    stopping = stop or threading.Event()
    _on_termination(stopping.set)
    failed = ""
    try:
        while not stopping.is_set():
            for part, child in children.items():
                if child.poll() is not None:
                    failed = part
                    stopping.set()
                    break
            stopping.wait(poll_s)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    if failed:
        typer.echo(f"pledgewatch: {failed} exited; the other parts were stopped", err=True)
        return 1
    return 0


def process_app() -> typer.Typer:
    """A Typer app of the single-part commands (used by `python -m services.processes`)."""
    app = typer.Typer(help="Run one part of pledgewatch.", no_args_is_help=True)
    app.command("api")(api_command)
    app.command("ingest")(ingest_process_command())
    app.command("scheduler")(scheduler_command)
    app.command("outbox")(outbox_command)
    app.command("vision")(vision_command)
    return app


if __name__ == "__main__":
    process_app()()
