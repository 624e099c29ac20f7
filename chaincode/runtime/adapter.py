"""Our synchronous `Stub` over the shim's asynchronous stub, for a contract run in a worker thread.

The contract is plain synchronous Python, while the shim talks to the peer on an asyncio loop:
every world-state call must be a round trip on that loop. The contract therefore runs in a
worker thread, and each stub call here schedules the shim's coroutine on the loop and waits for
it. Blocking the loop itself would deadlock: the peer's answer arrives on that same loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from chaincode.errors import ContractError
from chaincode.stub import Creator, HistoryEntry

T = TypeVar("T")

# A peer answers a state call in milliseconds; this only bounds a stuck stream.
CALL_TIMEOUT_S = 30.0
# Fabric's Go shim replaces an empty range start with this key, the smallest simple key.
_EMPTY_START = "\x01"


def iso_utc(seconds: int, nanos: int) -> str:
    """Format a protobuf Timestamp as ISO 8601 UTC with microseconds, like the embedded ledger."""
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class ShimStubAdapter:
    """Implements `chaincode.stub.Stub` for one transaction on top of the shim's stub."""

    def __init__(
        self, shim_stub: Any, loop: asyncio.AbstractEventLoop, org_roles: Mapping[str, str]
    ) -> None:
        self._shim = shim_stub
        self._loop = loop
        self._roles = org_roles
        self.event: tuple[str, bytes] | None = None

    def _call(self, coro: Awaitable[T]) -> T:
        # Runs in the worker thread; the loop thread is free to carry the peer's reply.
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self._loop)
        return future.result(timeout=CALL_TIMEOUT_S)

    @property
    def tx_id(self) -> str:
        """Transaction id chosen by the client, as the peer passed it."""
        return str(self._shim.get_txid())

    @property
    def tx_timestamp(self) -> str:
        """The proposal's channel-header timestamp (client-chosen, identical on every endorser)."""
        stamp = self._shim.get_tx_timestamp()
        if stamp is None:
            raise ContractError("BAD_PROPOSAL", "the proposal carries no timestamp")
        return iso_utc(int(stamp.seconds), int(stamp.nanos))

    def creator(self) -> Creator:
        """The submitter's MSP and the role the role map gives that MSP."""
        identity = self._shim.get_creator() or {}
        msp_id = str(identity.get("mspid", ""))
        role = self._roles.get(msp_id)
        if role is None:
            raise ContractError("UNKNOWN_ORG", f"organisation {msp_id!r} has no role here")
        return Creator(msp_id=msp_id, role=role)

    def get_state(self, key: str) -> bytes | None:
        """Committed value of key; Fabric answers an absent key with an empty value."""
        value = self._call(self._shim.get_state(key))
        return bytes(value) if value else None

    def put_state(self, key: str, value: bytes) -> None:
        """Write key; Fabric treats an empty value as a delete, so refuse it."""
        if not key:
            raise ValueError("key must not be empty")
        if not value:
            raise ValueError("value must not be empty")
        self._call(self._shim.put_state(key, bytes(value)))

    def del_state(self, key: str) -> None:
        """Delete key in this transaction's write set."""
        if not key:
            raise ValueError("key must not be empty")
        self._call(self._shim.delete_state(key))

    def get_state_by_range(self, start: str, end: str) -> Iterable[tuple[str, bytes]]:
        """Committed keys in [start, end), ordered; an empty end means no upper bound."""
        iterator = self._call(self._shim.get_state_by_range(start or _EMPTY_START, end))
        return [(str(kv.key), bytes(kv.value)) for kv in self._call(_drain(iterator))]

    def get_history(self, key: str) -> Iterable[HistoryEntry]:
        """Every committed value of key, oldest first (Fabric 2+ answers newest first)."""
        iterator = self._call(self._shim.get_history_for_key(key))
        entries = [
            HistoryEntry(
                tx_id=str(mod.tx_id),
                timestamp=iso_utc(int(mod.timestamp.seconds), int(mod.timestamp.nanos)),
                value=None if mod.is_delete else bytes(mod.value),
                is_delete=bool(mod.is_delete),
            )
            for mod in self._call(_drain(iterator))
        ]
        entries.reverse()
        return entries

    def set_event(self, name: str, payload: bytes) -> None:
        """Set the transaction's one event; the handler puts it into the COMPLETED message."""
        if self.event is not None:
            raise RuntimeError(f"transaction {self.tx_id} already set event {self.event[0]}")
        self.event = (name, bytes(payload))
        self._shim.set_event(name, bytes(payload))


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _drain(iterator: Any) -> list[Any]:
    """Read a shim query iterator to the end (it closes the peer-side query itself)."""
    return [item async for item in iterator]
