"""Alembic environment: online migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from services.db import make_engine
from services.schema import load_metadata

config = context.config
target_metadata = load_metadata()


def run_migrations() -> None:
    """Run migrations on one connection, in one transaction."""
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(str(url))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
