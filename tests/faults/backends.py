"""Private back-ends a fault may restart: a PostgreSQL cluster and a Mosquitto broker of one test.

The shared test services (scripts/test-services.sh) are never stopped: a test that restarts
PostgreSQL or Mosquitto starts its own instance on a free port, set up the way that script sets
up the shared ones (initdb and pg_ctl as the postgres user; Mosquitto with a password file and
ACLs from `pledgewatch readers acl`), and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from services.ingest.acl import ReaderAccount, write_broker_files
from services.ingest.mqtturl import BrokerAddress, parse_mqtt_url
from tests.production.conftest import Deployment, free_port

READY_TIMEOUT_S = 60.0
WORKER_USER = "ingest"


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; as root its tools run as the postgres system user.
    return ["runuser", "-u", "postgres", "--", *command] if _is_root() else command


def wait_until(check: object, timeout: float, what: str, poll: float = 0.1) -> float:
    """Poll `check()` until it is true; return the seconds it took, or raise on timeout."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1 that only this test uses."""

    home: Path
    port: int
    password: str
    bin_dir: Path
    user: str = "pledgewatch"
    database: str = "pledgewatch"

    @classmethod
    def create(cls, tmp_path: Path) -> PrivatePostgres:
        """initdb a cluster with a login role and a database, and start it."""
        bin_dir = _pg_bin()
        if bin_dir is None:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/postgres: install postgresql")
        # The postgres user cannot enter root's pytest folders: as root the cluster lives in a
        # folder of its own under /var/tmp (removed by `remove`), as test-services.sh does.
        if _is_root():
            home = Path(tempfile.mkdtemp(prefix="pledgewatch-fault-pg-", dir="/var/tmp"))
            shutil.chown(home, "postgres", "postgres")
        else:
            home = tmp_path / "pg"
            home.mkdir()
        home.chmod(0o700)
        cluster = cls(home, free_port(), secrets.token_hex(16), bin_dir)
        cluster._init()
        cluster.start()
        cluster._create_role()
        return cluster

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.home / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    def _run(self, *command: str, stdin: str | None = None) -> None:
        subprocess.run(
            _as_postgres([str(self.bin_dir / command[0]), *command[1:]]),
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
            cwd="/",
            timeout=READY_TIMEOUT_S,
        )

    def _init(self) -> None:
        socket_dir = self.home / "run"
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        )
        conf = (
            "\n# pledgewatch fault-injection cluster: disposable, so durability is off.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "max_connections = 100\nlog_min_messages = warning\n"
        )
        subprocess.run(
            _as_postgres(["mkdir", "-p", str(socket_dir)]), check=True, cwd="/", timeout=10
        )
        subprocess.run(
            _as_postgres(["tee", "-a", str(self.data / "postgresql.conf")]),
            input=conf,
            text=True,
            check=True,
            capture_output=True,
            cwd="/",
            timeout=10,
        )

    def _create_role(self) -> None:
        sql = (
            f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}';\n"
            f"CREATE DATABASE {self.database} OWNER {self.user};\n"
        )
        self._run(
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.home / "run"),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            stdin=sql,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections on its port."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.home / "postgres.log"),
            "-o",
            f"-p {self.port}",
            "-w",
            "-t",
            str(int(READY_TIMEOUT_S)),
            "start",
        )
        wait_until(self.ready, READY_TIMEOUT_S, f"PostgreSQL on port {self.port}")

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended, as in a restart of the real thing)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def ready(self) -> bool:
        """Whether pg_isready reports the server accepting connections."""
        done = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
            timeout=10,
        )
        return done.returncode == 0

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()  # raises when it is stopped already
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class PrivateBroker:
    """A Mosquitto of one test: reader accounts and ACLs made by `pledgewatch readers acl`."""

    home: Path
    port: int
    worker_password: str
    readers: dict[str, ReaderAccount]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @classmethod
    def create(cls, tmp_path: Path, readers: list[tuple[str, str]]) -> PrivateBroker:
        """Write the broker's files for these (warehouse code, reader id) pairs and start it."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError("mosquitto is not installed")
        home = tmp_path / "mqtt"
        (home / "data").mkdir(parents=True)
        home.chmod(0o700)
        accounts = {
            reader_id: ReaderAccount(code, reader_id, secrets.token_hex(12))
            for code, reader_id in readers
        }
        broker = cls(home, free_port(), secrets.token_hex(12), accounts)
        write_broker_files(list(accounts.values()), WORKER_USER, broker.worker_password, home)
        broker._write_config()
        broker.start()
        return broker

    @property
    def url(self) -> str:
        """The worker account's URL."""
        return f"mqtt://{WORKER_USER}:{self.worker_password}@127.0.0.1:{self.port}"

    @property
    def worker(self) -> BrokerAddress:
        """The worker account's address."""
        return parse_mqtt_url(self.url)

    def _write_config(self) -> None:
        user = pwd.getpwuid(os.getuid()).pw_name
        lines = [
            "# pledgewatch fault-injection broker",
            f"user {user}",
            "persistence true",
            f"persistence_location {self.home / 'data'}/",
            f"log_dest file {self.home / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.home / 'passwords'}",
            f"acl_file {self.home / 'acl'}",
        ]
        (self.home / "mosquitto.conf").write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start the broker and wait until the worker account can connect."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.home / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.starts += 1
        wait_until(self.ready, READY_TIMEOUT_S, f"Mosquitto on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker; on SIGTERM it writes its persistent sessions to disk first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        self.proc = None

    def ready(self) -> bool:
        """Whether the worker account can connect."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.proc.returncode}")
        probe = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fault-probe-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        probe.username_pw_set(WORKER_USER, self.worker_password)
        try:
            probe.connect("127.0.0.1", self.port, keepalive=5)
            probe.disconnect()
        except OSError:
            return False
        return True

    def remove(self) -> None:
        """Stop the broker; its folder goes with the test's tmp_path."""
        self.stop()


@dataclass
class Backends:
    """A deployment's private PostgreSQL and Mosquitto, and an engine on its database."""

    postgres: PrivatePostgres
    broker: PrivateBroker
    deployment: Deployment
    engine: Engine

    def stop_parts(self) -> None:
        """Stop every part at once (SIGTERM to all, then wait), not one after the other."""
        running = [p for p in self.deployment.parts if p.proc.poll() is None]
        for part in running:
            part.proc.send_signal(signal.SIGTERM)
        for part in running:
            part.stop()
