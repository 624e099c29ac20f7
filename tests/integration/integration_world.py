"""The parties and fixed clock the integration tests share, and a helper to create them in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context
from services.identity.service import create_org

# A fixed, timezone-aware moment: the use cases read the time only from their Context.
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LIEN_SECRET = b"integration-lien-secret-0123456789abcdef"
COMMIT_SECRET = b"integration-commit-secret-0123456789abcd"

# Cheap hashing keeps user creation fast; production parameters are tested elsewhere.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

ORGS = (
    ("bank1", "First Harbour Bank", OrgKind.BANK, "Bank1MSP"),
    ("bank2", "Second Delta Bank", OrgKind.BANK, "Bank2MSP"),
    ("northport", "Northport Logistics", OrgKind.WAREHOUSE, "WarehouseMSP"),
    ("acme", "Acme Steel Trading", OrgKind.SME, "AcmeMSP"),
)


@dataclass(frozen=True)
class Parties:
    """One acting officer per organisation kind the story needs."""

    bank: Actor
    other_bank: Actor
    warehouse: Actor
    sme: Actor


def context_at(moment: datetime) -> Context:
    """A use-case context frozen at `moment`, with the test secrets."""
    return Context(now=moment, lien_secret=LIEN_SECRET, commit_secret=COMMIT_SECRET)


def context_on_day(days_after_start: int) -> Context:
    """A use-case context the given number of days after START."""
    return context_at(START + timedelta(days=days_after_start))


def create_parties(session_factory: sessionmaker[Session]) -> Parties:
    """Register the demo organisations (tables have foreign keys to them) and return actors."""
    with session_factory() as session:
        for org_id, name, kind, msp in ORGS:
            create_org(session, org_id, name, kind, msp)
        session.commit()
    officers = {
        org_id: Actor(org_id, kind, msp, frozenset({Role.OFFICER})) for org_id, _, kind, msp in ORGS
    }
    return Parties(
        bank=officers["bank1"],
        other_bank=officers["bank2"],
        warehouse=officers["northport"],
        sme=officers["acme"],
    )
