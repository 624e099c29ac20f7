"""Fabric transaction ids, and the deterministic nonces that make our submissions idempotent.

Fabric computes a transaction id as hex SHA-256(nonce + creator bytes) and refuses any proposal
whose id does not match, so the only way to resubmit "the same" transaction is to reuse its
nonce. Our nonce is therefore derived from the outbox's tx id rather than drawn at random:

    nonce = b"pledgewatch:<attempt>:<our tx id>"

- the same Submission from the same identity always maps to the same Fabric tx id, so a replay
  after a crash is caught by Fabric as a duplicate (and answered with the original's outcome);
- the attempt number exists because Fabric burns a tx id even when the transaction is
  invalidated at commit (an MVCC conflict): a retry after a conflict moves to attempt + 1, and
  a later replay walks the same chain of attempts, so it still lands on the one that committed;
- the nonce travels in the block (signature header), so a reader of the chain can recover our
  tx id from any committed transaction, which is how ledger events are matched to commands.
"""

from __future__ import annotations

import hashlib
import os

NONCE_PREFIX = b"pledgewatch:"
# Outbox tx ids are 64 hex characters; the bound only keeps a nonce from growing without limit.
MAX_TX_ID_LENGTH = 200
MAX_ATTEMPTS = 16


def fabric_tx_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex SHA-256 of nonce followed by the creator's identity bytes."""
    return hashlib.sha256(nonce + creator).hexdigest()


def submission_nonce(tx_id: str, attempt: int = 0) -> bytes:
    """The deterministic nonce of attempt number `attempt` of our transaction tx_id."""
    if not tx_id or len(tx_id) > MAX_TX_ID_LENGTH or ":" in tx_id:
        raise ValueError(f"not a usable transaction id: {tx_id!r}")
    if not 0 <= attempt < MAX_ATTEMPTS:
        raise ValueError(f"attempt must be in [0, {MAX_ATTEMPTS}), got {attempt}")
    return NONCE_PREFIX + f"{attempt}:{tx_id}".encode()


def parse_nonce(nonce: bytes) -> tuple[str, int] | None:
    """Our (tx id, attempt) from a nonce made by submission_nonce; None for any other nonce."""
    if not nonce.startswith(NONCE_PREFIX):
        return None
    try:
        text = nonce[len(NONCE_PREFIX) :].decode("ascii")
    except UnicodeDecodeError:
        return None
    attempt, sep, tx_id = text.partition(":")
    if not sep or not attempt.isdigit() or not tx_id:
        return None
    return tx_id, int(attempt)


def random_nonce() -> bytes:
    """A fresh 24-byte nonce, as Fabric's own clients use for queries that need no idempotency."""
    return os.urandom(24)
