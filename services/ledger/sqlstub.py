"""A contract stub over the embedded ledger's tables: committed reads, buffered writes."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaincode.canonical import canonical_json
from chaincode.errors import ContractError
from chaincode.stub import Creator, HistoryEntry
from services.ledger.embedded_tables import LedgerBlock, LedgerState


class SqlStub:
    """Stub for one transaction; reads see committed state only, as on a Fabric peer."""

    def __init__(
        self,
        session: Session,
        *,
        tx_id: str,
        timestamp: str,
        creator: Creator,
        read_only: bool = False,
    ) -> None:
        self._session = session
        self._tx_id = tx_id
        self._timestamp = timestamp
        self._creator = creator
        self._read_only = read_only
        self._writes: dict[str, str | None] = {}
        self._event: tuple[str, str] | None = None

    @property
    def tx_id(self) -> str:
        """Transaction id of the running transaction."""
        return self._tx_id

    @property
    def tx_timestamp(self) -> str:
        """Client-chosen timestamp of the transaction, ISO 8601 UTC."""
        return self._timestamp

    @property
    def writes(self) -> dict[str, str | None]:
        """The write set so far: key to new value text, or None for a deletion."""
        return dict(self._writes)

    @property
    def event(self) -> tuple[str, str] | None:
        """The event set by the transaction as (name, payload text), if any."""
        return self._event

    def creator(self) -> Creator:
        """Identity of the submitter."""
        return self._creator

    def get_state(self, key: str) -> bytes | None:
        """Committed value of key, or None."""
        row = self._session.get(LedgerState, key)
        return None if row is None else row.value.encode("utf-8")

    def put_state(self, key: str, value: bytes) -> None:
        """Write key in this transaction's write set."""
        self._check_writable(key)
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError("INVALID_VALUE", f"value of {key!r} is not UTF-8") from exc
        self._writes[key] = text

    def del_state(self, key: str) -> None:
        """Delete key in this transaction's write set."""
        self._check_writable(key)
        self._writes[key] = None

    def get_state_by_range(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Committed keys in [start, end), ordered; an empty end means no upper bound."""
        query = select(LedgerState).where(LedgerState.key >= start).order_by(LedgerState.key)
        if end:
            query = query.where(LedgerState.key < end)
        # Materialised so the caller may interleave other reads while iterating.
        rows = [(row.key, row.value.encode("utf-8")) for row in self._session.scalars(query)]
        return iter(rows)

    def get_history(self, key: str) -> Iterator[HistoryEntry]:
        """Every committed value of key, oldest first, read from the block log."""
        # Canonical JSON writes each key as '"key":', which narrows the scan cheaply;
        # the parsed write set below is what actually decides.
        needle = canonical_json(key).decode("utf-8") + ":"
        query = (
            select(LedgerBlock.tx_id, LedgerBlock.timestamp, LedgerBlock.writes)
            .where(LedgerBlock.writes.contains(needle, autoescape=True))
            .order_by(LedgerBlock.number)
        )
        entries: list[HistoryEntry] = []
        for tx_id, timestamp, writes_text in self._session.execute(query):
            writes = json.loads(writes_text)
            if key not in writes:
                continue
            value = writes[key]
            entries.append(
                HistoryEntry(
                    tx_id=tx_id,
                    timestamp=timestamp,
                    value=None if value is None else value.encode("utf-8"),
                    is_delete=value is None,
                )
            )
        return iter(entries)

    def set_event(self, name: str, payload: bytes) -> None:
        """Set the transaction's event; a later call replaces an earlier one, as on Fabric."""
        if self._read_only:
            return
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError("INVALID_EVENT", "event payload is not UTF-8") from exc
        self._event = (name, text)

    def _check_writable(self, key: str) -> None:
        if self._read_only:
            raise ContractError("READ_ONLY", "queries cannot change state")
        if not key:
            raise ContractError("INVALID_KEY", "state keys must not be empty")
