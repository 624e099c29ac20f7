"""The result digger and the block reader on hand-built transactions."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from services.ledger.fabric.result import block_transactions, transaction_result
from services.ledger.fabric.txid import submission_nonce

VALID = transaction_pb2.TxValidationCode.VALID
MVCC = transaction_pb2.TxValidationCode.MVCC_READ_CONFLICT


def endorser_envelope(
    tx_id: str, nonce: bytes, result: bytes, event: tuple[str, bytes] | None
) -> common_pb2.Envelope:
    """An endorser transaction shaped the way the gateway assembles one."""
    action = proposal_pb2.ChaincodeAction(
        response=proposal_response_pb2.Response(status=200, payload=result)
    )
    if event is not None:
        action.events = chaincode_event_pb2.ChaincodeEvent(
            chaincode_id="pledgewatch", tx_id=tx_id, event_name=event[0], payload=event[1]
        ).SerializeToString()
    response_payload = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=b"h", extension=action.SerializeToString()
    )
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=b"",
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=response_payload.SerializeToString()
        ),
    )
    signature_header = common_pb2.SignatureHeader(creator=b"creator", nonce=nonce)
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=signature_header.SerializeToString(),
                payload=action_payload.SerializeToString(),
            )
        ]
    )
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(
            type=common_pb2.HeaderType.ENDORSER_TRANSACTION, tx_id=tx_id, channel_id="ch"
        ).SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    payload = common_pb2.Payload(header=header, data=transaction.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString(), signature=b"sig")


def test_the_result_is_dug_out_of_the_prepared_transaction() -> None:
    envelope = endorser_envelope("t1", b"n", b'{"receipt_id":"r1"}', None)
    assert transaction_result(envelope) == b'{"receipt_id":"r1"}'


def test_a_block_yields_each_transaction_with_its_code_nonce_and_event() -> None:
    ours = submission_nonce("a" * 64, 1)
    first = endorser_envelope("t1", ours, b"{}", ("ReceiptIssued", b'{"id":"r1"}'))
    second = endorser_envelope("t2", b"random", b"{}", ("LienRegistered", b"{}"))
    config = common_pb2.Envelope(
        payload=common_pb2.Payload(
            header=common_pb2.Header(
                channel_header=common_pb2.ChannelHeader(
                    type=common_pb2.HeaderType.CONFIG
                ).SerializeToString()
            )
        ).SerializeToString()
    )
    block = common_pb2.Block(
        header=common_pb2.BlockHeader(number=5),
        data=common_pb2.BlockData(data=[x.SerializeToString() for x in (first, config, second)]),
        metadata=common_pb2.BlockMetadata(metadata=[b"", b"", bytes([VALID, VALID, MVCC])]),
    )
    found = block_transactions(block)
    assert [(t.block_number, t.index, t.tx_id) for t in found] == [(5, 0, "t1"), (5, 2, "t2")]
    assert [t.valid for t in found] == [True, False]
    assert found[0].nonce == ours
    assert found[0].event is not None and found[0].event.event_name == "ReceiptIssued"
    assert found[0].event.payload == b'{"id":"r1"}'


def test_a_transaction_without_an_event_has_none() -> None:
    envelope = endorser_envelope("t1", b"n", b"{}", None)
    block = common_pb2.Block(
        header=common_pb2.BlockHeader(number=1),
        data=common_pb2.BlockData(data=[envelope.SerializeToString()]),
        metadata=common_pb2.BlockMetadata(metadata=[b"", b"", bytes([VALID])]),
    )
    (only,) = block_transactions(block)
    assert only.event is None and only.valid
