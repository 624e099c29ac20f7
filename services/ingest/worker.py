"""The ingest worker: MQTT (QoS 1, persistent session) → batches → database, acked after commit.

Messages are acknowledged only after the transaction holding them has committed. A worker killed
at any moment therefore leaves its unacknowledged messages in its broker session; they come back
on reconnect, and the dedup key turns the ones that were already committed into no-ops.
The queue between the network thread and the writer is bounded: when the database falls behind,
the network thread blocks, TCP fills up and the broker holds (and persists) the messages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pledge.clock import CLOCK_SKEW
from services.ingest.batching import Batch
from services.ingest.mqtturl import BrokerAddress
from services.ingest.readers import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    known_readers,
    mark_silent_readers_offline,
)
from services.ingest.topics import SUBSCRIBE_ALL
from services.ingest.writer import write_batch

log = logging.getLogger(__name__)


class MqttProtocol(StrEnum):
    """MQTT version the worker speaks: v5 to Mosquitto, v3.1.1 to the embedded amqtt broker."""

    V5 = "v5"
    V311 = "v311"


@dataclass
class WorkerConfig:
    """How the worker connects, batches and checks reader presence."""

    broker: BrokerAddress
    client_id: str = "pledgewatch-ingest"
    subscription: str = SUBSCRIBE_ALL
    # The broker keeps the session (and queued messages) this long while the worker is away.
    session_expiry_s: int = 24 * 3600
    max_batch_messages: int = 100
    linger_s: float = 0.02
    queue_size: int = 400
    heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT
    # Reads stamped further ahead of the worker's clock are dead-lettered (reason clock_skew).
    max_future_skew: timedelta = CLOCK_SKEW
    presence_check_s: float = 5.0
    keepalive_s: int = 30
    protocol: MqttProtocol = MqttProtocol.V5
    # MQTT v5 shared subscription group (settings mqtt.share_group): the broker hands each
    # message to one worker of the group, so several workers split the load. Empty: none.
    share_group: str = field(default_factory=lambda: _configured_share_group())

    def topic_filter(self) -> str:
        """The filter to subscribe: `$share/<group>/<subscription>` when sharing, else as is."""
        if self.share_group and self.protocol is MqttProtocol.V5:
            return f"$share/{self.share_group}/{self.subscription}"
        return self.subscription


def _configured_share_group() -> str:
    # Read lazily: the worker takes no settings object, and importing settings is cheap.
    from services.settings import get_settings

    return get_settings().mqtt.share_group


@dataclass
class WorkerStats:
    """Counters since start, for logs and tests."""

    messages: int = 0
    reads_new: int = 0
    dead_letters: int = 0
    batches: int = 0
    write_errors: int = 0
    readers_timed_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Received:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


class IngestWorker:
    """Consume reader topics and write them to the database until stopped."""

    def __init__(self, config: WorkerConfig, engine: Engine) -> None:
        """Prepare the client; nothing connects until `run`."""
        self.config = config
        self.engine = engine
        self.stats = WorkerStats()
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._queue: queue.Queue[_Received] = queue.Queue(maxsize=config.queue_size)
        # Bumped on every (re)connect: message ids of an earlier connection must not be acked.
        self._generation = 0
        self._client = self._make_client()

    def stop(self) -> None:
        """Ask `run` to finish its current batch and return."""
        self._stop.set()

    def run(
        self,
        on_batch: Callable[[int], None] | None = None,
        on_status: Callable[[list[str]], None] | None = None,
    ) -> WorkerStats:
        """Connect, then write batches until `stop`; database errors are retried, never fatal.

        `on_batch` runs after each committed batch; `on_status` after readers changed status
        (a last will, a birth, or silence past the heartbeat timeout), with their ids.
        """
        cfg = self.config
        self._connect()
        self._client.loop_start()
        next_check = time.monotonic()
        try:
            while not self._stop.is_set():
                received = self._drain()
                changed: list[str] = []
                if received:
                    changed += self._commit_and_ack(received)
                    if on_batch is not None:
                        on_batch(len(received))
                if time.monotonic() >= next_check:
                    changed += self._check_presence()
                    next_check = time.monotonic() + cfg.presence_check_s
                if changed and on_status is not None:
                    self._report_status(on_status, changed)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
        return self.stats

    def _connect(self) -> None:
        cfg = self.config
        if cfg.protocol is MqttProtocol.V311:
            # 3.1.1 has no session expiry: clean_session=False keeps the session (and the QoS 1
            # messages queued for it) for as long as the broker itself keeps it.
            self._client.connect_async(cfg.broker.host, cfg.broker.port, cfg.keepalive_s)
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = cfg.session_expiry_s
        # Let the broker keep enough unacked messages in flight to fill a whole batch.
        props.ReceiveMaximum = min(cfg.max_batch_messages * 2, 65535)
        self._client.connect_async(
            cfg.broker.host, cfg.broker.port, cfg.keepalive_s, clean_start=False, properties=props
        )

    def _make_client(self) -> mqtt.Client:
        v311 = self.config.protocol is MqttProtocol.V311
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            # In 3.1.1 the persistent session is asked for at client creation, not at connect.
            clean_session=False if v311 else None,
            protocol=mqtt.MQTTv311 if v311 else mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.config.broker.username:
            client.username_pw_set(self.config.broker.username, self.config.broker.password)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    def _on_connect(self, client: mqtt.Client, _u: object, flags, reason, _p) -> None:  # type: ignore[no-untyped-def]
        if reason.is_failure:
            log.error("broker refused the ingest worker: %s", reason)
            return
        self._generation += 1
        if self.config.protocol is MqttProtocol.V5:
            # Subscribe on every connect, even to a session the broker says it kept: Mosquitto
            # 2.0 restores sessions but not their shared subscriptions after a restart, and the
            # worker would wait forever. Retained statuses come only with a new subscription.
            options = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB
            )
            client.subscribe(self.config.topic_filter(), options=options)
        elif not flags.session_present:
            client.subscribe(self.config.topic_filter(), qos=1)
        log.info(
            "ingest worker connected to %s (session present: %s)",
            self.config.broker.url(),
            flags.session_present,
        )
        self.ready.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f, reason, _p) -> None:  # type: ignore[no-untyped-def]
        self.ready.clear()
        if not self._stop.is_set():
            log.warning("ingest worker disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        item = _Received(self._generation, msg.mid, msg.qos, msg.topic, bytes(msg.payload))
        # Blocking here is the backpressure: the network thread stops reading the socket.
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _drain(self) -> list[_Received]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.config.linger_s
        while len(items) < self.config.max_batch_messages:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get_nowait()
                    if remaining <= 0
                    else self._queue.get(timeout=remaining)
                )
            except queue.Empty:
                break
            items.append(item)
        return items

    def _report_status(self, on_status: Callable[[list[str]], None], changed: list[str]) -> None:
        try:
            on_status(sorted(set(changed)))
        except Exception:
            # A failing reaction must not stop ingestion; the scheduled job catches up on it.
            log.exception("reacting to reader status changes failed")

    def _commit_and_ack(self, received: list[_Received]) -> list[str]:
        """Write and acknowledge; returns the readers whose birth or last will it recorded."""
        now = datetime.now(UTC)
        while True:
            try:
                with self.engine.connect() as conn:
                    known = known_readers(conn)
                batch = Batch(max_future_skew=self.config.max_future_skew)
                for item in received:
                    batch.add(item.topic, item.payload, now, known)
                self.stats.reads_new += write_batch(self.engine, batch)
                break
            except Exception:
                # The database is away or refused the batch: keep the messages unacked and retry;
                # dying here would only make the broker redeliver the same batch to the next run.
                self.stats.write_errors += 1
                log.exception("writing a batch of %d messages failed; retrying", len(received))
                if self._stop.wait(1.0):
                    return []
        self.stats.messages += len(received)
        self.stats.dead_letters += len(batch.dead_letters)
        self.stats.batches += 1
        for item in received:
            if item.qos > 0 and item.generation == self._generation:
                self._client.ack(item.mid, item.qos)
        return list(batch.statuses)

    def _check_presence(self) -> list[str]:
        try:
            with Session(self.engine) as session:
                gone = mark_silent_readers_offline(
                    session, datetime.now(UTC), self.config.heartbeat_timeout
                )
                session.commit()
        except Exception:
            log.exception("the reader presence check failed")
            return []
        if gone:
            log.warning("readers silent past the heartbeat timeout: %s", ", ".join(gone))
            self.stats.readers_timed_out.extend(gone)
        return gone
