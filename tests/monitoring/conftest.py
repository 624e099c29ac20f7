"""The API service fixtures (SQLite and PostgreSQL), shared with the API suite."""

from tests.api.conftest import service, sqlite_service

__all__ = ["service", "sqlite_service"]
