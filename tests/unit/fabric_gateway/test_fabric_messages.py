"""Proposals, envelopes and signed requests decode back with the Fabric protos and verify."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from services.ledger.fabric.identity import Identity
from services.ledger.fabric.proposal import (
    build_proposal,
    chaincode_events_request,
    commit_status_request,
    parse_timestamp,
    seek_envelope,
    sign_envelope,
)
from services.ledger.signing import is_low_s


def _verifies(identity: Identity, data: bytes, signature: bytes) -> bool:
    identity.private_key.public_key().verify(signature, data, ec.ECDSA(hashes.SHA256()))
    return is_low_s(signature)


def test_a_signed_proposal_decodes_to_the_invocation_we_asked_for(identity: Identity) -> None:
    moment = parse_timestamp("2026-03-04T05:06:07.123456Z")
    built = build_proposal(
        identity,
        "pledgewatch",
        "pledgewatch",
        [b"issue_receipt", b'{"receipt_id":"r1"}'],
        nonce=b"n" * 24,
        timestamp=moment,
    )
    assert _verifies(identity, built.signed.proposal_bytes, built.signed.signature)
    proposal = proposal_pb2.Proposal.FromString(built.signed.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert channel_header.type == common_pb2.HeaderType.ENDORSER_TRANSACTION
    assert channel_header.channel_id == "pledgewatch"
    assert channel_header.tx_id == built.tx_id
    assert channel_header.tx_id == hashlib.sha256(b"n" * 24 + identity.creator).hexdigest()
    assert channel_header.timestamp.ToDatetime(tzinfo=UTC) == moment
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "pledgewatch"
    assert signature_header.creator == identity.creator
    assert signature_header.nonce == b"n" * 24
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert spec.chaincode_id.name == "pledgewatch"
    assert list(spec.input.args) == [b"issue_receipt", b'{"receipt_id":"r1"}']
    assert not payload.TransientMap


def test_naive_and_offset_timestamps_mean_utc_instants() -> None:
    assert parse_timestamp("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)


def test_signing_an_envelope_keeps_its_payload_and_signs_it(identity: Identity) -> None:
    unsigned = common_pb2.Envelope(payload=b"prepared transaction bytes")
    signed = sign_envelope(unsigned, identity)
    assert signed.payload == unsigned.payload
    assert _verifies(identity, signed.payload, signed.signature)


def test_a_commit_status_request_is_signed_over_its_bytes(identity: Identity) -> None:
    signed = commit_status_request("abc", "pledgewatch", identity)
    request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
    assert (request.transaction_id, request.channel_id) == ("abc", "pledgewatch")
    assert request.identity == identity.creator
    assert _verifies(identity, signed.request, signed.signature)


def test_an_events_request_starts_at_the_given_block(identity: Identity) -> None:
    signed = chaincode_events_request("pledgewatch", "pledgewatch", 7, identity)
    request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert request.chaincode_id == "pledgewatch"
    assert request.start_position.WhichOneof("Type") == "specified"
    assert request.start_position.specified.number == 7
    assert _verifies(identity, signed.request, signed.signature)


def test_a_deliver_request_seeks_a_closed_range_of_blocks(identity: Identity) -> None:
    envelope = seek_envelope("pledgewatch", 3, 9, identity)
    assert _verifies(identity, envelope.payload, envelope.signature)
    payload = common_pb2.Payload.FromString(envelope.payload)
    channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    assert channel_header.type == common_pb2.HeaderType.DELIVER_SEEK_INFO
    seek = ab_pb2.SeekInfo.FromString(payload.data)
    assert (seek.start.specified.number, seek.stop.specified.number) == (3, 9)
