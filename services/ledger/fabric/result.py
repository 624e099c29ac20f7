"""Read what we need out of Fabric transactions and blocks: results, events, nonces, codes."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from services.ledger.fabric import protos as pb

_VALID = pb.transaction.TxValidationCode.VALID


class MalformedTransaction(ValueError):
    """A transaction or block does not have the shape of an endorser transaction."""


def chaincode_action(envelope: pb.common.Envelope) -> pb.proposal.ChaincodeAction:
    """The endorsed ChaincodeAction of an endorser transaction envelope."""
    payload = pb.common.Payload.FromString(envelope.payload)
    transaction = pb.transaction.Transaction.FromString(payload.data)
    if not transaction.actions:
        raise MalformedTransaction("the transaction has no actions")
    action_payload = pb.transaction.ChaincodeActionPayload.FromString(
        transaction.actions[0].payload
    )
    response_payload = pb.proposal_response.ProposalResponsePayload.FromString(
        action_payload.action.proposal_response_payload
    )
    return pb.proposal.ChaincodeAction.FromString(response_payload.extension)


def transaction_result(envelope: pb.common.Envelope) -> bytes:
    """The chaincode's response payload: Payload → Transaction → … → ChaincodeAction.response."""
    return bytes(chaincode_action(envelope).response.payload)


@dataclass(frozen=True)
class BlockTransaction:
    """One transaction of a block, as far as events and our tx ids need it."""

    block_number: int
    index: int
    tx_id: str
    nonce: bytes
    validation_code: int
    event: pb.chaincode_event.ChaincodeEvent | None

    @property
    def valid(self) -> bool:
        """Whether the committing peers marked the transaction VALID."""
        return bool(self.validation_code == _VALID)


def envelope_header(
    envelope: pb.common.Envelope,
) -> tuple[pb.common.ChannelHeader, pb.common.SignatureHeader]:
    """The channel header and signature header of an envelope."""
    payload = pb.common.Payload.FromString(envelope.payload)
    return (
        pb.common.ChannelHeader.FromString(payload.header.channel_header),
        pb.common.SignatureHeader.FromString(payload.header.signature_header),
    )


def block_transactions(block: pb.common.Block) -> list[BlockTransaction]:
    """Every endorser transaction of a block with its validation code and chaincode event."""
    number = int(block.header.number)
    flags = b""
    if len(block.metadata.metadata) > pb.common.BlockMetadataIndex.TRANSACTIONS_FILTER:
        flags = bytes(block.metadata.metadata[pb.common.BlockMetadataIndex.TRANSACTIONS_FILTER])
    found: list[BlockTransaction] = []
    for index, raw in enumerate(block.data.data):
        envelope = pb.common.Envelope.FromString(raw)
        channel_header, signature_header = envelope_header(envelope)
        if channel_header.type != pb.common.HeaderType.ENDORSER_TRANSACTION:
            continue
        # A block without the filter has not been validated: treat nothing in it as valid.
        code = flags[index] if index < len(flags) else pb.transaction.TxValidationCode.NOT_VALIDATED
        event = _event_of(envelope)
        found.append(
            BlockTransaction(
                block_number=number,
                index=index,
                tx_id=channel_header.tx_id,
                nonce=bytes(signature_header.nonce),
                validation_code=code,
                event=event,
            )
        )
    return found


def _event_of(envelope: pb.common.Envelope) -> pb.chaincode_event.ChaincodeEvent | None:
    try:
        raw = chaincode_action(envelope).events
    except (MalformedTransaction, DecodeError):
        return None
    if not raw:
        return None
    event = pb.chaincode_event.ChaincodeEvent.FromString(raw)
    return event if event.event_name else None
