"""Who acts: organisations by kind, and the acting user with their roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pledge.errors import Forbidden


class OrgKind(StrEnum):
    """The four kinds of organisation on the network."""

    BANK = "bank"
    WAREHOUSE = "warehouse"
    SME = "sme"
    AUDITOR = "auditor"


class Role(StrEnum):
    """Roles a user holds inside their own organisation."""

    ADMIN = "admin"  # manages the organisation's users and keys
    OFFICER = "officer"  # acts for the organisation: approves, receives, repays
    VIEWER = "viewer"  # reads only
    DEVICE = "device"  # a reader or camera using a machine API key


@dataclass(frozen=True)
class Actor:
    """The caller of a use case: their organisation, its kind and ledger identity, their roles."""

    org_id: str
    org_kind: OrgKind
    msp_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    user_id: str | None = None

    def require(self, kind: OrgKind, role: Role = Role.OFFICER) -> None:
        """Refuse unless the actor's organisation is of `kind` and they hold `role` (or better)."""
        self.require_any((kind,), role)

    def require_any(self, kinds: tuple[OrgKind, ...], role: Role = Role.OFFICER) -> None:
        """Refuse unless the actor's organisation is of one of `kinds` and they hold `role`."""
        if self.org_kind not in kinds:
            names = " or ".join(k.value for k in kinds)
            raise Forbidden("wrong_org_kind", f"only a {names} may do this")
        if not self.has(role):
            raise Forbidden("missing_role", f"this needs the {role.value} role")

    def has(self, role: Role) -> bool:
        """Whether the actor holds `role`; officers and admins may also read."""
        if role in self.roles or Role.ADMIN in self.roles:
            return True
        return role is Role.VIEWER and Role.OFFICER in self.roles
