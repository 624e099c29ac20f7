"""Every table of the service registered on one metadata, for migrations and tests."""

from __future__ import annotations

from importlib import import_module

from sqlalchemy import MetaData

# Modules that register tables on services.db.metadata when imported; add new ones here.
TABLE_MODULES = (
    "dashboards.sme_requests",
    "pledge.alert_tables",
    "pledge.epcis_tables",
    "pledge.reconcile_requests",
    "services.api.idempotency",
    "services.cameras.tables",
    "services.identity.tables",
    "services.ingest.tables",
    "services.ingest.placement",
    "services.ingest.devices",
    "services.ledger.embedded_tables",
    "services.ledger.tables",
    "services.notify.tables",
    "services.scheduler_tables",
    "services.uow",  # maps the pledge and loans dataclasses onto their tables
)


def load_metadata() -> MetaData:
    """Import every table module and return the shared metadata."""
    for name in TABLE_MODULES:
        import_module(name)
    from services.db import metadata

    return metadata
