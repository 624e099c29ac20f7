"""The API service fixtures (SQLite and PostgreSQL), shared with the API suite, and the broker."""

from tests.api.conftest import service, sqlite_service
from tests.ingest.conftest import mqtt_broker

__all__ = ["mqtt_broker", "service", "sqlite_service"]
