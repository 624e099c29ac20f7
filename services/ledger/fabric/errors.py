"""Map gateway failures to the ledger port's errors: Rejected, Conflict, Unavailable.

The gateway reports a chaincode refusal as a gRPC error whose ErrorDetail (one per endorser)
reads `chaincode response 500, CODE: message`; our contract writes `CODE: message`, so the code
survives the trip. Validation failures at commit come back as a TxValidationCode instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from services.ledger.fabric import protos as pb
from services.ledger.port import Conflict, LedgerError, Rejected, Unavailable

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_CHAINCODE_REFUSAL = re.compile(r"chaincode response (?P<status>\d+), (?P<text>.*)", re.DOTALL)
_CODED = re.compile(r"^(?P<code>[A-Z][A-Z0-9_]*): (?P<message>.*)$", re.DOTALL)
_DUPLICATE = "duplicate transaction found"
# Texts the gateway relays when a peer or orderer could not be reached or did not answer.
_UNREACHABLE = (
    "connection refused",
    "connection error",
    "error reading from server",
    "transport",
    "unavailable",
    "deadline exceeded",
    "context deadline exceeded",
    "no combination of peers",
    "no peers available",
    "failed to create new connection",
    "stream terminated",
)
_TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
    }
)
_CONFLICT_CODES = frozenset(
    {
        pb.transaction.TxValidationCode.MVCC_READ_CONFLICT,
        pb.transaction.TxValidationCode.PHANTOM_READ_CONFLICT,
    }
)


class GatewayError(LedgerError):
    """A gateway failure that is neither a refusal, a conflict nor an outage (e.g. bad config)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RpcFailure:
    """A gRPC error as the gateway sent it: status code, message and per-endpoint details."""

    code: grpc.StatusCode
    message: str
    details: tuple[pb.gateway.ErrorDetail, ...] = ()

    def texts(self) -> list[str]:
        """The top-level message followed by every detail's message."""
        return [self.message, *(d.message for d in self.details)]


def _status_class() -> Any:
    # google.rpc.Status is not shipped with grpcio or the Fabric protos, and its wire format is
    # tiny and stable (code=1, message=2, details=3 as Any), so it is declared here.
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="pledgewatch_rpc_status.proto",
        package="pledgewatch.rpc",
        dependency=["google/protobuf/any.proto"],
        syntax="proto3",
    )
    status = file_proto.message_type.add(name="Status")
    label = descriptor_pb2.FieldDescriptorProto
    status.field.add(name="code", number=1, type=label.TYPE_INT32, label=label.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=label.TYPE_STRING, label=label.LABEL_OPTIONAL)
    status.field.add(
        name="details",
        number=3,
        type=label.TYPE_MESSAGE,
        label=label.LABEL_REPEATED,
        type_name=".google.protobuf.Any",
    )
    # The default pool already holds google/protobuf/any.proto (any_pb2 is imported above).
    pool = descriptor_pool.Default()
    try:
        descriptor = pool.FindMessageTypeByName("pledgewatch.rpc.Status")
    except KeyError:
        descriptor = pool.Add(file_proto).message_types_by_name["Status"]
    return message_factory.GetMessageClass(descriptor)


RpcStatus: Any = _status_class()


def encode_status_details(
    code: grpc.StatusCode, message: str, details: Sequence[pb.gateway.ErrorDetail]
) -> bytes:
    """The `grpc-status-details-bin` trailer value a server sends with these details."""
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = RpcStatus(code=code.value[0], message=message)
    status.details.extend(packed)
    return bytes(status.SerializeToString())


def rpc_failure(error: grpc.RpcError) -> RpcFailure:
    """Status code, message and ErrorDetails of a gRPC error raised by a call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    return RpcFailure(code=code, message=message or "", details=tuple(_details(trailers)))


def _details(trailers: object) -> list[pb.gateway.ErrorDetail]:
    found: list[pb.gateway.ErrorDetail] = []
    for key, value in trailers or ():  # type: ignore[attr-defined]
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = RpcStatus.FromString(value)
        except DecodeError:
            continue
        for holder in status.details:
            detail = pb.gateway.ErrorDetail()
            if holder.Is(pb.gateway.ErrorDetail.DESCRIPTOR) and holder.Unpack(detail):
                found.append(detail)
    return found


def parse_chaincode_refusal(text: str) -> tuple[str, str] | None:
    """(code, message) from a gateway text carrying a chaincode error response, if it does."""
    match = _CHAINCODE_REFUSAL.search(text)
    if match is None:
        return None
    body = match.group("text").strip()
    coded = _CODED.match(body)
    if coded is None:
        return "CHAINCODE_ERROR", body
    return coded.group("code"), coded.group("message")


def is_duplicate(failure: RpcFailure) -> bool:
    """Whether the endorsers refused the proposal because its tx id is already on the ledger."""
    return any(_DUPLICATE in text for text in failure.texts())


def map_failure(failure: RpcFailure) -> LedgerError:
    """The ledger port error a gateway failure stands for."""
    texts = failure.texts()
    for text in texts:
        refusal = parse_chaincode_refusal(text)
        if refusal is not None:
            return Rejected(*refusal)
    summary = "; ".join(t for t in texts if t)
    if failure.code in _TRANSIENT_CODES:
        return Unavailable(f"{failure.code.name}: {summary}")
    lowered = summary.lower()
    if failure.code in (
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNKNOWN,
    ) and any(marker in lowered for marker in _UNREACHABLE):
        # Endorsement failed because peers were down or unreachable: worth retrying later.
        return Unavailable(f"{failure.code.name}: {summary}")
    return GatewayError(failure.code.name, summary)


def map_rpc_error(error: grpc.RpcError) -> LedgerError:
    """The ledger port error a gRPC error from the gateway stands for."""
    return map_failure(rpc_failure(error))


def validation_code_name(code: int) -> str:
    """The TxValidationCode name of code (or its number when unknown)."""
    try:
        return str(pb.transaction.TxValidationCode.Name(code))
    except ValueError:
        return f"VALIDATION_CODE_{code}"


def map_validation_code(code: int, tx_id: str) -> LedgerError | None:
    """None for VALID, Conflict for MVCC/phantom conflicts, otherwise a Rejected by code name."""
    if code == pb.transaction.TxValidationCode.VALID:
        return None
    name = validation_code_name(code)
    if code in _CONFLICT_CODES:
        return Conflict(f"transaction {tx_id} was invalidated at commit: {name}")
    return Rejected(name, f"transaction {tx_id} was invalidated at commit")
