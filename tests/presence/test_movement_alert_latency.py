"""Gate reads of pledged tags reach the bank's SSE stream and its webhook with a p95 within 2 s.

Each round publishes one gate read of a fresh pledged tag through Mosquitto and times its
`alert.raised` on bank1's live stream and at bank1's webhook receiver; the round's alerts are
then resolved, so the next exit raises a new alert instead of repeating one.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

import httpx

from services.notify.webhooks import WebhookSender
from tests.alerts.alert_helpers import Receiver
from tests.alerts.test_alert_stream import next_event, wait_connected
from tests.api.conftest import Service
from tests.api.story_steps import Parties, expect
from tests.ingest.conftest import BrokerUnderTest
from tests.presence.presence_helpers import ingesting, publish, reads_of, wait_for, watched_loan

BOUND_S = 2.0
ROUNDS = 10


def p95(samples: list[float]) -> float:
    """The nearest-rank 95th percentile (with ten samples: the slowest one)."""
    ordered = sorted(samples)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def epcs_of(event: dict[str, Any]) -> list[str]:
    """The tags an `alert.raised` event names."""
    if event.get("type") != "alert.raised":
        return []
    return str(event["alert"]["subject"].get("epcs", "")).split(",")


def hooked_at(receiver: Receiver, epc: str) -> float | None:
    """When the first webhook naming this tag arrived, if one has."""
    for at, (_, body) in zip(receiver.arrivals, receiver.requests, strict=False):
        if epc in epcs_of(json.loads(body)):
            return at
    return None


def resolve_open_alerts(service: Service, who: Parties) -> None:
    """Close every open alert, so the next exit from the same lot raises a new one."""
    for headers in (who.bank1, who.wh):
        page = expect(service.client.get("/alerts", headers=headers, params={"state": "open"}), 200)
        for alert in page["items"]:
            note = {"note": "latency round"}
            expect(
                service.client.post(f"/alerts/{alert['id']}/resolve", headers=headers, json=note),
                200,
            )


def test_unauthorised_exits_reach_the_stream_and_the_webhook_with_a_p95_within_two_seconds(
    sqlite_service: Service, mqtt_broker: BrokerUnderTest, live_url: str, receiver: Receiver
) -> None:
    service = sqlite_service
    w = watched_loan(service, mqtt_broker)
    hook = {"url": receiver.url, "description": "latency"}
    expect(service.client.post("/webhooks", headers=w.who.bank1, json=hook), 201)
    streamed: dict[str, float] = {}
    live = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=live_url, timeout=30) as http,
            http.stream("GET", "/alerts/stream", headers=w.who.bank1) as stream,
        ):
            lines = stream.iter_lines()
            wait_connected(lines)
            live.set()
            while len(streamed) < ROUNDS:
                _, event = next_event(lines)
                for epc in epcs_of(event):
                    streamed.setdefault(epc, time.monotonic())

    def deliver() -> None:
        with httpx.Client() as client:
            sender = WebhookSender(service.container.session_factory, client)
            while not stop.is_set():
                sender.run_due()
                stop.wait(0.02)

    listener = threading.Thread(target=listen, daemon=True)
    sender = threading.Thread(target=deliver, daemon=True)
    listener.start()
    sender.start()
    to_stream: list[float] = []
    to_hook: list[float] = []
    try:
        with ingesting(mqtt_broker, service):
            assert live.wait(10), "the stream did not go live"
            for epc in w.epcs[:ROUNDS]:
                sent = publish(mqtt_broker, w.gate_reader, reads_of(w.gate_reader.reader_id, epc))
                wait_for(
                    lambda e=epc: e in streamed and hooked_at(receiver, e) is not None,
                    timeout=10,
                )
                to_stream.append(streamed[epc] - sent)
                to_hook.append((hooked_at(receiver, epc) or 0.0) - sent)
                resolve_open_alerts(service, w.who)
            listener.join(10)
    finally:
        stop.set()
        sender.join(10)

    assert len(to_stream) == len(to_hook) == ROUNDS
    assert p95(to_stream) < BOUND_S, sorted(to_stream)
    assert p95(to_hook) < BOUND_S, sorted(to_hook)
    first = json.loads(receiver.requests[0][1])
    assert first["type"] == "alert.raised"
    assert first["alert"]["type"] == "unauthorised_movement"
