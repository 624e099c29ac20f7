"""A receiver on loopback checks our webhook signatures the way a bank's endpoint would.

The receiver is written from the documented scheme alone (HMAC-SHA256 with the subscription
secret over "<timestamp>." + body, header `t=<unix>,v1=<hex>`), not with our verify helper, so
the test proves the wire format and not just that the code agrees with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.notify.tables import WebhookAttempt, WebhookDelivery
from services.notify.webhooks import SIGNATURE_HEADER, WebhookSender
from tests.alerts.alert_helpers import movement
from tests.api.conftest import Service, make_service
from tests.api.story_steps import expect, parties

TOLERANCE = 300


@dataclass
class Verifier:
    """What the receiver knows: the subscription secret, its clock, the signatures it has seen."""

    secret: str = ""
    skew: float = 0.0
    seen: set[str] = field(default_factory=set)
    accepted: list[bytes] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def judge(self, header: str, body: bytes) -> tuple[int, str]:
        """Status and reason for one delivery."""
        fields: dict[str, list[str]] = {}
        for item in header.split(","):
            name, _, value = item.strip().partition("=")
            fields.setdefault(name, []).append(value)
        try:
            stamp = int(fields["t"][0])
        except (KeyError, ValueError):
            return 400, "no timestamp"
        if abs(time.time() + self.skew - stamp) > TOLERANCE:
            return 401, "stale timestamp"
        mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        given = fields.get("v1", [])
        if not any(hmac.compare_digest(mac.hexdigest(), v) for v in given):
            return 401, "bad signature"
        if mac.hexdigest() in self.seen:
            return 409, "replayed"
        self.seen.add(mac.hexdigest())
        return 204, "ok"


@pytest.fixture
def verifier() -> Iterator[tuple[Verifier, str]]:
    """A real HTTP receiver that verifies every POST; yields its state and URL."""
    state = Verifier()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get(SIGNATURE_HEADER, "")
            with lock:
                state.raw.append((dict(self.headers.items()), body))
                status, reason = state.judge(header, body)
                (state.accepted.append(body) if status == 204 else state.refusals.append(reason))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Service]:
    """The whole app on SQLite with the demo organisations."""
    yield from make_service(f"sqlite:///{tmp_path / 'hooks.sqlite3'}", tmp_path)


def subscribe(site: Service, url: str, org: str = "bank1") -> str:
    """A bank subscribes the receiver and learns the subscription's secret."""
    body = {"url": url, "description": "verifying receiver"}
    who = getattr(parties(site), org)
    created = expect(site.client.post("/webhooks", headers=who, json=body), 201)
    return str(created["secret"])


def test_a_genuine_delivery_is_accepted_and_replays_and_tampering_are_refused(
    site: Service, verifier: tuple[Verifier, str]
) -> None:
    state, url = verifier
    state.secret = subscribe(site, url)
    movement(site, "bank1")
    with httpx.Client() as client:
        assert WebhookSender(site.container.session_factory, client).run_due() == 1
    assert len(state.accepted) == 1 and state.refusals == []
    [(headers, body)] = state.raw
    signed = {SIGNATURE_HEADER: headers[SIGNATURE_HEADER], "Content-Type": "application/json"}

    def resend(content: bytes, header: dict[str, str] = signed) -> int:
        return httpx.post(url, content=content, headers=header).status_code

    # An eavesdropper replays the captured request exactly: the receiver has seen it.
    assert resend(body) == 409
    # Or changes the body under the captured signature: the MAC no longer matches.
    assert resend(body.replace(b"unauthorised_movement", b"reconciliation_mismatch")) == 401
    assert resend(body + b" ") == 401
    # Or replays it later, on a receiver that has forgotten it: the timestamp is too old.
    state.seen.clear()
    state.skew = TOLERANCE + 1
    assert resend(body) == 401
    # Or forges a fresh timestamp: the signature covers the timestamp too.
    stamp = int(time.time() + state.skew)
    signature = headers[SIGNATURE_HEADER].split(",", 1)[1]
    assert resend(body, {SIGNATURE_HEADER: f"t={stamp},{signature}"}) == 401
    assert state.refusals == [
        "replayed",
        "bad signature",
        "bad signature",
        "stale timestamp",
        "bad signature",
    ]
    assert len(state.accepted) == 1


def test_a_receiver_refusing_the_signature_makes_the_sender_retry_until_it_verifies(
    site: Service, verifier: tuple[Verifier, str]
) -> None:
    state, url = verifier
    secret = subscribe(site, url)
    # The receiver was configured with another subscription's secret (bank2's own hook).
    state.secret = subscribe(site, "http://127.0.0.1:9/elsewhere", org="bank2")
    assert state.secret != secret
    movement(site, "bank1")
    now = datetime.now(UTC)
    clock = {"now": now}
    with httpx.Client() as client:
        sender = WebhookSender(
            site.container.session_factory,
            client,
            clock=lambda: clock["now"],
            base_delay=timedelta(seconds=5),
        )
        assert sender.run_due() == 1
        state.secret = secret
        clock["now"] = now + timedelta(seconds=5)
        assert sender.run_due() == 1
    with site.container.session_factory() as session:
        statuses = [d.status for d in session.scalars(select(WebhookDelivery))]
        log = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        codes = [a.status_code for a in log]
    assert codes == [401, 204]
    assert statuses == ["delivered"]
    assert state.refusals == ["bad signature"] and len(state.accepted) == 1
