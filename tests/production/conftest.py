"""Production-profile fixtures: a fresh PostgreSQL schema, the test Mosquitto, real child processes.

Each part runs as `python -m services.processes <part>`, exactly as the chart starts it, with its
stderr (one JSON log object a line) captured to a file the tests read afterwards.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from services.db import make_engine
from services.migrate import upgrade
from services.schema import load_metadata
from tests.conftest import _fresh_postgres_url
from tests.ingest.conftest import mqtt_broker  # noqa: F401 - the broker fixture, shared
from tests.service_gate import service_missing

REPO = Path(__file__).resolve().parents[2]
MQTT_URL_ENV = "PLEDGEWATCH_TEST_MQTT_URL"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Part:
    """One running part and the file its logs go to."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_lines(self) -> list[str]:
        """Every line the part wrote to stderr so far."""
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the part and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)


@dataclass
class Deployment:
    """Environment shared by every part of one test, and the parts started."""

    db_url: str
    env: dict[str, str]
    folder: Path
    secrets: dict[str, str]
    parts: list[Part] = field(default_factory=list)

    def start(self, part: str, *args: str, extra_env: dict[str, str] | None = None) -> Part:
        """Start `python -m services.processes <part> ...`."""
        index = len(self.parts)
        log_path = self.folder / f"{part}-{index}.log"
        env = {**self.env, **(extra_env or {})}
        with log_path.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.processes", part, *args],
                cwd=self.folder,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started = Part(part, proc, log_path)
        self.parts.append(started)
        return started

    def all_log_lines(self) -> list[str]:
        """Every line of every part."""
        return [line for part in self.parts for line in part.log_lines()]

    def stop_all(self) -> None:
        """Stop every part still running."""
        for part in self.parts:
            part.stop()


def wait_ready(url: str, part: Part, timeout: float = 180) -> dict[str, object]:
    """Poll `url` (a /readyz) until it answers 200; fail with the part's log if it dies."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if part.proc.poll() is not None:
            pytest.fail(
                f"{part.name} exited ({part.proc.returncode}):\n"
                + "\n".join(part.log_lines()[-30:])
            )
        try:
            resp = httpx.get(url, timeout=5)
            if resp.status_code == 200:
                body: dict[str, object] = resp.json()
                return body
            last = resp.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    pytest.fail(f"{part.name} not ready at {url}: {last}\n" + "\n".join(part.log_lines()[-30:]))


@pytest.fixture
def mqtt_url() -> str:
    """The worker account on the test Mosquitto."""
    url = os.environ.get(MQTT_URL_ENV, "").strip()
    if not url:
        service_missing("Mosquitto", f"{MQTT_URL_ENV} is not set: run scripts/test-services.sh")
    return url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL schema, migrated, with every table of the current code."""
    admin = request.getfixturevalue("_postgres_admin")
    for url in _fresh_postgres_url(admin):
        upgrade(url)
        engine = make_engine(url)
        try:
            # Tables added since the last migration (a migration-vs-metadata test tracks them).
            load_metadata().create_all(engine, checkfirst=True)
        finally:
            engine.dispose()
        yield url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on the test schema."""
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_deployment(pg_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Production settings on PostgreSQL and the embedded ledger; parts stopped at the end."""
    chosen = {
        "PLEDGEWATCH_AUTH__JWT_SECRET": "jwt-" + secrets.token_hex(24),
        "PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET": "lien-" + secrets.token_hex(24),
        "PLEDGEWATCH_LEDGER__COMMITMENT_SALT": "salt-" + secrets.token_hex(24),
    }
    env = {
        key: value
        for key, value in os.environ.items()
        # The parts read only what this fixture sets, never a developer's own settings.
        if not key.startswith("PLEDGEWATCH_")
    }
    env.update(chosen)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PLEDGEWATCH_MODE": "production",
            "PLEDGEWATCH_DB__URL": pg_url,
            "PLEDGEWATCH_DB__POOL_SIZE": "3",
            "PLEDGEWATCH_LEDGER__KIND": "embedded",
            "PLEDGEWATCH_LEDGER__KEY_DIR": str(tmp_path / "ledger-keys"),
        }
    )
    deployment = Deployment(pg_url, env, tmp_path, chosen)
    try:
        yield deployment
    finally:
        deployment.stop_all()


@pytest.fixture
def deployment(db_deployment: Deployment, mqtt_url: str) -> Deployment:
    """`db_deployment` plus the test Mosquitto (MQTT v5, no embedded broker)."""
    db_deployment.env.update(
        {
            "PLEDGEWATCH_MQTT__URL": mqtt_url,
            "PLEDGEWATCH_MQTT__PROTOCOL": "v5",
            "PLEDGEWATCH_MQTT__EMBEDDED_BROKER": "false",
        }
    )
    return db_deployment
