"""The API service fixtures, shared with the EPCIS tests."""

from __future__ import annotations

from tests.api.conftest import service, sqlite_service

__all__ = ["service", "sqlite_service"]
