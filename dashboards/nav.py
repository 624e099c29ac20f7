"""Navigation per kind of organisation: each entry names a page route by its route name.

An entry whose route is not registered (a page not built yet) is left out, so the menu only
ever links to pages that exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.routing import NoMatchFound

from pledge.parties import OrgKind


@dataclass(frozen=True)
class NavEntry:
    """One link of the menu."""

    label: str
    route: str
    href: str = ""


MENUS: dict[OrgKind, tuple[NavEntry, ...]] = {
    OrgKind.BANK: (
        NavEntry("Loan book", "bank_loans"),
        NavEntry("Applications", "bank_applications"),
        NavEntry("Collateral", "bank_collateral"),
        NavEntry("Releases", "bank_releases"),
        NavEntry("Alerts", "alert_inbox"),
        NavEntry("Live checks", "bank_live_checks"),
    ),
    OrgKind.WAREHOUSE: (
        NavEntry("Floor", "warehouse_floor"),
        NavEntry("Cameras", "warehouse_cameras"),
        NavEntry("Readers", "warehouse_readers"),
        NavEntry("Reconciliation", "warehouse_reconciliation"),
        NavEntry("Releases", "warehouse_releases"),
        NavEntry("Alerts", "alert_inbox"),
    ),
    OrgKind.SME: (
        NavEntry("Receipts & offers", "sme_receipts"),
        NavEntry("Loans", "sme_loans"),
        NavEntry("Statements", "sme_statements"),
    ),
    OrgKind.AUDITOR: (
        NavEntry("Ledger", "auditor_ledger"),
        NavEntry("Event log", "auditor_events"),
    ),
}


def entries_for(request: Request, kind: OrgKind) -> list[NavEntry]:
    """The menu of one kind of organisation, with the pages that exist resolved to paths."""
    found = []
    for entry in MENUS.get(kind, ()):
        try:
            href = str(request.app.url_path_for(entry.route))
        except NoMatchFound:
            continue
        found.append(NavEntry(entry.label, entry.route, href))
    return found


def home_for(request: Request, kind: OrgKind) -> str:
    """Where a viewer of this kind lands after signing in: the first page of their menu."""
    entries = entries_for(request, kind)
    return entries[0].href if entries else "/ui/account"
