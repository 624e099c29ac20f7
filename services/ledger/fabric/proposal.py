"""Build and sign the protobuf messages a Fabric gateway client sends.

Pure functions over the hyperledger-fabric-protos messages: nothing here opens a connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.ledger.fabric import protos as pb
from services.ledger.fabric.identity import Identity
from services.ledger.fabric.txid import fabric_tx_id, random_nonce


@dataclass(frozen=True)
class BuiltProposal:
    """A signed proposal with the Fabric tx id its header carries."""

    tx_id: str
    signed: pb.proposal.SignedProposal


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (a trailing Z is accepted); naive times are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp at microsecond precision, the precision our timestamps carry."""
    moment = moment.astimezone(UTC)
    seconds = int(moment.replace(microsecond=0).timestamp())
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=moment.microsecond * 1000)


def build_header(
    header_type: int,
    channel: str,
    creator: bytes,
    nonce: bytes,
    timestamp: datetime,
    extension: bytes = b"",
) -> tuple[str, pb.common.Header]:
    """A common Header (channel header + signature header) and the tx id it declares."""
    tx_id = fabric_tx_id(nonce, creator)
    channel_header = pb.common.ChannelHeader(
        type=header_type,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=to_timestamp(timestamp),
        epoch=0,
        extension=extension,
    )
    signature_header = pb.common.SignatureHeader(creator=creator, nonce=nonce)
    header = pb.common.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    return tx_id, header


def build_proposal(
    identity: Identity,
    channel: str,
    chaincode: str,
    args: Sequence[bytes],
    *,
    nonce: bytes | None = None,
    timestamp: datetime | None = None,
) -> BuiltProposal:
    """A signed chaincode proposal invoking args[0] with the remaining args."""
    chaincode_id = pb.chaincode.ChaincodeID(name=chaincode)
    extension = pb.proposal.ChaincodeHeaderExtension(chaincode_id=chaincode_id)
    tx_id, header = build_header(
        pb.common.HeaderType.ENDORSER_TRANSACTION,
        channel,
        identity.creator,
        nonce if nonce is not None else random_nonce(),
        timestamp or datetime.now(UTC),
        extension.SerializeToString(),
    )
    invocation = pb.chaincode.ChaincodeInvocationSpec(
        chaincode_spec=pb.chaincode.ChaincodeSpec(
            chaincode_id=chaincode_id,
            input=pb.chaincode.ChaincodeInput(args=list(args)),
        )
    )
    payload = pb.proposal.ChaincodeProposalPayload(input=invocation.SerializeToString())
    proposal = pb.proposal.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    proposal_bytes = proposal.SerializeToString()
    signed = pb.proposal.SignedProposal(
        proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes)
    )
    return BuiltProposal(tx_id=tx_id, signed=signed)


def sign_envelope(envelope: pb.common.Envelope, identity: Identity) -> pb.common.Envelope:
    """A copy of the gateway's prepared transaction with the submitter's signature over it."""
    return pb.common.Envelope(payload=envelope.payload, signature=identity.sign(envelope.payload))


def commit_status_request(
    tx_id: str, channel: str, identity: Identity
) -> pb.gateway.SignedCommitStatusRequest:
    """A signed request for the commit status of tx_id."""
    request = pb.gateway.CommitStatusRequest(
        transaction_id=tx_id, channel_id=channel, identity=identity.creator
    ).SerializeToString()
    return pb.gateway.SignedCommitStatusRequest(request=request, signature=identity.sign(request))


def chaincode_events_request(
    channel: str, chaincode: str, start_block: int, identity: Identity
) -> pb.gateway.SignedChaincodeEventsRequest:
    """A signed request for the chaincode's events from start_block on (inclusive)."""
    request = pb.gateway.ChaincodeEventsRequest(
        channel_id=channel,
        chaincode_id=chaincode,
        identity=identity.creator,
        start_position=pb.ab.SeekPosition(
            specified=pb.ab.SeekSpecified(number=max(0, start_block))
        ),
    ).SerializeToString()
    return pb.gateway.SignedChaincodeEventsRequest(
        request=request, signature=identity.sign(request)
    )


def seek_envelope(
    channel: str, start_block: int, stop_block: int, identity: Identity
) -> pb.common.Envelope:
    """A signed Deliver request for blocks start_block..stop_block (inclusive), then stop."""
    seek = pb.ab.SeekInfo(
        start=pb.ab.SeekPosition(specified=pb.ab.SeekSpecified(number=start_block)),
        stop=pb.ab.SeekPosition(specified=pb.ab.SeekSpecified(number=stop_block)),
        # The range is below the height we read first, so it never has to wait.
        behavior=pb.ab.SeekInfo.BLOCK_UNTIL_READY,
    )
    _tx_id, header = build_header(
        pb.common.HeaderType.DELIVER_SEEK_INFO,
        channel,
        identity.creator,
        random_nonce(),
        datetime.now(UTC),
    )
    payload = pb.common.Payload(header=header, data=seek.SerializeToString()).SerializeToString()
    return pb.common.Envelope(payload=payload, signature=identity.sign(payload))
