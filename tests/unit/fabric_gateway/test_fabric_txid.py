"""Fabric tx ids follow SHA-256(nonce + creator) and our nonces make submissions replayable."""

from __future__ import annotations

import hashlib

import pytest

from services.ledger.fabric.adapter import FabricLedger
from services.ledger.fabric.connection import FabricConnection
from services.ledger.fabric.identity import Identity
from services.ledger.fabric.proposal import build_proposal
from services.ledger.fabric.txid import (
    MAX_ATTEMPTS,
    fabric_tx_id,
    parse_nonce,
    random_nonce,
    submission_nonce,
)
from services.ledger.outbox import command_tx_id
from services.ledger.port import Submission
from tests.unit.fabric_gateway.conftest import MSP_ID


def test_the_tx_id_is_hex_sha256_of_nonce_then_creator() -> None:
    nonce, creator = b"\x01\x02nonce", b"creator-bytes"
    assert fabric_tx_id(nonce, creator) == hashlib.sha256(nonce + creator).hexdigest()
    assert fabric_tx_id(nonce, creator) != fabric_tx_id(creator, nonce)


def test_a_proposal_declares_the_tx_id_of_its_nonce_and_creator(identity: Identity) -> None:
    nonce = random_nonce()
    proposal = build_proposal(identity, "ch", "cc", [b"fn"], nonce=nonce)
    assert len(nonce) == 24
    assert proposal.tx_id == hashlib.sha256(nonce + identity.creator).hexdigest()


def test_submission_nonces_are_deterministic_and_read_back() -> None:
    ours = command_tx_id("c0ffee")
    assert submission_nonce(ours) == submission_nonce(ours, 0)
    assert submission_nonce(ours, 0) != submission_nonce(ours, 1)
    for attempt in (0, 1, MAX_ATTEMPTS - 1):
        assert parse_nonce(submission_nonce(ours, attempt)) == (ours, attempt)


@pytest.mark.parametrize("nonce", [b"", random_nonce(), b"pledgewatch:", b"pledgewatch:x:y"])
def test_foreign_nonces_are_not_mistaken_for_ours(nonce: bytes) -> None:
    assert parse_nonce(nonce) is None


@pytest.mark.parametrize("tx_id", ["", "a:b", "x" * 201])
def test_unusable_tx_ids_are_refused(tx_id: str) -> None:
    with pytest.raises(ValueError):
        submission_nonce(tx_id)


def test_the_same_submission_always_maps_to_the_same_fabric_tx_id(identity: Identity) -> None:
    ledger = FabricLedger(FabricConnection(orgs={}), {MSP_ID: identity})
    submission = Submission(
        tx_id=command_tx_id("one"),
        fn="issue_receipt",
        args={"receipt_id": "r1"},
        submitter_msp=MSP_ID,
        timestamp="2026-01-02T03:04:05.000006Z",
    )
    same = Submission(**{**submission.__dict__})
    other = Submission(**{**submission.__dict__, "tx_id": command_tx_id("two")})
    first = ledger.fabric_tx_id(submission)
    assert first == ledger.fabric_tx_id(same) == ledger.fabric_tx_id(submission)
    assert first == fabric_tx_id(submission_nonce(submission.tx_id), identity.creator)
    assert first != ledger.fabric_tx_id(other)
    assert first != ledger.fabric_tx_id(submission, attempt=1)
