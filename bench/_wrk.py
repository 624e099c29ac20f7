"""Running wrk on loopback and reading its summary: requests/s and the latency distribution."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    """wrk is missing, failed, or measured something that is not a clean run."""


@dataclass(frozen=True)
class WrkRun:
    """One wrk run: throughput, latency percentiles in seconds, and what went wrong."""

    requests: int
    per_second: float
    latency: dict[int, float]
    socket_errors: tuple[int, int, int, int]
    output: str


def wrk_binary() -> str:
    """Path of wrk, or WrkError naming the package to install."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed (Debian: apt-get install -y wrk)")
    return found


def parse(output: str) -> WrkRun:
    """Read wrk --latency output; a run with any non-2xx answer is refused."""
    rate = _RATE.search(output)
    total = _TOTAL.search(output)
    found = {int(p): float(v) * _UNIT_SECONDS[u] for p, v, u in _PERCENTILE.findall(output)}
    if rate is None or total is None or set(found) != {50, 75, 90, 99}:
        raise WrkError(f"unreadable wrk output:\n{output}")
    bad = _NON_2XX.search(output)
    if bad is not None and int(bad.group(1)):
        raise WrkError(f"{bad.group(1)} non-2xx answers: the figure would be meaningless\n{output}")
    socket = _SOCKET.search(output)
    connect, read, write, timeout = (0, 0, 0, 0) if socket is None else map(int, socket.groups())
    errors = (connect, read, write, timeout)
    return WrkRun(int(total.group(1)), float(rate.group(1)), found, errors, output)


def run(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> WrkRun:
    """Load `url` for `seconds` with a closed loop of `connections` and parse the result."""
    cmd = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr or done.stdout}")
    return parse(done.stdout)
