"""An in-process MQTT broker (amqtt) for `pledgewatch run`: tag readers need no Mosquitto in dev.

amqtt speaks MQTT 3.1.1 only, so the ingest worker talks to it in v3.1.1 mode. The broker runs
its own asyncio event loop on a background thread, so the rest of the process stays synchronous.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from services.ingest.mqtturl import BrokerAddress

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# The name the ingest worker gives itself here; any name works, the broker checks no password.
WORKER_USERNAME = "pledgewatch-ingest"


class LoopbackAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """Let every client in; only those that give a username keep a persistent session."""

    @dataclass
    class Config:
        """No options."""

    async def authenticate(self, *, session: Session) -> bool | None:
        """Accept the client; mark it anonymous unless it named itself."""
        # amqtt drops the queued messages of anonymous sessions on disconnect, and its stock
        # anonymous plugin marks every client anonymous, so the worker's QoS 1 backlog would go.
        session.is_anonymous = not session.username
        return True


def broker_config(port: int) -> dict[str, Any]:
    """The amqtt configuration: one TCP listener on loopback, every client allowed in."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{port}"}},
        # No passwords is tolerable only because the listener is bound to loopback and this
        # broker exists for the dev `run`: reader identity and ACLs are Mosquitto's job.
        "plugins": {f"{__name__}.LoopbackAuthPlugin": {}},
    }


class EmbeddedBroker:
    """amqtt on 127.0.0.1:`port`, on its own thread and event loop; `start` and `stop` block."""

    def __init__(self, port: int = 1883, start_timeout_s: float = 10.0) -> None:
        """Prepare the broker; nothing listens until `start`."""
        self.port = port
        self._start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    @property
    def address(self) -> BrokerAddress:
        """Where clients connect (no account: the broker is anonymous)."""
        return BrokerAddress(LOOPBACK, self.port)

    @property
    def worker_address(self) -> BrokerAddress:
        """Where the ingest worker connects: named, so the broker keeps its session."""
        return BrokerAddress(LOOPBACK, self.port, WORKER_USERNAME)

    @property
    def running(self) -> bool:
        """Whether the broker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start listening; returns once the port accepts connections, raises if it cannot."""
        if self.running:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="mqtt-broker", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        started = asyncio.run_coroutine_threadsafe(self._start(), loop)
        try:
            started.result(self._start_timeout_s)
        except BaseException:
            self._halt_loop()
            raise
        log.info("embedded MQTT broker listening on %s", self.address.url())

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect every client, close the listener and end the thread."""
        if self._loop is None:
            return
        if self._broker is not None:
            stopped: Future[None] = asyncio.run_coroutine_threadsafe(
                self._broker.shutdown(), self._loop
            )
            try:
                stopped.result(timeout_s)
            except Exception:
                log.exception("the embedded MQTT broker did not shut down cleanly")
            self._broker = None
        self._halt_loop(timeout_s)
        log.info("embedded MQTT broker stopped")

    def __enter__(self) -> EmbeddedBroker:
        """Start on entering a `with` block."""
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop on leaving a `with` block."""
        self.stop()

    async def _start(self) -> None:
        # The broker binds its loop at construction, so it must be built on the broker thread.
        broker = Broker(broker_config(self.port))
        await broker.start()
        self._broker = broker

    def _halt_loop(self, timeout_s: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if not thread.is_alive():
            loop.close()
