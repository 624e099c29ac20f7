"""Runtime pieces: the role map, timestamps, the stub adapter, the COMPLETED message."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from chaincode.errors import ContractError
from chaincode.runtime.adapter import ShimStubAdapter, iso_utc
from chaincode.runtime.handler import completed_message
from chaincode.runtime.protos import chaincode_event_pb2, chaincode_shim_pb2, proposal_response_pb2
from chaincode.runtime.roles import RoleMapError, parse_org_roles

Msg = chaincode_shim_pb2.ChaincodeMessage


def test_the_role_map_reads_msp_role_pairs_and_tolerates_spaces() -> None:
    roles = parse_org_roles(" WarehouseMSP=warehouse, Bank1MSP = bank,,Bank2MSP=bank ")
    assert dict(roles) == {"WarehouseMSP": "warehouse", "Bank1MSP": "bank", "Bank2MSP": "bank"}


@pytest.mark.parametrize(
    "text", ["", "WarehouseMSP", "=bank", "Bank1MSP=", "Bank1MSP=lender", "A=bank,A=warehouse"]
)
def test_a_malformed_role_map_is_refused(text: str) -> None:
    with pytest.raises(RoleMapError):
        parse_org_roles(text)


def test_timestamps_are_iso_utc_with_microseconds() -> None:
    assert iso_utc(1767225600, 5_000_999) == "2026-01-01T00:00:00.005000Z"


def test_completed_carries_the_last_event_of_a_successful_transaction() -> None:
    request = Msg(type=Msg.TRANSACTION, txid="t1", channel_id="pledgewatch")
    response = proposal_response_pb2.Response(status=200, payload=b"{}")
    events = [
        chaincode_event_pb2.ChaincodeEvent(event_name="First", payload=b"1"),
        chaincode_event_pb2.ChaincodeEvent(event_name="ReceiptIssued", payload=b'{"a":1}'),
    ]
    message = completed_message(request, response, events)
    assert message.type == Msg.COMPLETED
    assert (message.txid, message.channel_id) == ("t1", "pledgewatch")
    assert proposal_response_pb2.Response.FromString(message.payload) == response
    assert message.chaincode_event.event_name == "ReceiptIssued"
    assert message.chaincode_event.payload == b'{"a":1}'
    assert message.chaincode_event.tx_id == "t1"


def test_completed_carries_no_event_for_a_failed_transaction() -> None:
    request = Msg(type=Msg.TRANSACTION, txid="t1", channel_id="pledgewatch")
    response = proposal_response_pb2.Response(status=500, message="FORBIDDEN: no")
    events = [chaincode_event_pb2.ChaincodeEvent(event_name="X", payload=b"1")]
    assert not completed_message(request, response, events).HasField("chaincode_event")


class FakeShimStub:
    """The shim stub's surface the adapter uses, with coroutines like the real one."""

    def __init__(self) -> None:
        self.state = {"a:1": b"one", "a:2": b"two", "b:1": b"other"}
        self.events: list[tuple[str, bytes]] = []

    def get_txid(self) -> str:
        return "tx-9"

    def get_tx_timestamp(self) -> Any:
        return Timestamp(seconds=1767225600, nanos=42_000)

    def get_creator(self) -> dict[str, Any]:
        return {"mspid": "Bank2MSP", "idBytes": b"cert"}

    async def get_state(self, key: str) -> bytes:
        return self.state.get(key, b"")

    async def put_state(self, key: str, value: bytes) -> None:
        self.state[key] = value

    async def delete_state(self, key: str) -> None:
        self.state.pop(key, None)

    async def get_state_by_range(self, start: str, end: str) -> Any:
        keys = sorted(k for k in self.state if start <= k and (not end or k < end))
        return _AsyncList([SimpleNamespace(key=k, value=self.state[k]) for k in keys])

    async def get_history_for_key(self, key: str) -> Any:
        newest_first = [
            SimpleNamespace(tx_id="t2", value=b"", timestamp=Timestamp(seconds=2), is_delete=True),
            SimpleNamespace(
                tx_id="t1", value=b"v", timestamp=Timestamp(seconds=1), is_delete=False
            ),
        ]
        return _AsyncList(newest_first)

    def set_event(self, name: str, payload: bytes) -> None:
        self.events.append((name, payload))


class _AsyncList:
    def __init__(self, items: list[Any]) -> None:
        self._items = list(items)

    def __aiter__(self) -> _AsyncList:
        return self

    async def __anext__(self) -> Any:
        if not self._items:
            raise StopAsyncIteration
        return self._items.pop(0)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in its own thread, as the shim's loop does beside the contract."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(timeout=5)
    running.close()


def test_the_adapter_maps_every_stub_call_onto_the_shim(loop: asyncio.AbstractEventLoop) -> None:
    shim = FakeShimStub()
    stub = ShimStubAdapter(shim, loop, parse_org_roles("Bank2MSP=bank"))
    assert stub.tx_id == "tx-9"
    assert stub.tx_timestamp == "2026-01-01T00:00:00.000042Z"
    assert (stub.creator().msp_id, stub.creator().role) == ("Bank2MSP", "bank")
    assert stub.get_state("a:1") == b"one"
    assert stub.get_state("missing") is None
    stub.put_state("a:3", b"three")
    stub.del_state("b:1")
    assert list(stub.get_state_by_range("a:", "a;")) == [
        ("a:1", b"one"),
        ("a:2", b"two"),
        ("a:3", b"three"),
    ]
    history = list(stub.get_history("a:1"))
    assert [(e.tx_id, e.value, e.is_delete) for e in history] == [
        ("t1", b"v", False),
        ("t2", None, True),
    ]
    assert history[0].timestamp == "1970-01-01T00:00:01.000000Z"
    stub.set_event("ReceiptIssued", b"{}")
    assert shim.events == [("ReceiptIssued", b"{}")]
    with pytest.raises(RuntimeError):
        stub.set_event("Again", b"{}")


def test_the_adapter_refuses_what_fabric_would_misread(loop: asyncio.AbstractEventLoop) -> None:
    stub = ShimStubAdapter(FakeShimStub(), loop, parse_org_roles("WarehouseMSP=warehouse"))
    with pytest.raises(ContractError) as refused:
        stub.creator()
    assert refused.value.code == "UNKNOWN_ORG"
    # An empty value is a delete on Fabric; the contract never means that.
    with pytest.raises(ValueError):
        stub.put_state("k", b"")
