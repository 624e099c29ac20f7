"""Long-running processes of the devnet: start with a PID file and a log, wait, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from chaincode.devnet.layout import Layout

POLL_S = 0.05


class DevnetError(RuntimeError):
    """A step of the devnet failed; the message says which and shows the relevant log."""


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, or a note that it is absent."""
    if not path.is_file():
        return f"(no log at {path})"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def start(
    layout: Layout, name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path
) -> int:
    """Start command detached, logging to logs/<name>.log, and record its PID."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.pids.mkdir(parents=True, exist_ok=True)
    log_path = layout.logs / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own argument list, no shell
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal that ran `up` does not stop the network.
            start_new_session=True,
        )
    started = _start_time(proc.pid)
    (layout.pids / f"{name}.pid").write_text(f"{proc.pid} {started}\n", encoding="utf-8")
    return proc.pid


def _stat_fields(pid: int) -> list[str] | None:
    # Fields after the command name, which is in parentheses and may itself hold spaces.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _start_time(pid: int) -> int:
    # Clock ticks since boot when the process started: with the PID, it names one process.
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else -1


def read_pid(layout: Layout, name: str) -> tuple[int, int] | None:
    """PID and start time recorded for name, if any."""
    path = layout.pids / f"{name}.pid"
    try:
        pid, started = path.read_text(encoding="utf-8").split()
        return int(pid), int(started)
    except (OSError, ValueError):
        return None


def is_ours(pid: int, started: int) -> bool:
    """True if pid is alive and is the process we started (same start time, not recycled)."""
    fields = _stat_fields(pid)
    # A zombie has exited and holds no port any more.
    if fields is None or fields[0] == "Z":
        return False
    return int(fields[19]) == started


def running(layout: Layout, name: str) -> int | None:
    """PID of name when it runs, else None."""
    recorded = read_pid(layout, name)
    return recorded[0] if recorded is not None and is_ours(*recorded) else None


def stop(layout: Layout, name: str, timeout_s: float = 10.0) -> bool:
    """Stop name (SIGTERM, then SIGKILL after timeout_s); True if it was running."""
    recorded = read_pid(layout, name)
    pid_file = layout.pids / f"{name}.pid"
    if recorded is None or not is_ours(*recorded):
        pid_file.unlink(missing_ok=True)
        return False
    pid = recorded[0]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and is_ours(*recorded):
        _reap(pid)
        time.sleep(POLL_S)
    if is_ours(*recorded):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(pid)
    pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    # Collects the exit status when we are the parent (the same `up` in tests), so no zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    what: str, check: Callable[[], bool], timeout_s: float, log_path: Path | None = None
) -> None:
    """Poll check until it is true; on timeout raise with what and the log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(POLL_S)
    detail = f"\n--- {log_path.name} ---\n{log_tail(log_path)}" if log_path else ""
    raise DevnetError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")


def healthy(port: int) -> bool:
    """True when the operations endpoint on port answers /healthz with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def busy_ports(ports: Sequence[int]) -> list[int]:
    """The ports among ports that something already listens on."""
    return [port for port in ports if port_open(port)]


def run(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, what: str, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run a short command; return it finished, or raise with what and its output."""
    try:
        done = subprocess.run(  # noqa: S603 - our own argument list, no shell
            list(command),
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DevnetError(f"{what}: timed out after {timeout_s:.0f}s") from exc
    if done.returncode != 0:
        raise DevnetError(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done
