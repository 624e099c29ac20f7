"""The small stub interface the contract is written against; each runtime provides one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Creator:
    """Who submitted the transaction: their MSP (organisation) and its role on the network."""

    msp_id: str
    role: str  # "bank", "warehouse", "sme" or "auditor"


@dataclass(frozen=True)
class HistoryEntry:
    """One past value of a key, as written by a committed transaction."""

    tx_id: str
    timestamp: str
    value: bytes | None
    is_delete: bool


class Stub(Protocol):
    """World-state access and transaction facts for one transaction."""

    @property
    def tx_id(self) -> str:
        """Transaction id of the running transaction."""
        ...

    @property
    def tx_timestamp(self) -> str:
        """Client-chosen timestamp, ISO 8601 UTC; never read the wall clock in the contract."""
        ...

    def creator(self) -> Creator:
        """Identity of the submitter."""
        ...

    def get_state(self, key: str) -> bytes | None:
        """Committed value of key, or None."""
        ...

    def put_state(self, key: str, value: bytes) -> None:
        """Write key in this transaction's write set."""
        ...

    def del_state(self, key: str) -> None:
        """Delete key in this transaction's write set."""
        ...

    def get_state_by_range(self, start: str, end: str) -> Iterable[tuple[str, bytes]]:
        """Committed keys in [start, end), ordered."""
        ...

    def get_history(self, key: str) -> Iterable[HistoryEntry]:
        """Every committed value of key, oldest first."""
        ...

    def set_event(self, name: str, payload: bytes) -> None:
        """Emit the transaction's event (one per transaction, as on Fabric)."""
        ...
