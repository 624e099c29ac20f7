"""Demo organisations and logins for the embedded default (`make run`, `pledgewatch demo`)."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from pledge.parties import OrgKind, Role
from services.identity import service
from services.identity.tables import Org

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for newcomers; dev mode only


@dataclass(frozen=True)
class DemoOrg:
    """A demo organisation and the one person who acts for it."""

    id: str
    name: str
    kind: OrgKind
    msp_id: str
    username: str


DEMO_ORGS = (
    DemoOrg("bank1", "First Harbour Bank", OrgKind.BANK, "Bank1MSP", "bank1.officer"),
    DemoOrg("bank2", "Second Delta Bank", OrgKind.BANK, "Bank2MSP", "bank2.officer"),
    DemoOrg(
        "northport", "Northport Logistics", OrgKind.WAREHOUSE, "WarehouseMSP", "warehouse.operator"
    ),
    DemoOrg("acme", "Acme Steel Trading", OrgKind.SME, "AcmeMSP", "acme.clerk"),
    DemoOrg("audit", "Ledger Audit Partners", OrgKind.AUDITOR, "AuditorMSP", "auditor"),
)


def seed_demo(
    session_factory: sessionmaker[Session], hasher: PasswordHasher | None = None
) -> list[DemoOrg]:
    """Create the demo organisations and users that are missing; returns those created."""
    created = []
    with session_factory() as session:
        for demo in DEMO_ORGS:
            if session.get(Org, demo.id) is not None:
                continue
            service.create_org(session, demo.id, demo.name, demo.kind, demo.msp_id)
            roles = [Role.VIEWER] if demo.kind is OrgKind.AUDITOR else [Role.OFFICER, Role.ADMIN]
            service.create_user(
                session, demo.id, demo.username, DEMO_PASSWORD, roles, hasher=hasher
            )
            created.append(demo)
        session.commit()
    return created
