"""API requests/s and latency of an authenticated read that queries PostgreSQL, under wrk.

Starts the production API process (`python -m services.processes api`, production mode, a
fresh migrated schema of the test PostgreSQL, the embedded ledger), seeds the demo organisations
and plays the demo story through it, so the database holds real loans. Then wrk loads, on
loopback, one after another with the same connections, duration and Authorization header:
- GET /loans/{id} as the lending bank: token check, a user and a loan query, the response model;
- GET /healthz of the same process: the same middleware, no database;
- the baseline: a bare ASGI app (bench/_bare_asgi.py) under the same uvicorn, started the same
  way, answering a JSON body of exactly the loan's size. It is the floor of serving those bytes
  from Python on this machine, so each ratio is what our whole stack costs on top of it, and
  /healthz against the same floor splits that into framework and query.
Latency percentiles are wrk's (--latency) over a closed loop of --connections connections, so
they include queueing behind the other connections. wrk, the API and PostgreSQL share the cores.

    uv run python bench/api.py [--seconds 10] [--connections 8] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import _wrk  # noqa: E402
from bench._figures import Figure, Outcome, add_output_options, emit  # noqa: E402
from bench._services import fresh_schema, pg_url  # noqa: E402
from services.db import make_engine, make_session_factory  # noqa: E402
from services.demo import login, play  # noqa: E402
from services.seed import seed_demo  # noqa: E402

READY_TIMEOUT_S = 90.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_env(db_url: str, folder: Path) -> dict[str, str]:
    """Production settings for the API process, and nothing of the caller's own PLEDGEWATCH_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEWATCH_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PLEDGEWATCH_MODE": "production",
            "PLEDGEWATCH_DB__URL": db_url,
            "PLEDGEWATCH_LEDGER__KIND": "embedded",
            "PLEDGEWATCH_LEDGER__KEY_DIR": str(folder / "ledger-keys"),
            "PLEDGEWATCH_AUTH__JWT_SECRET": "jwt-" + secrets.token_hex(24),
            "PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET": "lien-" + secrets.token_hex(24),
            "PLEDGEWATCH_LEDGER__COMMITMENT_SALT": "salt-" + secrets.token_hex(24),
            # The API reads no MQTT; its readiness should not wait on a broker.
            "PLEDGEWATCH_OBSERVABILITY__READINESS_CHECKS": '["db", "ledger"]',
        }
    )
    return env


@contextmanager
def process(name: str, cmd: list[str], env: dict[str, str], folder: Path) -> Iterator[Path]:
    """Run `cmd` with its output in <folder>/<name>.log; terminated and reaped on exit."""
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield log_path
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_ready(url: str, log_path: Path) -> None:
    """Poll until `url` answers 200; exit with the process's log tail if it never does."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        try:
            resp = httpx.get(url, timeout=5)
            if resp.status_code == 200:
                return
            last = f"{resp.status_code} {resp.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.2)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    raise SystemExit(f"{url} not ready after {READY_TIMEOUT_S:.0f} s ({last}):\n{tail}")


def loan_to_read(base: str) -> tuple[str, str, int]:
    """Play the demo story, then pick bank1's first loan: (path, bearer token, body bytes)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        story = play(client, Console(file=io.StringIO(), width=200))
        failed = [claim for claim, ok, _ in story.checks if not ok]
        if failed:
            raise SystemExit(f"the demo story did not hold: {failed}")
        bank = login(client, "bank1.officer")
        loans = bank.call("GET", "/loans", 200)["items"]
        if not loans:
            raise SystemExit("the demo story left bank1 without a loan")
        path = f"/loans/{loans[0]['id']}"
        body = client.get(path, headers={"Authorization": f"Bearer {bank.token}"})
        body.raise_for_status()
        return path, bank.token, len(body.content)


def load(url: str, token: str, seconds: int, warmup: int, connections: int) -> _wrk.WrkRun:
    """A warm-up run (discarded), then the measured one."""
    headers = {"Authorization": f"Bearer {token}"}
    _wrk.run(url, seconds=warmup, connections=connections, headers=headers)
    measured = _wrk.run(url, seconds=seconds, connections=connections, headers=headers)
    print(
        f"  {url}: {measured.per_second:,.0f} req/s, p50 {measured.latency[50] * 1000:.2f} ms, "
        f"p99 {measured.latency[99] * 1000:.2f} ms"
    )
    return measured


