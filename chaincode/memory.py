"""An in-memory ledger: a pure runtime for the contract with buffered writes and a commit step."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chaincode.stub import Creator, HistoryEntry

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class MvccConflictError(Exception):
    """A key this transaction read was changed by a transaction committed in the meantime."""


class TransactionClosedError(Exception):
    """The transaction was already committed or discarded."""


@dataclass(frozen=True)
class CommittedTx:
    """A transaction as applied to the world state."""

    tx_id: str
    timestamp: str
    creator: Creator
    writes: tuple[tuple[str, bytes | None], ...]
    event: tuple[str, bytes] | None


@dataclass
class _Versioned:
    value: bytes
    version: int


class MemoryStub:
    """One transaction against a MemoryLedger: reads committed state, buffers its writes."""

    def __init__(self, ledger: MemoryLedger, tx_id: str, timestamp: str, creator: Creator) -> None:
        self.ledger = ledger
        self._tx_id = tx_id
        self._timestamp = timestamp
        self._creator = creator
        self._writes: dict[str, bytes | None] = {}
        # Versions seen by reads (None: absent), checked at commit as Fabric's MVCC does.
        self._reads: dict[str, int | None] = {}
        self._ranges: list[tuple[str, str, tuple[tuple[str, int], ...]]] = []
        self.event: tuple[str, bytes] | None = None
        self.closed = False

    @property
    def tx_id(self) -> str:
        """Transaction id of this transaction."""
        return self._tx_id

    @property
    def tx_timestamp(self) -> str:
        """Timestamp of this transaction, ISO 8601 UTC."""
        return self._timestamp

    def creator(self) -> Creator:
        """Identity of the submitter."""
        return self._creator

    def _open(self) -> None:
        if self.closed:
            raise TransactionClosedError(f"transaction {self._tx_id} is closed")

    def get_state(self, key: str) -> bytes | None:
        """Committed value of key; like Fabric, this transaction's own writes are not visible."""
        self._open()
        found = self.ledger._state.get(key)
        self._reads.setdefault(key, None if found is None else found.version)
        return None if found is None else found.value

    def put_state(self, key: str, value: bytes) -> None:
        """Buffer a write of key."""
        self._open()
        if not key:
            raise ValueError("key must not be empty")
        if not isinstance(value, bytes):
            raise TypeError("value must be bytes")
        self._writes[key] = value

    def del_state(self, key: str) -> None:
        """Buffer a deletion of key."""
        self._open()
        if not key:
            raise ValueError("key must not be empty")
        self._writes[key] = None

    def get_state_by_range(self, start: str, end: str) -> Iterable[tuple[str, bytes]]:
        """Committed keys in [start, end), ordered; an empty end means no upper bound."""
        self._open()
        found = self.ledger._range(start, end)
        self._ranges.append((start, end, tuple((k, v.version) for k, v in found)))
        return [(k, v.value) for k, v in found]

    def get_history(self, key: str) -> Iterable[HistoryEntry]:
        """Every committed value of key, oldest first."""
        self._open()
        return list(self.ledger._history.get(key, ()))

    def set_event(self, name: str, payload: bytes) -> None:
        """Set the transaction's event; a second call is a contract bug, so it raises."""
        self._open()
        if self.event is not None:
            raise RuntimeError(f"transaction {self._tx_id} already set event {self.event[0]}")
        self.event = (name, payload)

    def commit(self) -> CommittedTx:
        """Validate the read set against current state and apply the buffered writes."""
        self._open()
        self.closed = True
        return self.ledger._commit(self)

    def discard(self) -> None:
        """Drop the buffered writes and event."""
        self._open()
        self.closed = True


class MemoryLedger:
    """World state, per-key history and committed transactions, all in memory."""

    def __init__(self) -> None:
        self._state: dict[str, _Versioned] = {}
        self._history: dict[str, list[HistoryEntry]] = {}
        self._version = 0
        self._started = 0
        self._tx_ids: set[str] = set()
        self.transactions: list[CommittedTx] = []

    def begin(
        self, creator: Creator, *, tx_id: str | None = None, timestamp: str | None = None
    ) -> MemoryStub:
        """Start a transaction; ids and timestamps default to a deterministic sequence."""
        self._started += 1
        if tx_id is None:
            tx_id = f"tx{self._started:06d}"
        if timestamp is None:
            moment = _EPOCH + timedelta(seconds=self._started)
            timestamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return MemoryStub(self, tx_id, timestamp, creator)

    def run(
        self,
        creator: Creator,
        call: Callable[[MemoryStub], bytes],
        *,
        tx_id: str | None = None,
        timestamp: str | None = None,
    ) -> bytes:
        """Run call in a new transaction, committing if it returns and discarding if it raises."""
        stub = self.begin(creator, tx_id=tx_id, timestamp=timestamp)
        try:
            result = call(stub)
        except BaseException:
            stub.discard()
            raise
        stub.commit()
        return result

    def get(self, key: str) -> bytes | None:
        """Committed value of key."""
        found = self._state.get(key)
        return None if found is None else found.value

    def snapshot(self) -> dict[str, bytes]:
        """A copy of the whole committed world state."""
        return {k: v.value for k, v in self._state.items()}

    def history(self, key: str) -> list[HistoryEntry]:
        """Every committed value of key, oldest first."""
        return list(self._history.get(key, ()))

    @property
    def events(self) -> list[tuple[str, str, bytes]]:
        """(tx_id, name, payload) of every committed event, in commit order."""
        return [(tx.tx_id, *tx.event) for tx in self.transactions if tx.event is not None]

    def _range(self, start: str, end: str) -> list[tuple[str, _Versioned]]:
        return sorted((k, v) for k, v in self._state.items() if k >= start and (not end or k < end))

    def _commit(self, stub: MemoryStub) -> CommittedTx:
        if stub.tx_id in self._tx_ids:
            raise MvccConflictError(f"transaction id {stub.tx_id} was already committed")
        for key, seen in stub._reads.items():
            found = self._state.get(key)
            if (None if found is None else found.version) != seen:
                raise MvccConflictError(f"{stub.tx_id}: key {key} changed since it was read")
        for start, end, seen_range in stub._ranges:
            now = tuple((k, v.version) for k, v in self._range(start, end))
            if now != seen_range:
                raise MvccConflictError(f"{stub.tx_id}: range [{start}, {end}) changed")
        self._version += 1
        for key, value in stub._writes.items():
            if value is None:
                self._state.pop(key, None)
            else:
                self._state[key] = _Versioned(value, self._version)
            self._history.setdefault(key, []).append(
                HistoryEntry(stub.tx_id, stub.tx_timestamp, value, value is None)
            )
        committed = CommittedTx(
            tx_id=stub.tx_id,
            timestamp=stub.tx_timestamp,
            creator=stub.creator(),
            writes=tuple(stub._writes.items()),
            event=stub.event,
        )
        self._tx_ids.add(stub.tx_id)
        self.transactions.append(committed)
        return committed
