"""Readiness checks of the database, the MQTT broker and the ledger, and a probe server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text

from services.ingest.mqtturl import BrokerAddress, parse_mqtt_url

log = logging.getLogger(__name__)

Check = Callable[[], str]
CHECK_NAMES = ("db", "broker", "ledger")


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one readiness check."""

    name: str
    ok: bool
    detail: str
    seconds: float


def check_database(engine: Engine) -> Check:
    """A round trip to the database."""

    def run() -> str:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
        return "reachable"

    return run


def check_broker(url: str) -> Check:
    """An MQTT CONNECT answered by a CONNACK that accepts our credentials."""
    address = parse_mqtt_url(url)

    def run() -> str:
        return _mqtt_connack(address, timeout=3.0)

    return run


def _mqtt_connack(address: BrokerAddress, timeout: float) -> str:
    answered = threading.Event()
    outcome: dict[str, Any] = {}
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"pledgewatch-probe-{socket.gethostname()}-{threading.get_ident()}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        outcome["reason"] = reason
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=10)
        client.loop_start()
        if not answered.wait(timeout):
            raise TimeoutError(f"no CONNACK from {address.host}:{address.port}")
        reason = outcome["reason"]
        if reason.is_failure:
            raise ConnectionError(f"broker refused the connection: {reason}")
        return f"{address.host}:{address.port} accepted"
    finally:
        client.disconnect()
        client.loop_stop()


def check_ledger(container: Any) -> Check:
    """The ledger answers: Fabric reports its height; the embedded ledger reads its chain tip."""

    def run() -> str:
        ledger = container.ledger
        if ledger is None:
            container.connect_ledger()
            ledger = container.ledger
        height = getattr(ledger, "height", None)
        if callable(height):
            return f"height {height()}"
        from services.ledger.embedded_tables import LedgerBlock

        with container.session_factory() as session:
            tip = session.scalar(select(func.max(LedgerBlock.number)))
        return f"height {tip or 0}"

    return run


class Readiness:
    """Named checks run concurrently, each with a time limit."""

    def __init__(self, checks: Mapping[str, Check], timeout: float = 5.0) -> None:
        """Keep the checks; nothing runs until `run`."""
        self.checks = dict(checks)
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.checks)))

    def run(self) -> list[CheckResult]:
        """Run every check; a check that raises or overruns is reported failed."""
        futures = {
            name: (self._pool.submit(_timed, fn), time.monotonic())
            for name, fn in self.checks.items()
        }
        results = []
        for name, (future, _started) in futures.items():
            try:
                ok, detail, seconds = future.result(timeout=self.timeout)
            except FutureTimeout:
                ok, detail, seconds = False, f"no answer within {self.timeout:g}s", self.timeout
            results.append(CheckResult(name, ok, detail, round(seconds, 3)))
        return results

    def report(self) -> tuple[int, dict[str, Any]]:
        """HTTP status (200 or 503) and a body naming each check and the ones that failed."""
        results = self.run()
        failed = [r.name for r in results if not r.ok]
        body = {
            "status": "ok" if not failed else "unavailable",
            "failed": failed,
            "checks": {
                r.name: {"ok": r.ok, "detail": r.detail, "seconds": r.seconds} for r in results
            },
        }
        return (200 if not failed else 503), body


def _timed(fn: Check) -> tuple[bool, str, float]:
    started = time.monotonic()
    try:
        detail = fn()
        ok = True
    except Exception as exc:
        # The class and message only: the probe answer must not carry a traceback.
        detail = f"{type(exc).__name__}: {exc}"[:300]
        ok = False
    return ok, detail, time.monotonic() - started


def build_readiness(container: Any, names: list[str] | tuple[str, ...]) -> Readiness:
    """The readiness checks named in `names` (db, broker, ledger) for this process."""
    unknown = sorted(set(names) - set(CHECK_NAMES))
    if unknown:
        raise ValueError(f"unknown readiness checks: {', '.join(unknown)}")
    available: dict[str, Callable[[], Check]] = {
        "db": lambda: check_database(container.engine),
        "broker": lambda: check_broker(container.settings.mqtt.url),
        "ledger": lambda: check_ledger(container),
    }
    return Readiness({name: available[name]() for name in names})


class ProbeServer:
    """/healthz, /readyz and /metrics over plain HTTP for the processes that serve no API."""

    def __init__(self, readiness: Readiness, host: str = "0.0.0.0", port: int = 9464) -> None:  # noqa: S104
        """Bind now (port 0 picks a free one); serve after `start`."""
        self.readiness = readiness
        self.alive = True
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="probes", daemon=True
        )

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    def start(self) -> ProbeServer:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def _handler_for(server: ProbeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(
                    200 if server.alive else 503, {"status": "ok" if server.alive else "stopping"}
                )
            elif path == "/readyz":
                status, body = server.readiness.report()
                self._send(status, body)
            elif path == "/metrics":
                payload = generate_latest()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            else:
                self._send(404, {"status": "not found"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            # Probes hit every few seconds; their access lines are noise.
            return

    return Handler
