"""The shim's peer-stream handler, fixed where the shim falls short, and the gRPC server.

Two gaps of fabric-chaincode-python 2.5.4 are closed here, in our code rather than in the
installed package:
- the shim records `set_event` on its stub but never copies it into the COMPLETED message, so
  the peer never sees the event; `completed_message` fills `chaincode_event`;
- an ERROR answer from the peer (for example to GET_STATE) is handed back as if it were data;
  `EventCarryingHandler` raises it instead.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterable, Sequence
from typing import Any

import grpc
from fabric_chaincode_python.fabric_shim.handler import Handler
from fabric_chaincode_python.fabric_shim.stub import ChaincodeStub

from chaincode.runtime.protos import (
    chaincode_event_pb2,
    chaincode_pb2,
    chaincode_shim_grpc,
    chaincode_shim_pb2,
    proposal_response_pb2,
)

log = logging.getLogger(__name__)

ERROR_THRESHOLD = 400
_ChaincodeMessage = chaincode_shim_pb2.ChaincodeMessage


class PeerRequestError(Exception):
    """The peer answered a state request with an ERROR message."""


def quiet_shim_logging() -> None:
    """Silence the shim's per-message chatter; it logs on the `asyncio` logger at WARNING."""
    logging.getLogger("asyncio").setLevel(logging.ERROR)


def completed_message(request: Any, response: Any, events: Sequence[Any]) -> Any:
    """The COMPLETED message for request, carrying the transaction's event when it succeeded."""
    message = _ChaincodeMessage(
        type=_ChaincodeMessage.COMPLETED,
        payload=response.SerializeToString(),
        txid=request.txid,
        channel_id=request.channel_id,
    )
    # Fabric keeps one event per transaction (the last one set) and only for a success;
    # the peer fills in the chaincode name and transaction id itself.
    if events and response.status < ERROR_THRESHOLD:
        last = events[-1]
        message.chaincode_event.CopyFrom(
            chaincode_event_pb2.ChaincodeEvent(
                tx_id=request.txid, event_name=last.event_name, payload=last.payload
            )
        )
    return message


def error_response(message: str) -> Any:
    """A chaincode error response (status 500) with message."""
    return proposal_response_pb2.Response(status=500, message=message)


class EventCarryingHandler(Handler):  # type: ignore[misc]  # the shim ships no type hints
    """The shim's handler with events carried to the peer and peer errors raised."""

    async def handle_stub_interaction(self, msg: Any, action: str = "Invoke") -> None:
        """Run Init or Invoke for one TRANSACTION message and answer COMPLETED."""
        events: list[Any] = []
        try:
            cc_input = chaincode_pb2.ChaincodeInput.FromString(msg.payload)
            stub = ChaincodeStub(self, msg.channel_id, msg.txid, cc_input, msg.proposal)
            if action.lower() == "init":
                response = await self.chaincode.init(stub)
            else:
                response = await self.chaincode.invoke(stub)
            events = list(stub.get_events())
        except Exception as exc:
            log.exception("transaction %s failed before the contract answered", msg.txid)
            response = error_response(f"INTERNAL: {exc}")
        if response is None or not response.status:
            response = error_response("INTERNAL: the chaincode returned no response")
        await self.context.write(completed_message(msg, response, events))

    async def _Handler__ask_peer_and_listen(self, msg: Any, action: str) -> Any:
        # Overrides the shim's private request method (name-mangled) so that every state call
        # checks the peer's answer; the shim would return an error text as a value.
        answer = await super()._Handler__ask_peer_and_listen(msg, action)
        if answer.type == _ChaincodeMessage.ERROR:
            raise PeerRequestError(f"{action}: {answer.payload.decode('utf-8', 'replace')}")
        return answer


class ChaincodeServer(chaincode_shim_grpc.ChaincodeServicer):  # type: ignore[misc]
    """The chaincode gRPC service the peer dials; one handler per peer stream."""

    def __init__(self, chaincode_id: str, chaincode: Any) -> None:
        self._chaincode_id = chaincode_id
        self._chaincode = chaincode

    async def Connect(
        self, request_iterator: AsyncIterable[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        """Serve one peer connection until the peer closes it."""
        handler = EventCarryingHandler(self._chaincode_id, self._chaincode)
        await handler.chat_with_peer(request_iterator, context)


async def start_server(
    chaincode_id: str, address: str, chaincode: Any
) -> tuple[grpc.aio.Server, int]:
    """Start the chaincode server on address (plain gRPC) and return it with its bound port."""
    server = grpc.aio.server()
    chaincode_shim_grpc.add_ChaincodeServicer_to_server(
        ChaincodeServer(chaincode_id, chaincode), server
    )
    port = server.add_insecure_port(address)
    await server.start()
    return server, port


async def serve_forever(chaincode_id: str, address: str, chaincode: Any) -> None:
    """Serve until SIGTERM or SIGINT, then stop with a short grace period."""
    server, port = await start_server(chaincode_id, address, chaincode)
    log.info("chaincode %s listening on %s (port %d)", chaincode_id, address, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping chaincode server")
    await server.stop(2)