def measure(seconds: int, warmup: int, connections: int) -> Outcome:
    """Start the API and the bare app, load each under wrk, compare."""
    _wrk.wrk_binary()
    with (
        fresh_schema(pg_url(), migrate=True) as db_url,
        tempfile.TemporaryDirectory(prefix="bench-api-") as tmp,
    ):
        folder = Path(tmp)
        engine = make_engine(db_url)
        seed_demo(make_session_factory(engine))
        engine.dispose()
        api_port, bare_port = free_port(), free_port()
        api_cmd = [sys.executable, "-m", "services.processes", "api"]
        api_cmd += ["--host", "127.0.0.1", "--port", str(api_port)]
        base = f"http://127.0.0.1:{api_port}"
        with process("api", api_cmd, api_env(db_url, folder), folder) as api_log:
            wait_ready(f"{base}/readyz", api_log)
            path, token, size = loan_to_read(base)
            bare_cmd = [sys.executable, "-m", "bench._bare_asgi", "--port", str(bare_port)]
            bare_env = {**os.environ, "PYTHONPATH": str(REPO)}
            with process("bare", [*bare_cmd, "--bytes", str(size)], bare_env, folder) as bare_log:
                bare_url = f"http://127.0.0.1:{bare_port}/"
                wait_ready(bare_url, bare_log)
                runs = {
                    name: load(url, token, seconds, warmup, connections)
                    for name, url in (
                        ("loan", f"{base}{path}"),
                        ("healthz", f"{base}/healthz"),
                        ("bare", bare_url),
                    )
                }
    return _outcome(runs, seconds, connections, size)


def _outcome(runs: dict[str, _wrk.WrkRun], seconds: int, connections: int, size: int) -> Outcome:
    bare, loan, health = runs["bare"], runs["loan"], runs["healthz"]
    floor = f"bare ASGI, same uvicorn, {size} B JSON"
    figures: list[Figure] = []
    for label, run in (("GET /loans/{id}", loan), ("GET /healthz", health)):
        figures.append(
            Figure(f"{label} throughput", run.per_second, "req/s", bare.per_second, floor, "higher")
        )
        for q in (50, 99):
            figures.append(
                Figure(
                    f"{label} latency p{q}",
                    run.latency[q] * 1000,
                    "ms",
                    bare.latency[q] * 1000,
                    floor,
                    "lower",
                )
            )
    figures.append(
        Figure(
            "GET /loans/{id} throughput vs /healthz",
            loan.per_second,
            "req/s",
            health.per_second,
            "GET /healthz, same API process",
            "higher",
        )
    )
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    notes = [
        f"wrk -t1 -c{connections} -d{seconds}s --latency on loopback, after a warm-up run",
        "API: `python -m services.processes api`, production mode, PostgreSQL, embedded ledger",
        f"uvicorn picks its defaults for both servers: HTTP parser {parser}, event loop {loop}",
    ]
    for name, run in runs.items():
        if any(run.socket_errors):
            notes.append(
                f"{name}: wrk socket errors (connect, read, write, timeout) {run.socket_errors}"
            )
    return Outcome(
        bench="api",
        title="API under wrk on loopback",
        figures=figures,
        params={
            "seconds": seconds,
            "connections": connections,
            "body_bytes": size,
            "requests": {name: run.requests for name, run in runs.items()},
        },
        notes=notes,
    )


def main() -> None:
    """Measure and print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per target")
    parser.add_argument("--connections", type=int, default=8)
    add_output_options(parser)
    args = parser.parse_args()
    seconds, warmup = (1, 1) if args.quick else (args.seconds, 3)
    try:
        outcome = measure(seconds, warmup, args.connections)
    except _wrk.WrkError as exc:
        raise SystemExit(f"wrk: {exc}") from exc
    emit(outcome, args.json)


if __name__ == "__main__":
    main()
