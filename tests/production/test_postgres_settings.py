"""PostgreSQL connections as the service opens them: durable commits and a bounded pool."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.bootstrap import build_container
from services.db import make_engine
from services.settings import Settings


def test_synchronous_commit_stays_on_even_when_the_connection_asks_for_off(pg_url: str) -> None:
    url = make_url(pg_url)
    options = url.query.get("options", "")
    # A role or server default of off would look like this to the session.
    lax = url.update_query_dict({"options": f"{options} -csynchronous_commit=off".strip()})
    raw = make_engine(lax.render_as_string(hide_password=False))
    try:
        with raw.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
            assert conn.execute(text("SHOW search_path")).scalar_one().startswith("test_")
    finally:
        raw.dispose()


def test_the_pool_follows_the_settings(pg_url: str) -> None:
    settings = Settings.model_validate(
        {"db": {"url": pg_url, "pool_size": 3, "max_overflow": 2, "pool_recycle_s": 600}}
    )
    container = build_container(settings)
    try:
        pool = container.engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 2  # type: ignore[attr-defined]
        assert pool._recycle == 600
        with container.engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    finally:
        container.close()
