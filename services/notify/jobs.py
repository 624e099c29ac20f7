"""Scheduled alert work: escalate what nobody acknowledged, and send the webhooks owed."""

from __future__ import annotations

import logging

import httpx

from pledge.alert_service import escalate_overdue
from services.bootstrap import Container
from services.notify.webhooks import WebhookSender
from services.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def escalate_job(container: Container) -> int:
    """Escalate every open alert left unacknowledged past its severity's delay."""
    with SqlUnitOfWork.start(container.session_factory) as uow:
        escalated = escalate_overdue(uow, container.context().now)
    if escalated:
        log.info("escalated %d unacknowledged alert(s)", len(escalated))
    return len(escalated)


def deliver_webhooks_job(container: Container) -> int:
    """Send the webhook deliveries that are due; failures wait for their backoff."""
    try:
        with httpx.Client(follow_redirects=False) as client:
            return WebhookSender(container.session_factory, client).run_due()
    except Exception:
        # A failing run must not kill the scheduler; every pending row is retried next run.
        log.exception("webhook delivery run failed")
        return 0
