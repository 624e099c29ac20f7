"""Signed webhooks: subscriptions per org, HMAC-SHA256 signatures, and a retrying sender.

Each delivery is a row written with the alert, so a crash loses nothing: the sender claims due
rows, posts them, and logs every attempt. Receivers may see an event twice (at least once) and
deduplicate on the Idempotency-Key header, which is the event id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pledge.errors import Invalid, NotFound
from services.notify.store import event_document
from services.notify.tables import (
    AlertEventRow,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pledgewatch-Signature"
DEFAULT_TOLERANCE = 300  # seconds a signed timestamp stays acceptable, against replays


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """For receivers: whether the body was signed with the secret within `tolerance` seconds."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rsplit("v1=", 1)[1]
    # Several v1 values are accepted so a secret can be rotated without a gap.
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


def check_url(url: str) -> str:
    """Accept only absolute http(s) URLs with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("invalid_webhook_url", "a webhook URL must be absolute http(s) with a host")
    return url


def subscribe(
    session: Session, org_id: str, url: str, description: str, now: datetime
) -> WebhookSubscription:
    """Register a webhook for an organisation; its new secret is on the returned row."""
    row = WebhookSubscription(
        id=uuid.uuid4().hex,
        org_id=org_id,
        url=check_url(url),
        secret=secrets.token_urlsafe(32),
        description=description,
        active=True,
        created_at=now,
    )
    session.add(row)
    session.commit()
    return row


def subscriptions(session: Session, org_id: str) -> list[WebhookSubscription]:
    """An organisation's active webhooks, oldest first."""
    stmt = select(WebhookSubscription).filter_by(org_id=org_id, active=True)
    return list(session.scalars(stmt.order_by(WebhookSubscription.created_at)))


def unsubscribe(session: Session, org_id: str, subscription_id: str) -> None:
    """Stop a webhook; its deliveries stay in the log, pending ones are cancelled when due."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.org_id != org_id or not row.active:
        raise NotFound("webhook_not_found", f"no webhook {subscription_id}")
    row.active = False
    session.commit()


def body_of(event: AlertEventRow) -> bytes:
    """The exact bytes sent and signed: canonical JSON of the event."""
    document = event_document(event)
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class WebhookSender:
    """Posts due deliveries, logs each attempt, and backs off exponentially on failure."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        client: httpx.Client,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        base_delay: timedelta = timedelta(seconds=5),
        max_delay: timedelta = timedelta(hours=1),
        max_attempts: int = 10,
        lease: timedelta = timedelta(seconds=60),
        timeout: float = 10.0,
    ) -> None:
        self._sessions = session_factory
        self._client = client
        self._clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self._lease = lease
        self._timeout = timeout

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: base, then doubling, up to the cap."""
        return min(self.base_delay * (1 << (attempts - 1)), self.max_delay)

    def run_due(self, limit: int = 100) -> int:
        """Send every delivery that is due now; returns how many were attempted."""
        attempted = 0
        for delivery_id in self._due(limit):
            if self._claim(delivery_id):
                self._attempt(delivery_id)
                attempted += 1
        return attempted

    def _due(self, limit: int) -> list[str]:
        with self._sessions() as session:
            stmt = (
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "pending")
                .where(WebhookDelivery.next_attempt_at <= self._clock())
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    def _claim(self, delivery_id: str) -> bool:
        # A lease instead of a lock: another sender skips the row while it is being sent, and
        # if this process dies mid-send the lease runs out and the row is sent again.
        now = self._clock()
        with self._sessions() as session:
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .where(WebhookDelivery.status == "pending")
                .where(WebhookDelivery.next_attempt_at <= now)
                .values(next_attempt_at=now + self._lease)
            )
            session.commit()
            return bool(getattr(result, "rowcount", 0) == 1)

    def _attempt(self, delivery_id: str) -> None:
        with self._sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            event = session.get(AlertEventRow, delivery.event_seq)
            assert subscription is not None and event is not None
            if not subscription.active:
                delivery.status = "cancelled"
                session.commit()
                return
            url, secret = subscription.url, subscription.secret
            event_id, kind = event.event_id, event.kind
            body = body_of(event)
        # No transaction stays open while a receiver takes its time.
        started = self._clock()
        status, error, elapsed = self._post(url, secret, event_id, kind, delivery_id, body)
        with self._sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            delivery.attempts += 1
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    number=delivery.attempts,
                    at=started,
                    status_code=status,
                    error=error,
                    duration_ms=elapsed,
                )
            )
            if status is not None and 200 <= status < 300:
                delivery.status, delivery.delivered_at, delivery.last_error = (
                    "delivered",
                    started,
                    None,
                )
            else:
                delivery.last_error = error or f"HTTP {status}"
                if delivery.attempts >= self.max_attempts:
                    delivery.status = "failed"
                    log.warning(
                        "webhook delivery %s gave up after %d attempts",
                        delivery_id,
                        delivery.attempts,
                    )
                else:
                    delivery.next_attempt_at = started + self.backoff(delivery.attempts)
            session.commit()

    def _post(
        self, url: str, secret: str, event_id: str, kind: str, delivery_id: str, body: bytes
    ) -> tuple[int | None, str | None, int]:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "pledgewatch-webhooks/1",
            "Idempotency-Key": event_id,
            "X-Pledgewatch-Event": f"alert.{kind}",
            "X-Pledgewatch-Delivery": delivery_id,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        began = time.perf_counter()
        try:
            response = self._client.post(url, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000], _ms_since(began)
        error = None if response.is_success else response.text[:1000] or response.reason_phrase
        return response.status_code, error, _ms_since(began)


def _ms_since(began: float) -> int:
    return int((time.perf_counter() - began) * 1000)
