"""`pledgewatch run --profile production`: four parts as four child processes, all ready; when
one dies the supervisor stops the others and exits non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.production.conftest import Deployment, Part, free_port, wait_ready


def children_of(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def command_line(pid: int) -> list[str]:
    """argv of a running process."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_the_production_profile_runs_each_part_apart_and_stops_together(
    deployment: Deployment,
) -> None:
    api_port, probe_base = free_port(), free_port()
    deployment.env.update(
        {
            "PLEDGEWATCH_API__HOST": "127.0.0.1",
            "PLEDGEWATCH_API__PORT": str(api_port),
            "PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(probe_base),
        }
    )
    log_path = deployment.folder / "supervisor.log"
    with log_path.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from services.cli import main; main()",
                "run",
                "--profile",
                "production",
            ],
            cwd=deployment.folder,
            env=deployment.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    supervisor = Part("supervisor", proc, log_path)
    deployment.parts.append(supervisor)
    wait_ready(f"http://127.0.0.1:{api_port}/readyz", supervisor)
    for offset in (1, 2, 3):  # ingest, scheduler, outbox
        wait_ready(f"http://127.0.0.1:{probe_base + offset}/readyz", supervisor)
    parts = {command_line(pid)[3]: pid for pid in children_of(proc.pid)}
    assert set(parts) == {"api", "ingest", "scheduler", "outbox"}
    # The worker URL with its password is handed over in the environment, never in argv.
    assert all("@" not in arg for pid in parts.values() for arg in command_line(pid))
    assert httpx.get(f"http://127.0.0.1:{api_port}/healthz").status_code == 200

    os.kill(parts["outbox"], signal.SIGKILL)
    assert proc.wait(60) == 1
    time.sleep(0.5)
    still_running = [
        name
        for name, pid in parts.items()
        if Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    ]
    assert still_running == []
    assert "outbox exited" in supervisor.log_path.read_text()
