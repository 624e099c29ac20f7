"""Fixtures of the bad-input corpus: one running service per database, shared by a module.

A refused request changes nothing, so the cases of one module share one service (with a loan
running and a camera watching a pledged bay) on SQLite and on PostgreSQL. The broker fixtures
are the ingest suite's, the production-process fixtures the production suite's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from services.cameras.wiring import STORE_KEY
from services.schema import load_metadata
from tests.api.conftest import Service, make_service
from tests.api.story_steps import World, world
from tests.cameras.camera_world import Watched, watched_deal
from tests.conftest import _fresh_postgres_url
from tests.ingest.conftest import mqtt_broker  # noqa: F401 - the broker fixture, shared
from tests.production.conftest import db_deployment, pg_url  # noqa: F401 - shared fixtures
from vision.evidence import FileStore


@dataclass
class Corpus:
    """The shared service, its parties and state, and a camera-watched pledged bay."""

    world: World
    watched: Watched

    @property
    def service(self) -> Service:
        """The service under test."""
        service: Service = self.world.service
        return service

    def snapshot(self) -> dict[str, int]:
        """Row counts of every table, in one query: a refused request must change none."""
        names = sorted(load_metadata().tables)
        columns = ", ".join(f'(SELECT count(*) FROM "{name}") AS "{name}"' for name in names)
        with self.service.container.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {columns}")).one()
        return dict(zip(names, (int(v) for v in row), strict=True))


def _corpus_on(url: str, folder: Path) -> Iterator[Corpus]:
    services = make_service(url, folder)
    service = next(services)
    # Camera evidence goes to the test's folder, as the camera suite keeps it.
    service.container.extras[STORE_KEY] = FileStore(folder / "evidence")
    service.container.settings.vision.key_dir = folder / "vision-keys"
    try:
        shared = world(service)
        yield Corpus(shared, watched_deal(service, shared.who))
    finally:
        services.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    """The shared service on SQLite and on PostgreSQL (a fresh schema), for one module."""
    folder = tmp_path_factory.mktemp(f"corpus-{request.param}")
    if request.param == "sqlite":
        yield from _corpus_on(f"sqlite:///{folder / 'pledgewatch.sqlite3'}", folder)
        return
    admin = request.getfixturevalue("_postgres_admin")
    for url in _fresh_postgres_url(admin):
        yield from _corpus_on(url, folder)
