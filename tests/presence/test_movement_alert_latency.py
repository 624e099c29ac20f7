"""A gate read of a pledged tag reaches the bank's SSE stream and its webhook within 2 s."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from services.notify.webhooks import WebhookSender
from tests.alerts.alert_helpers import Receiver
from tests.alerts.test_alert_stream import next_event, wait_connected
from tests.api.conftest import Service
from tests.api.story_steps import expect
from tests.ingest.conftest import BrokerUnderTest
from tests.presence.presence_helpers import ingesting, publish, reads_of, wait_for, watched_loan

BOUND_S = 2.0


def test_an_unauthorised_exit_reaches_the_stream_and_the_webhook_within_two_seconds(
    sqlite_service: Service, mqtt_broker: BrokerUnderTest, live_url: str, receiver: Receiver
) -> None:
    service = sqlite_service
    w = watched_loan(service, mqtt_broker)
    hook = {"url": receiver.url, "description": "latency"}
    expect(service.client.post("/webhooks", headers=w.who.bank1, json=hook), 201)
    heard: dict[str, Any] = {}
    live = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=live_url, timeout=10) as http,
            http.stream("GET", "/alerts/stream", headers=w.who.bank1) as stream,
        ):
            lines = stream.iter_lines()
            wait_connected(lines)
            live.set()
            _, event = next_event(lines)
            heard["at"], heard["event"] = time.monotonic(), event

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
    try:
        with ingesting(mqtt_broker, service):
            assert live.wait(10), "the stream did not go live"
            payload = reads_of(w.gate_reader.reader_id, w.epcs[0])
            sent = publish(mqtt_broker, w.gate_reader, payload)
            wait_for(lambda: bool(receiver.requests), timeout=10)
            hooked_at = time.monotonic()
            listener.join(10)
    finally:
        stop.set()
        sender.join(10)

    assert heard["event"]["type"] == "alert.raised"
    assert heard["event"]["alert"]["type"] == "unauthorised_movement"
    assert heard["at"] - sent < BOUND_S
    assert hooked_at - sent < BOUND_S
    body = json.loads(receiver.requests[0][1])
    assert body["alert"]["id"] == heard["event"]["alert"]["id"]
