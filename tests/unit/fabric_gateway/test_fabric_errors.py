"""Gateway failures map to Rejected (with the contract's code), Conflict or Unavailable."""

from __future__ import annotations

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from services.ledger.fabric.errors import (
    GatewayError,
    RpcFailure,
    encode_status_details,
    is_duplicate,
    map_failure,
    map_rpc_error,
    map_validation_code,
    parse_chaincode_refusal,
    rpc_failure,
)
from services.ledger.port import Conflict, Rejected, Unavailable

ABORTED = grpc.StatusCode.ABORTED


def detail(message: str, msp: str = "WarehouseMSP") -> gateway_pb2.ErrorDetail:
    """An ErrorDetail as the gateway attaches one per endorser."""
    return gateway_pb2.ErrorDetail(address="127.0.0.1:7051", msp_id=msp, message=message)


class ConstructedError(grpc.RpcError):
    """A gRPC error with the accessors a failed call has."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list[object]) -> None:
        self._code, self._message = code, message
        self._trailers = (
            ("grpc-status-details-bin", encode_status_details(code, message, details)),
        )

    def code(self) -> grpc.StatusCode:
        """The status code."""
        return self._code

    def details(self) -> str:
        """The status message."""
        return self._message

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        """Trailers carrying the encoded status details."""
        return self._trailers


def test_a_chaincode_refusal_keeps_the_contracts_code_and_message() -> None:
    error = ConstructedError(
        ABORTED,
        "failed to endorse transaction, see attached details for more info",
        [detail("chaincode response 500, LIEN_EXISTS: receipt r1 is already pledged")],
    )
    mapped = map_rpc_error(error)
    assert isinstance(mapped, Rejected)
    assert (mapped.code, mapped.message) == ("LIEN_EXISTS", "receipt r1 is already pledged")


def test_an_evaluate_refusal_in_the_top_level_message_is_parsed_too() -> None:
    failure = RpcFailure(
        grpc.StatusCode.UNKNOWN,
        "evaluate call to endorser returned error: chaincode response 500, NOT_FOUND: no r9",
    )
    mapped = map_failure(failure)
    assert isinstance(mapped, Rejected) and mapped.code == "NOT_FOUND"


def test_an_uncoded_chaincode_message_is_still_a_refusal() -> None:
    assert parse_chaincode_refusal("chaincode response 500, something broke") == (
        "CHAINCODE_ERROR",
        "something broke",
    )
    assert parse_chaincode_refusal("connection refused") is None


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_outages_and_timeouts_are_unavailable(code: grpc.StatusCode) -> None:
    assert isinstance(map_rpc_error(ConstructedError(code, "no", [])), Unavailable)


def test_endorsers_that_are_down_make_the_ledger_unavailable() -> None:
    error = ConstructedError(
        ABORTED,
        "failed to endorse transaction, see attached details for more info",
        [detail("rpc error: code = Unavailable desc = connection error: connection refused")],
    )
    assert isinstance(map_rpc_error(error), Unavailable)


def test_other_failures_are_gateway_errors_with_the_status_name() -> None:
    mapped = map_rpc_error(ConstructedError(grpc.StatusCode.PERMISSION_DENIED, "access denied", []))
    assert isinstance(mapped, GatewayError) and mapped.code == "PERMISSION_DENIED"


def test_a_duplicate_tx_id_is_recognised_in_the_details() -> None:
    failure = rpc_failure(
        ConstructedError(
            ABORTED,
            "failed to endorse transaction, see attached details for more info",
            [detail("duplicate transaction found [abc]. Creator [0a0c]")],
        )
    )
    assert is_duplicate(failure)
    assert not is_duplicate(RpcFailure(ABORTED, "failed to endorse transaction"))


def test_validation_codes_map_to_conflict_or_rejected() -> None:
    codes = transaction_pb2.TxValidationCode
    assert map_validation_code(codes.VALID, "t") is None
    assert isinstance(map_validation_code(codes.MVCC_READ_CONFLICT, "t"), Conflict)
    assert isinstance(map_validation_code(codes.PHANTOM_READ_CONFLICT, "t"), Conflict)
    policy = map_validation_code(codes.ENDORSEMENT_POLICY_FAILURE, "t")
    assert isinstance(policy, Rejected) and policy.code == "ENDORSEMENT_POLICY_FAILURE"
