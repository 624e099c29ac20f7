"""Ports the use cases need: repositories, the ledger command queue and the unit of work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pledge.model import Bay, Commodity, Lot, Movement, Receipt, ReleaseOrder, Warehouse
from pledge.parties import OrgKind

T = TypeVar("T")


class Repository(Protocol[T]):
    """Objects of one type, by id or by equality filters."""

    def get(self, ident: str) -> T | None:
        """The object with this id, or None."""
        ...

    def add(self, obj: T) -> None:
        """Track a new object; it is written on commit."""
        ...

    def find(self, **equals: Any) -> list[T]:
        """Objects whose named attributes equal the given values."""
        ...


class LedgerCommands(Protocol):
    """Queue of ledger transactions, written in the same DB transaction as local state."""

    def enqueue(
        self,
        *,
        org_id: str,
        kind: str,
        subject_type: str,
        subject_id: str,
        fn: str,
        args: Mapping[str, Any],
        submitter_msp: str,
        endorsers: Sequence[str] = (),
    ) -> str:
        """Queue a transaction and return its command id (the status to follow)."""
        ...


class OrgDirectory(Protocol):
    """What the domain may know about other organisations: their kind and ledger identity."""

    def kind_of(self, org_id: str) -> OrgKind | None:
        """The organisation's kind, or None when it does not exist."""
        ...

    def msp_of(self, org_id: str) -> str:
        """The ledger identity (MSP id) of an existing organisation."""
        ...


@dataclass(frozen=True)
class Context:
    """What a use case needs from outside besides its ports: the time and the keys."""

    now: datetime
    lien_secret: bytes
    commit_secret: bytes


class PledgeUnitOfWork(Protocol):
    """Everything a collateral use case touches, committed once."""

    @property
    def warehouses(self) -> Repository[Warehouse]:
        """The warehouses."""
        ...

    @property
    def bays(self) -> Repository[Bay]:
        """The bays."""
        ...

    @property
    def commodities(self) -> Repository[Commodity]:
        """The commodities."""
        ...

    @property
    def lots(self) -> Repository[Lot]:
        """The lots."""
        ...

    @property
    def receipts(self) -> Repository[Receipt]:
        """The receipts."""
        ...

    @property
    def orders(self) -> Repository[ReleaseOrder]:
        """The orders."""
        ...

    @property
    def movements(self) -> Repository[Movement]:
        """The movements."""
        ...

    @property
    def ledger(self) -> LedgerCommands:
        """The queue of ledger commands."""
        ...

    @property
    def orgs(self) -> OrgDirectory:
        """What the domain may know of other organisations."""
        ...

    def commit(self) -> None:
        """Write every change at once."""
        ...
