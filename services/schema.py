"""Every table of the service registered on one metadata, for migrations and tests."""

from __future__ import annotations

from sqlalchemy import MetaData


def load_metadata() -> MetaData:
    """Import every table module and return the shared metadata."""
    # Imported for their side effect: each module registers its tables on services.db.metadata.
    import services.api.idempotency
    import services.identity.tables
    import services.ledger.embedded_tables
    import services.ledger.tables
    import services.uow  # maps the pledge and loans dataclasses onto their tables
    from services.db import metadata

    _ = (
        services.api.idempotency,
        services.identity.tables,
        services.ledger.embedded_tables,
        services.ledger.tables,
        services.uow,
    )
    return metadata
