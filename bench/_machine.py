"""The machine a report was measured on: CPU, cores, memory, OS and the versions that matter."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gib() -> str:
    """Total RAM in GiB."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return "unknown"


def os_name() -> str:
    """Distribution and kernel."""
    pretty = platform.system()
    release = Path("/etc/os-release")
    if release.is_file():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip().strip('"')
    return f"{pretty}, kernel {platform.release()}"


def postgres_version(url: str) -> str:
    """The server version of the test PostgreSQL."""
    if not url:
        return "unknown (no test PostgreSQL provisioned)"
    try:
        engine = create_engine(url, pool_size=1)
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"
    return version


def mosquitto_version() -> str:
    """`mosquitto -h` names its version on the first line."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return _first_line([binary, "-h"]).removeprefix("mosquitto version ")


def wrk_version() -> str:
    """wrk's own banner, without the copyright."""
    binary = shutil.which("wrk")
    if binary is None:
        return "not installed"
    return _first_line([binary, "-v"]).split(" Copyright")[0]


def commit(repo: Path) -> str:
    """The checked-out commit (read only: the tree's state is left alone)."""
    return _first_line(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])


def describe(pg_url: str, repo: Path) -> dict[str, str]:
    """Everything the report prints about the machine, in display order."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} ({usable} usable by the benchmarks)",
        "RAM": memory_gib(),
        "OS": os_name(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": postgres_version(pg_url),
        "Mosquitto": mosquitto_version(),
        "wrk": wrk_version(),
        "load average at start (1, 5, 15 min)": load,
        "commit": commit(repo),
    }


def now_utc() -> str:
    """The date and time, UTC, to the minute."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
