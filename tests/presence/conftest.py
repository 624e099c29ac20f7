"""Fixtures of the presence tests: the test broker, services, a live server and a receiver."""

from __future__ import annotations

from tests.alerts.conftest import live_url, receiver, sqlite_service
from tests.api.conftest import service
from tests.ingest.conftest import mqtt_broker

__all__ = ["live_url", "mqtt_broker", "receiver", "service", "sqlite_service"]
