"""The ledger port: what the service needs from any ledger, embedded or Fabric."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class LedgerError(Exception):
    """Base of every ledger failure."""


class Rejected(LedgerError):
    """The contract refused the transaction; retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Conflict(LedgerError):
    """A concurrent transaction changed what this one read (MVCC); resubmit."""


class Unavailable(LedgerError):
    """The ledger could not be reached or did not answer in time; retry later."""


@dataclass(frozen=True)
class Submission:
    """A transaction to submit: deterministic id, function, JSON args and who signs it."""

    tx_id: str
    fn: str
    args: Mapping[str, Any]
    submitter_msp: str
    # Organisations whose endorsement the transaction carries besides the submitter.
    endorsers: tuple[str, ...] = ()
    timestamp: str = ""


@dataclass(frozen=True)
class SubmitResult:
    """A committed transaction."""

    tx_id: str
    block_number: int
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerEvent:
    """A chaincode event from a committed block, in commit order."""

    block_number: int
    tx_id: str
    name: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class VerifyReport:
    """Result of re-checking the chain; first_broken names the first bad block, if any."""

    ok: bool
    blocks: int
    first_broken: int | None = None
    reason: str = ""


class LedgerPort(Protocol):
    """Submit, evaluate, stream events from a checkpoint, and verify."""

    def submit(self, submission: Submission) -> SubmitResult:
        """Endorse, order and commit; idempotent on tx_id. Raises Rejected/Conflict/Unavailable."""
        ...

    def evaluate(self, fn: str, args: Mapping[str, Any], msp_id: str) -> Any:
        """Run a read-only query and return its decoded result."""
        ...

    def events(self, after_block: int) -> Iterator[LedgerEvent]:
        """Events of blocks numbered above after_block, oldest first."""
        ...

    def verify(self) -> VerifyReport:
        """Re-check the chain; embedded ledgers check hashes and signatures."""
        ...
