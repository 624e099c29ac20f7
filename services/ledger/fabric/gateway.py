"""A Fabric Gateway client for one peer: Evaluate, Endorse, Submit, CommitStatus, events, blocks.

Every call has its own deadline, so a stuck peer turns into DEADLINE_EXCEEDED instead of a hung
worker. Failures are raised as CallFailed carrying the gateway's status and ErrorDetails; the
adapter decides what they mean (a duplicate tx id, for instance, is not an error to it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import grpc

from services.ledger.fabric import protos as pb
from services.ledger.fabric.connection import OrgEndpoint
from services.ledger.fabric.errors import RpcFailure, rpc_failure
from services.ledger.fabric.identity import Identity
from services.ledger.fabric.proposal import (
    BuiltProposal,
    chaincode_events_request,
    commit_status_request,
    seek_envelope,
)

# Block bodies can be large (many transactions, each with certificates and rwsets).
_MAX_MESSAGE = 100 * 1024 * 1024


class CallFailed(Exception):
    """A gateway call failed; failure holds the gRPC status and the gateway's ErrorDetails."""

    def __init__(self, operation: str, failure: RpcFailure) -> None:
        super().__init__(f"{operation}: {failure.code.name}: {failure.message}")
        self.operation = operation
        self.failure = failure


@dataclass(frozen=True)
class Deadlines:
    """Per-call deadlines in seconds."""

    evaluate: float = 15.0
    endorse: float = 30.0
    submit: float = 15.0
    commit_status: float = 60.0
    deliver: float = 60.0


def open_channel(endpoint: OrgEndpoint) -> grpc.Channel:
    """A TLS gRPC channel to the endpoint's peer, trusting only its organisation's TLS CA."""
    client_cert = endpoint.client_tls_cert.read_bytes() if endpoint.client_tls_cert else None
    client_key = endpoint.client_tls_key.read_bytes() if endpoint.client_tls_key else None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=endpoint.tls_root_pem(),
        private_key=client_key,
        certificate_chain=client_cert,
    )
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", _MAX_MESSAGE),
        ("grpc.max_send_message_length", _MAX_MESSAGE),
        # Keepalive pings notice a dead peer on an otherwise idle event stream.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]
    if endpoint.tls_server_name:
        options.append(("grpc.ssl_target_name_override", endpoint.tls_server_name))
    return grpc.secure_channel(endpoint.peer_address, credentials, options=options)


class GatewayClient:
    """The Gateway and Deliver services of one peer over one gRPC channel."""

    def __init__(self, channel: grpc.Channel, deadlines: Deadlines | None = None) -> None:
        self._channel = channel
        self._gateway = pb.gateway_grpc.GatewayStub(channel)
        self._deliver = pb.events_grpc.DeliverStub(channel)
        self.deadlines = deadlines or Deadlines()

    def close(self) -> None:
        """Close the gRPC channel; open streams end with CANCELLED."""
        self._channel.close()

    def evaluate(
        self,
        proposal: BuiltProposal,
        channel: str,
        target_organizations: Sequence[str] = (),
    ) -> pb.proposal_response.Response:
        """Run a proposal on one peer without ordering it; returns the chaincode's Response."""
        request = pb.gateway.EvaluateRequest(
            transaction_id=proposal.tx_id,
            channel_id=channel,
            proposed_transaction=proposal.signed,
            target_organizations=list(target_organizations),
        )
        try:
            reply = self._gateway.Evaluate(request, timeout=self.deadlines.evaluate)
        except grpc.RpcError as exc:
            raise CallFailed("evaluate", rpc_failure(exc)) from exc
        result: pb.proposal_response.Response = reply.result
        return result

    def endorse(
        self,
        proposal: BuiltProposal,
        channel: str,
        endorsing_organizations: Sequence[str] = (),
    ) -> pb.common.Envelope:
        """Collect endorsements; returns the unsigned prepared transaction envelope."""
        request = pb.gateway.EndorseRequest(
            transaction_id=proposal.tx_id,
            channel_id=channel,
            proposed_transaction=proposal.signed,
            endorsing_organizations=list(endorsing_organizations),
        )
        try:
            reply = self._gateway.Endorse(request, timeout=self.deadlines.endorse)
        except grpc.RpcError as exc:
            raise CallFailed("endorse", rpc_failure(exc)) from exc
        envelope: pb.common.Envelope = reply.prepared_transaction
        return envelope

    def submit(self, tx_id: str, channel: str, envelope: pb.common.Envelope) -> None:
        """Send a signed prepared transaction to the ordering service."""
        request = pb.gateway.SubmitRequest(
            transaction_id=tx_id, channel_id=channel, prepared_transaction=envelope
        )
        try:
            self._gateway.Submit(request, timeout=self.deadlines.submit)
        except grpc.RpcError as exc:
            raise CallFailed("submit", rpc_failure(exc)) from exc

    def commit_status(self, tx_id: str, channel: str, identity: Identity) -> tuple[int, int]:
        """Wait for tx_id to commit; returns (TxValidationCode, block number)."""
        request = commit_status_request(tx_id, channel, identity)
        try:
            reply = self._gateway.CommitStatus(request, timeout=self.deadlines.commit_status)
        except grpc.RpcError as exc:
            raise CallFailed("commit status", rpc_failure(exc)) from exc
        return int(reply.result), int(reply.block_number)

    def chaincode_events(
        self, channel: str, chaincode: str, start_block: int, identity: Identity
    ) -> ChaincodeEventStream:
        """A live stream of the chaincode's events from start_block on; close it when done."""
        request = chaincode_events_request(channel, chaincode, start_block, identity)
        return ChaincodeEventStream(self._gateway.ChaincodeEvents(request))

    def blocks(
        self, channel: str, start_block: int, stop_block: int, identity: Identity
    ) -> Iterator[pb.common.Block]:
        """Full blocks start_block..stop_block (inclusive) from the peer's Deliver service."""
        envelope = seek_envelope(channel, start_block, stop_block, identity)
        call = self._deliver.Deliver(iter([envelope]), timeout=self.deadlines.deliver)
        try:
            for response in call:
                kind = response.WhichOneof("Type")
                if kind == "block":
                    yield response.block
                elif kind == "status":
                    if response.status != pb.common.Status.SUCCESS:
                        name = pb.common.Status.Name(response.status)
                        failure = RpcFailure(grpc.StatusCode.ABORTED, f"deliver status {name}")
                        raise CallFailed("deliver", failure)
                    return
        except grpc.RpcError as exc:
            raise CallFailed("deliver", rpc_failure(exc)) from exc
        finally:
            call.cancel()


class ChaincodeEventStream:
    """Iterator over ChaincodeEventsResponse messages that can be cancelled from any thread."""

    def __init__(self, call: grpc.Call) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._closed = False

    def __iter__(self) -> Iterator[pb.gateway.ChaincodeEventsResponse]:
        try:
            yield from self._call
        except grpc.RpcError as exc:
            with self._lock:
                if self._closed:
                    return
            raise CallFailed("chaincode events", rpc_failure(exc)) from exc

    def close(self) -> None:
        """Cancel the stream; a consumer blocked in iteration stops without an error."""
        with self._lock:
            self._closed = True
        self._call.cancel()
