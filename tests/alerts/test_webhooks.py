"""Signed webhooks to a real receiver on loopback: verified, retried with backoff, never lost."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from services.db import make_engine, make_session_factory
from services.notify.tables import WebhookAttempt, WebhookDelivery
from services.notify.webhooks import SIGNATURE_HEADER, WebhookSender, sign, verify_signature
from tests.alerts.alert_helpers import T0, Receiver, movement
from tests.api.conftest import Service
from tests.api.story_steps import expect, parties


class Clock:
    """A clock the test moves by hand, so backoff is checked without waiting."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class ProcessDied(BaseException):
    """Stands for kill -9: nothing after it runs, no handler catches it."""


def die(request: httpx.Request) -> httpx.Response:
    """A transport that kills the sender while the request is in flight."""
    raise ProcessDied


def subscribe(service: Service, url: str) -> str:
    """Bank1 subscribes a webhook and gets its secret."""
    who = parties(service)
    body = {"url": url, "description": "ops pager"}
    created = expect(service.client.post("/webhooks", headers=who.bank1, json=body), 201)
    return str(created["secret"])


def attempts(service: Service) -> list[WebhookAttempt]:
    with service.container.session_factory() as session:
        return list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def deliveries(service: Service) -> list[WebhookDelivery]:
    with service.container.session_factory() as session:
        return list(session.scalars(select(WebhookDelivery)))


def test_the_receiver_gets_a_signed_delivery_it_can_verify(
    sqlite_service: Service, receiver: Receiver
) -> None:
    secret = subscribe(sqlite_service, receiver.url)
    alert = movement(sqlite_service, "bank1")[0]
    with httpx.Client() as client:
        assert WebhookSender(sqlite_service.container.session_factory, client).run_due() == 1

    [(headers, body)] = receiver.requests
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
    event = json.loads(body)
    assert (event["type"], event["alert"]["id"]) == ("alert.raised", alert.id)
    assert headers["idempotency-key"] == event["id"]
    tampered = body.replace(b"unauthorised_movement", b"reconciliation_mismatch")
    assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], tampered)
    assert not verify_signature("another-secret", headers[SIGNATURE_HEADER.lower()], body)
    assert [d.status for d in deliveries(sqlite_service)] == ["delivered"]


def test_a_signature_outside_the_tolerance_is_refused() -> None:
    body = b'{"id":"e1"}'
    old = int(time.time()) - 600
    assert not verify_signature("s", sign("s", old, body), body, tolerance=300)
    assert verify_signature("s", sign("s", old, body), body, tolerance=900)
    assert not verify_signature("s", "v1=deadbeef", body)


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_logged(
    sqlite_service: Service, receiver: Receiver
) -> None:
    subscribe(sqlite_service, receiver.url)
    movement(sqlite_service, "bank1")
    receiver.statuses = [500, 503]
    clock = Clock()
    base = timedelta(seconds=5)
    with httpx.Client() as client:
        sender = WebhookSender(
            sqlite_service.container.session_factory, client, clock=clock, base_delay=base
        )
        assert sender.run_due() == 1
        [delivery] = deliveries(sqlite_service)
        assert (delivery.status, delivery.next_attempt_at) == ("pending", T0 + base)
        assert sender.run_due() == 0  # not due before its backoff

        clock.now = T0 + base
        assert sender.run_due() == 1
        [delivery] = deliveries(sqlite_service)
        # The wait doubles after the second failure.
        assert delivery.next_attempt_at == T0 + base + 2 * base

        clock.now = delivery.next_attempt_at
        assert sender.run_due() == 1

    log = attempts(sqlite_service)
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, 503), (3, 200)]
    assert [a.at for a in log] == [T0, T0 + base, T0 + 3 * base]
    assert all(a.duration_ms >= 0 for a in log) and log[0].error is not None
    assert [d.status for d in deliveries(sqlite_service)] == ["delivered"]
    # Every try carried the same event id, so the receiver can drop the repeats.
    keys = {headers["idempotency-key"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1


def test_an_unreachable_receiver_is_logged_and_given_up_after_the_last_attempt(
    sqlite_service: Service, receiver: Receiver
) -> None:
    subscribe(sqlite_service, "http://127.0.0.1:9/unreachable")
    movement(sqlite_service, "bank1")
    clock = Clock()
    with httpx.Client() as client:
        sender = WebhookSender(
            sqlite_service.container.session_factory,
            client,
            clock=clock,
            base_delay=timedelta(seconds=1),
            max_attempts=2,
        )
        sender.run_due()
        clock.now = T0 + timedelta(seconds=1)
        sender.run_due()
        clock.now = T0 + timedelta(hours=1)
        assert sender.run_due() == 0
    log = attempts(sqlite_service)
    assert [a.status_code for a in log] == [None, None]
    assert all("Connect" in (a.error or "") for a in log)
    assert [d.status for d in deliveries(sqlite_service)] == ["failed"]


def test_pending_deliveries_survive_a_restart_and_a_crash_mid_send(
    sqlite_service: Service, receiver: Receiver, sqlite_url: str
) -> None:
    secret = subscribe(sqlite_service, receiver.url)
    movement(sqlite_service, "bank1", lot_id="lot-1")
    movement(sqlite_service, "bank1", lot_id="lot-2")
    factory = sqlite_service.container.session_factory
    clock = Clock()
    # A worker claims the first delivery, then its process dies in the middle of sending it.
    with httpx.Client(transport=httpx.MockTransport(die)) as client:
        crashed = WebhookSender(factory, client, clock=clock, lease=timedelta(seconds=60))
        with pytest.raises(ProcessDied):
            crashed.run_due()
    sqlite_service.container.close()

    # A new process: its own engine on the same database, and a fresh worker.
    engine = make_engine(sqlite_url)
    try:
        with httpx.Client() as client:
            restarted = WebhookSender(make_session_factory(engine), client, clock=clock)
            assert restarted.run_due() == 1  # the unclaimed one at once
            clock.now = T0 + timedelta(seconds=60)
            assert restarted.run_due() == 1  # the claimed one once its lease ran out
    finally:
        engine.dispose()
    lots = {json.loads(body)["alert"]["subject"]["lot_id"] for _, body in receiver.requests}
    assert lots == {"lot-1", "lot-2"}
    assert all(
        verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
        for headers, body in receiver.requests
    )


def test_a_deleted_webhook_gets_nothing_more(sqlite_service: Service, receiver: Receiver) -> None:
    who = parties(sqlite_service)
    client = sqlite_service.client
    subscribe(sqlite_service, receiver.url)
    [hook] = expect(client.get("/webhooks", headers=who.bank1), 200)
    assert "secret" not in hook
    assert expect(client.get("/webhooks", headers=who.bank2), 200) == []
    assert client.delete(f"/webhooks/{hook['id']}", headers=who.bank2).status_code == 404
    movement(sqlite_service, "bank1")
    assert client.delete(f"/webhooks/{hook['id']}", headers=who.bank1).status_code == 204
    with httpx.Client() as http:
        WebhookSender(sqlite_service.container.session_factory, http).run_due()
    assert receiver.requests == []
    assert [d.status for d in deliveries(sqlite_service)] == ["cancelled"]
    assert client.post("/webhooks", headers=who.sme, json={"url": receiver.url}).status_code == 403
    bad = client.post("/webhooks", headers=who.bank1, json={"url": "ftp://example.com/x"})
    assert bad.status_code == 422
