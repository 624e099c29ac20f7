"""Alert latency: a pledged tag read at an exit gate → alert on the SSE stream and the webhook.

Each round publishes one gate read of a fresh pledged tag through Mosquitto, then times:
- raw:     the same message reaching a plain MQTT subscriber (the baseline, same run);
- sse:     the `alert.raised` event reaching bank1's /alerts/stream on a live uvicorn;
- webhook: the signed delivery reaching a receiver on loopback (sender polling every 20 ms).
It prints p50/p95 of each and the ratios sse/raw and webhook/raw. Each round's alerts are
resolved afterwards, so every round raises a new alert rather than repeating one.
Needs scripts/test-services.sh to have run (Mosquitto; the service runs on a SQLite file).

    uv run python bench/alert_latency.py [--rounds 40] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
# The story helpers of the test suite build the pledged loan exactly as the tests do.
sys.path.insert(0, str(REPO))

from bench._figures import Figure, Outcome, add_output_options, emit, percentile  # noqa: E402
from bench._services import mqtt_url  # noqa: E402
from services.ingest.acl import read_spec  # noqa: E402
from services.ingest.mqtturl import parse_mqtt_url  # noqa: E402
from services.ingest.topics import ROOT, Channel  # noqa: E402
from services.notify.webhooks import WebhookSender  # noqa: E402
from tests.alerts.alert_helpers import free_port  # noqa: E402
from tests.api.conftest import make_service  # noqa: E402
from tests.api.story_steps import expect  # noqa: E402
from tests.ingest.conftest import BrokerUnderTest  # noqa: E402
from tests.presence.presence_helpers import (  # noqa: E402
    ingesting,
    publish,
    reads_of,
    watched_loan,
)


def _broker() -> BrokerUnderTest:
    spec = Path(
        os.environ.get("PLEDGEWATCH_TEST_MQTT_READERS", "") or REPO / ".cache/mqtt/readers.csv"
    )
    accounts = read_spec(spec)
    return BrokerUnderTest(parse_mqtt_url(mqtt_url()), {a.reader_id: a for a in accounts})


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 95)


class _Arrivals:
    """Arrival times by key, with a condition to wait on."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._cond = threading.Condition()

    def mark(self, key: str) -> None:
        with self._cond:
            self.at.setdefault(key, time.monotonic())
            self._cond.notify_all()

    def wait(self, key: str, timeout: float = 10.0) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: key in self.at, timeout):
                raise TimeoutError(f"{key} did not arrive")
            return self.at[key]


