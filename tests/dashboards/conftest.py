"""A running service with an active loan, a second warehouse operator and a second SME."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from loans import servicing
from pledge.parties import OrgKind
from services.uow import SqlUnitOfWork
from tests.api.conftest import Service, make_service
from tests.api.story_steps import World, add_org, expect, shared_world, site
from tests.dashboards.pages import Browser, browser


@dataclass
class Town:
    """The shared world, everyone signed in to the pages, and the other operator's bay."""

    world: World
    warehouse: Browser
    sme: Browser
    bank: Browser
    rival_warehouse: Browser
    rival_sme: Browser
    rival_bay: dict[str, Any]

    @property
    def service(self) -> Any:
        """The running service."""
        return self.world.service

    @property
    def loan_id(self) -> str:
        """The active loan's id."""
        return str(self.world.deal.loan["id"])


def build_town(world: World) -> Town:
    """Add a rival warehouse operator (with a bay) and a rival SME, and sign everyone in."""
    service = world.service
    rival_wh = add_org(service, "southport", OrgKind.WAREHOUSE, "SouthportMSP", "south.operator")
    add_org(service, "globex", OrgKind.SME, "GlobexMSP", "globex.clerk")
    rival_site = site(service.client, rival_wh)
    return Town(
        world=world,
        warehouse=browser(service, "warehouse.operator"),
        sme=browser(service, "acme.clerk"),
        bank=browser(service, "bank1.officer"),
        rival_warehouse=browser(service, "south.operator"),
        rival_sme=browser(service, "globex.clerk"),
        rival_bay=rival_site.bay,
    )


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite and on PostgreSQL."""
    yield from make_service(database_url, tmp_path)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    """One service per test module: an active loan, an open release order, a free lot."""
    for world in shared_world(tmp_path_factory):
        yield build_town(world)


def backdate_loan(service: Any, loan_id: str, days: int) -> int:
    """Pretend the loan was paid out `days` ago and run the daily interest job for today."""
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        loan = uow.loans.get(loan_id)
        assert loan is not None and loan.disbursed_at is not None
        loan.disbursed_at -= timedelta(days=days)
        loan.accrued_through = loan.disbursed_at.date() - timedelta(days=1)
        uow.commit()
    today = service.container.context().now.date()
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        return servicing.accrue_all(uow, today)


def api_loan(service: Any, headers: dict[str, str], loan_id: str) -> dict[str, Any]:
    """The loan as the API shows it."""
    return dict(expect(service.client.get(f"/loans/{loan_id}", headers=headers), 200))
