"""Helpers of the alert tests: raising alerts as a worker would, and loopback ports."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pledge.alert_service import raise_unauthorised_movement
from pledge.alerts import Alert, evidence
from services.uow import SqlUnitOfWork
from tests.api.conftest import Service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SNAPSHOT_SHA = "ab" * 32


def movement(
    service: Service,
    *org_ids: str,
    lot_id: str = "lot-1",
    now: datetime = T0,
    epcs: tuple[str, ...] = ("E1",),
) -> list[Alert]:
    """Report pledged goods leaving bay A1 without an order, as the tag worker will."""
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        return raise_unauthorised_movement(
            uow,
            now,
            org_ids=org_ids or ("bank1",),
            warehouse_id="wh-1",
            bay_id="bay-A1",
            lot_id=lot_id,
            epcs=epcs,
            proof=[evidence("snapshot", f"file:///evidence/{lot_id}.jpg", SNAPSHOT_SHA)],
        )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Receiver:
    """A webhook receiver on loopback: answers with scripted statuses and keeps every request."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    # When each request arrived (time.monotonic), in the order of `requests`.
    arrivals: list[float] = field(default_factory=list)