def main() -> None:
    """Run the rounds and print (and write) the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    add_output_options(parser)
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    broker = _broker()
    folder = Path(tempfile.mkdtemp(prefix="alert-latency-"))
    services = make_service(f"sqlite:///{folder / 'bench.sqlite3'}", folder)
    service = next(services)
    try:
        samples = _run(service, broker, rounds)
    finally:
        services.close()
    emit(_outcome(samples, rounds), args.json)


def _outcome(samples: dict[str, list[float]], rounds: int) -> Outcome:
    raw = dict(zip((50, 95), _percentiles(samples["raw"]), strict=True))
    figures = []
    for name, label in (("sse", "alert on SSE stream"), ("webhook", "alert by signed webhook")):
        for q, value in zip((50, 95), _percentiles(samples[name]), strict=True):
            figures.append(
                Figure(
                    f"{label} p{q}",
                    value * 1000,
                    "ms",
                    raw[q] * 1000,
                    "same message, plain MQTT subscriber",
                    "lower",
                )
            )
    return Outcome(
        bench="alert_latency",
        title="Gate read of a pledged tag to alert delivered",
        figures=figures,
        params={"rounds": rounds, "webhook_poll_s": 0.02},
        notes=["service on SQLite, broker is the test Mosquitto; target: p95 within 2 s"],
    )


def _run(service: Any, broker: BrokerUnderTest, rounds: int) -> dict[str, list[float]]:
    w = watched_loan(service, broker)
    raw, sse, hooks = _Arrivals(), _Arrivals(), _Arrivals()
    hook_url = _receiver(hooks)
    expect(service.client.post("/webhooks", headers=w.who.bank1, json={"url": hook_url}), 201)
    base = _serve(service)
    stop = threading.Event()
    threading.Thread(target=_listen, args=(base, w.who.bank1, sse), daemon=True).start()
    threading.Thread(target=_deliver, args=(service, stop), daemon=True).start()
    subscriber = _raw_subscriber(broker, w.gate_reader.warehouse_code, raw)
    samples: dict[str, list[float]] = {"raw": [], "sse": [], "webhook": []}
    try:
        with ingesting(broker, service):
            time.sleep(0.5)
            for n in range(rounds):
                epc = w.epcs[n % len(w.epcs)]
                sent = publish(broker, w.gate_reader, reads_of(w.gate_reader.reader_id, epc))
                samples["raw"].append(raw.wait(epc) - sent)
                samples["sse"].append(sse.wait(epc) - sent)
                samples["webhook"].append(hooks.wait(epc) - sent)
                _resolve_all(service, w.who)
    finally:
        stop.set()
        subscriber.disconnect()
        subscriber.loop_stop()
    raw_p50, raw_p95 = _percentiles(samples["raw"])
    print(f"alert latency over {rounds} gate reads (seconds, p50 / p95):")
    print(f"  raw MQTT publish→receive   {raw_p50:.4f} / {raw_p95:.4f}   (baseline)")
    for name in ("sse", "webhook"):
        p50, p95 = _percentiles(samples[name])
        print(
            f"  {name:<26} {p50:.4f} / {p95:.4f}   "
            f"p95 = {p95 / raw_p95:.1f}x raw; {'within' if p95 <= 2 else 'OVER'} the 2 s target"
        )
    return samples


def _resolve_all(service: Any, who: Any) -> None:
    for headers in (who.bank1, who.wh):
        page = expect(service.client.get("/alerts", headers=headers, params={"state": "open"}), 200)
        for alert in page["items"]:
            service.client.post(
                f"/alerts/{alert['id']}/resolve", headers=headers, json={"note": "bench round"}
            )


def _raw_subscriber(broker: BrokerUnderTest, warehouse_code: str, got: _Arrivals) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(broker.worker.username, broker.worker.password)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        for read in json.loads(msg.payload)["reads"]:
            got.mark(read["epc"])

    client.on_message = on_message
    client.connect(broker.worker.host, broker.worker.port)
    client.subscribe(f"{ROOT}/{warehouse_code}/+/{Channel.READS.value}", qos=1)
    client.loop_start()
    time.sleep(0.3)
    return client


def _serve(service: Any) -> str:
    port = free_port()
    config = uvicorn.Config(service.client.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _listen(base: str, headers: dict[str, str], got: _Arrivals) -> None:
    with (
        httpx.Client(base_url=base, timeout=None) as http,
        http.stream("GET", "/alerts/stream", headers=headers) as stream,
    ):
        data = ""
        for line in stream.iter_lines():
            if line.startswith("data: "):
                data = line[len("data: ") :]
            elif not line and data:
                event = json.loads(data)
                if event["type"] == "alert.raised":
                    for epc in event["alert"]["subject"].get("epcs", "").split(","):
                        got.mark(epc)
                data = ""


def _deliver(service: Any, stop: threading.Event) -> None:
    with httpx.Client() as client:
        sender = WebhookSender(service.container.session_factory, client)
        while not stop.is_set():
            sender.run_due()
            stop.wait(0.02)


def _receiver(got: _Arrivals) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if event["type"] == "alert.raised":
                for epc in event["alert"]["subject"].get("epcs", "").split(","):
                    got.mark(epc)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the bench output clean."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


if __name__ == "__main__":
    main()
