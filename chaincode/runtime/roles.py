"""The MSP -> role map: which role each organisation plays on the channel."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chaincode.access import AUDITOR, BANK, SME, WAREHOUSE

ROLES_ENV = "PLEDGEWATCH_ORG_ROLES"
KNOWN_ROLES = frozenset({BANK, WAREHOUSE, SME, AUDITOR})
DEFAULT_ORG_ROLES = "WarehouseMSP=warehouse,Bank1MSP=bank,Bank2MSP=bank"


class RoleMapError(ValueError):
    """The role map text is malformed or names an unknown role."""


def parse_org_roles(text: str) -> Mapping[str, str]:
    """Parse `MSP=role,MSP=role` into a read-only map; blanks and spaces are tolerated."""
    roles: dict[str, str] = {}
    for raw_item in text.split(","):
        item = raw_item.strip()
        if not item:
            continue
        msp_id, sep, role = (part.strip() for part in item.partition("="))
        if not sep or not msp_id or not role:
            raise RoleMapError(f"{ROLES_ENV}: expected MSP=role, got {item!r}")
        if role not in KNOWN_ROLES:
            raise RoleMapError(
                f"{ROLES_ENV}: unknown role {role!r} for {msp_id}; "
                f"expected one of {', '.join(sorted(KNOWN_ROLES))}"
            )
        if roles.get(msp_id, role) != role:
            raise RoleMapError(f"{ROLES_ENV}: {msp_id} is given two roles")
        roles[msp_id] = role
    if not roles:
        raise RoleMapError(f"{ROLES_ENV} names no organisation")
    return MappingProxyType(roles)
