"""FabricLedger: the ledger port on a Hyperledger Fabric network, through the peers' gateways.

Each organisation submits through its own peer with its own identity (a process may hold several
identities for the single-database demo). Endorsers: when a submission names endorsers, exactly
the submitter and those organisations are asked to endorse, because the contract's rule "pledge
and release need both bank and warehouse" must hold whatever the chaincode-level policy is and
must not depend on which peers discovery happens to pick (it could pick the other bank);
otherwise the gateway's discovery picks a set that satisfies the chaincode's policy.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from chaincode.canonical import canonical_json
from services.ledger.fabric import protos as pb
from services.ledger.fabric.connection import (
    DEFAULT_CHAINCODE,
    DEFAULT_CHANNEL,
    FabricConnection,
    load_connection,
    load_identities,
)
from services.ledger.fabric.errors import (
    is_duplicate,
    map_failure,
    map_validation_code,
    parse_chaincode_refusal,
)
from services.ledger.fabric.gateway import (
    CallFailed,
    ChaincodeEventStream,
    Deadlines,
    GatewayClient,
    open_channel,
)
from services.ledger.fabric.identity import Identity
from services.ledger.fabric.proposal import build_proposal, parse_timestamp, sign_envelope
from services.ledger.fabric.result import (
    MalformedTransaction,
    block_transactions,
    envelope_header,
    transaction_result,
)
from services.ledger.fabric.txid import (
    MAX_ATTEMPTS,
    fabric_tx_id,
    parse_nonce,
    submission_nonce,
)
from services.ledger.port import (
    LedgerError,
    LedgerEvent,
    Rejected,
    Submission,
    SubmitResult,
    Unavailable,
    VerifyReport,
)

log = logging.getLogger(__name__)

QSCC = "qscc"
_VALID = pb.transaction.TxValidationCode.VALID
_DUPLICATE_TXID = pb.transaction.TxValidationCode.DUPLICATE_TXID
_RETRY_CODES = frozenset(
    {
        pb.transaction.TxValidationCode.MVCC_READ_CONFLICT,
        pb.transaction.TxValidationCode.PHANTOM_READ_CONFLICT,
        _DUPLICATE_TXID,
    }
)
_ERROR_STATUS = 400
_KNOWN_LIMIT = 10_000
# Payload key under which a submit result names the Fabric transaction id it committed as.
FABRIC_TX_ID = "fabric_tx_id"


def decode_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON payload as a dict: objects as they are, other values under 'value'."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"value": value}


class FabricLedger:
    """LedgerPort over Fabric gateways: one gRPC channel per organisation's peer, opened lazily."""

    def __init__(
        self,
        connection: FabricConnection,
        identities: Mapping[str, Identity],
        channel: str | None = None,
        chaincode: str | None = None,
        *,
        deadlines: Deadlines | None = None,
        reader_msp: str | None = None,
    ) -> None:
        if not identities:
            raise ValueError("FabricLedger needs at least one identity")
        self._connection = connection
        self._identities = dict(identities)
        self.channel = channel or connection.channel or DEFAULT_CHANNEL
        self.chaincode = chaincode or connection.chaincode or DEFAULT_CHAINCODE
        self._deadlines = deadlines or Deadlines()
        # Events and chain height are the same for every member; one identity reads them.
        self._reader = reader_msp or sorted(self._identities)[0]
        self._clients: dict[str, GatewayClient] = {}
        self._lock = threading.Lock()
        # Fabric tx id -> our tx id, for events streamed by tx id; a bounded cache, since the
        # nonce of the committed transaction can always answer again.
        self._known: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def from_connection_file(
        cls, path: Path | str, msp_ids: list[str] | None = None, **kwargs: Any
    ) -> FabricLedger:
        """A ledger for the devnet's connection file, holding the identities of msp_ids (or all)."""
        connection = load_connection(path)
        return cls(connection, load_identities(connection, msp_ids), **kwargs)

    @property
    def msp_ids(self) -> list[str]:
        """The organisations whose identities this instance holds, sorted."""
        return sorted(self._identities)

    def close(self) -> None:
        """Close every gRPC channel this ledger opened."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    # -- LedgerPort ----------------------------------------------------------------------------

    def submit(self, submission: Submission) -> SubmitResult:
        """Endorse, order and wait for commit; a replay of a committed submission returns it."""
        identity = self._identity(submission.submitter_msp)
        client = self._client(submission.submitter_msp)
        args = [submission.fn.encode(), canonical_json(dict(submission.args))]
        moment = parse_timestamp(submission.timestamp) if submission.timestamp else None
        endorsers = self._endorsing_organizations(submission)
        for attempt in range(MAX_ATTEMPTS):
            proposal = build_proposal(
                identity,
                self.channel,
                self.chaincode,
                args,
                nonce=submission_nonce(submission.tx_id, attempt),
                timestamp=moment or datetime.now(UTC),
            )
            self._remember(proposal.tx_id, submission.tx_id)
            try:
                envelope = client.endorse(proposal, self.channel, endorsers)
            except CallFailed as exc:
                if not is_duplicate(exc.failure):
                    raise map_failure(exc.failure) from exc
                # This attempt is already on the ledger: its outcome is ours, unless Fabric
                # burnt the tx id on a conflict, in which case the next attempt is the retry.
                code, block = self._commit_status(client, proposal.tx_id, identity)
                if code == _VALID:
                    payload = self._committed_payload(proposal.tx_id)
                    return self._result(submission, proposal.tx_id, block, payload)
                if code in _RETRY_CODES:
                    continue
                raise _invalid(code, proposal.tx_id) from exc
            signed = sign_envelope(envelope, identity)
            try:
                client.submit(proposal.tx_id, self.channel, signed)
            except CallFailed as exc:
                raise map_failure(exc.failure) from exc
            code, block = self._commit_status(client, proposal.tx_id, identity)
            if code == _DUPLICATE_TXID:
                # A replay raced an in-flight original; the ledger knows which one committed.
                code, block = self._commit_status(client, proposal.tx_id, identity)
            if code == _VALID:
                return self._result(submission, proposal.tx_id, block, transaction_result(signed))
            raise _invalid(code, proposal.tx_id)
        raise LedgerError(f"{submission.tx_id}: all {MAX_ATTEMPTS} attempts are used up")

    def evaluate(self, fn: str, args: Mapping[str, Any], msp_id: str) -> Any:
        """Run a query on msp_id's peer and return its decoded JSON result."""
        raw = self._evaluate(msp_id, self.chaincode, [fn.encode(), canonical_json(dict(args))])
        return json.loads(raw) if raw else None

    def events(self, after_block: int) -> Iterator[LedgerEvent]:
        """Our chaincode's events of valid transactions in blocks after after_block, then stop."""
        height = self.height()
        if height - 1 <= after_block:
            return
        identity = self._identity(self._reader)
        client = self._client(self._reader)
        try:
            for block in client.blocks(self.channel, after_block + 1, height - 1, identity):
                for tx in block_transactions(block):
                    if not tx.valid or tx.event is None or tx.event.chaincode_id != self.chaincode:
                        continue
                    ours = parse_nonce(tx.nonce)
                    yield LedgerEvent(
                        block_number=tx.block_number,
                        tx_id=ours[0] if ours else tx.tx_id,
                        name=tx.event.event_name,
                        payload=decode_json_object(bytes(tx.event.payload)),
                    )
        except CallFailed as exc:
            raise map_failure(exc.failure) from exc

    def follow(
        self, after_block: int, stop: threading.Event | None = None, retry_delay: float = 1.0
    ) -> Iterator[LedgerEvent]:
        """Live events after after_block until stop is set; reconnects from the last block + 1."""
        next_block = after_block + 1
        identity = self._identity(self._reader)
        while stop is None or not stop.is_set():
            stream = self._client(self._reader).chaincode_events(
                self.channel, self.chaincode, next_block, identity
            )
            done = threading.Event()
            _cancel_when(stop, done, stream)
            try:
                for response in stream:
                    for event in response.events:
                        yield LedgerEvent(
                            block_number=int(response.block_number),
                            tx_id=self._our_tx_id(event.tx_id),
                            name=event.event_name,
                            payload=decode_json_object(bytes(event.payload)),
                        )
                    # Responses carry whole blocks, so resuming after this one loses nothing.
                    next_block = int(response.block_number) + 1
            except CallFailed as exc:
                error = map_failure(exc.failure)
                if not isinstance(error, Unavailable):
                    raise error from exc
                log.warning("event stream interrupted (%s); resuming at block %d", exc, next_block)
                time.sleep(retry_delay)
            finally:
                done.set()
                stream.close()

    def verify(self) -> VerifyReport:
        """Fabric peers verify every block on commit; here the chain height must be readable."""
        try:
            height = self.height()
        except LedgerError as exc:
            return VerifyReport(False, 0, None, f"the chain height could not be read: {exc}")
        return VerifyReport(
            True,
            height,
            None,
            "Fabric peers check block hashes, orderer signatures and endorsement policies as "
            f"they commit; channel {self.channel} is readable at height {height}",
        )

    # -- Fabric specifics ----------------------------------------------------------------------

    def height(self) -> int:
        """Number of blocks on the channel (the genesis block included), read with qscc."""
        raw = self._evaluate(self._reader, QSCC, [b"GetChainInfo", self.channel.encode()])
        return int(pb.ledger.BlockchainInfo.FromString(raw).height)

    def fabric_tx_id(self, submission: Submission, attempt: int = 0) -> str:
        """The Fabric tx id attempt number `attempt` of submission is submitted under."""
        creator = self._identity(submission.submitter_msp).creator
        return fabric_tx_id(submission_nonce(submission.tx_id, attempt), creator)

    # -- internals -----------------------------------------------------------------------------

    def _identity(self, msp_id: str) -> Identity:
        identity = self._identities.get(msp_id)
        if identity is None:
            held = ", ".join(sorted(self._identities))
            raise Rejected("UNKNOWN_ORG", f"this service holds no identity of {msp_id} ({held})")
        return identity

    def _client(self, msp_id: str) -> GatewayClient:
        with self._lock:
            client = self._clients.get(msp_id)
            if client is None:
                endpoint = self._connection.endpoint(msp_id)
                client = GatewayClient(open_channel(endpoint), self._deadlines)
                self._clients[msp_id] = client
            return client

    def _endorsing_organizations(self, submission: Submission) -> list[str]:
        if not submission.endorsers:
            return []
        return list(dict.fromkeys((submission.submitter_msp, *submission.endorsers)))

    def _evaluate(self, msp_id: str, chaincode: str, args: list[bytes]) -> bytes:
        proposal = build_proposal(self._identity(msp_id), self.channel, chaincode, args)
        try:
            response = self._client(msp_id).evaluate(proposal, self.channel)
        except CallFailed as exc:
            raise map_failure(exc.failure) from exc
        if response.status >= _ERROR_STATUS:
            # A gateway normally turns a chaincode error into a gRPC error; this is the fallback.
            text = f"chaincode response {response.status}, {response.message}"
            raise Rejected(*(parse_chaincode_refusal(text) or ("CHAINCODE_ERROR", text)))
        return bytes(response.payload)

    def _commit_status(
        self, client: GatewayClient, tx_id: str, identity: Identity
    ) -> tuple[int, int]:
        try:
            return client.commit_status(tx_id, self.channel, identity)
        except CallFailed as exc:
            raise map_failure(exc.failure) from exc

    def _committed_payload(self, fabric_tx_id: str) -> bytes:
        # A replay has no envelope of its own: read the original's result back from the ledger.
        # The commit status already decided success, so a failed read only loses the payload.
        try:
            raw = self._evaluate(
                self._reader,
                QSCC,
                [b"GetTransactionByID", self.channel.encode(), fabric_tx_id.encode()],
            )
            processed = pb.transaction.ProcessedTransaction.FromString(raw)
            return transaction_result(processed.transactionEnvelope)
        except (LedgerError, DecodeError, MalformedTransaction) as exc:
            log.warning("could not read back the result of %s: %s", fabric_tx_id, exc)
            return b""

    def _result(
        self, submission: Submission, fabric_tx_id: str, block: int, raw: bytes
    ) -> SubmitResult:
        payload = decode_json_object(raw)
        payload[FABRIC_TX_ID] = fabric_tx_id
        return SubmitResult(tx_id=submission.tx_id, block_number=block, payload=payload)

    def _remember(self, fabric_tx_id: str, tx_id: str) -> None:
        with self._lock:
            self._known[fabric_tx_id] = tx_id
            self._known.move_to_end(fabric_tx_id)
            while len(self._known) > _KNOWN_LIMIT:
                self._known.popitem(last=False)

    def _our_tx_id(self, fabric_tx_id: str) -> str:
        with self._lock:
            known = self._known.get(fabric_tx_id)
        if known is not None:
            return known
        # Submitted by another process: our tx id is in the nonce of the committed transaction.
        try:
            raw = self._evaluate(
                self._reader,
                QSCC,
                [b"GetTransactionByID", self.channel.encode(), fabric_tx_id.encode()],
            )
        except LedgerError:
            return fabric_tx_id
        processed = pb.transaction.ProcessedTransaction.FromString(raw)
        _channel_header, signature_header = envelope_header(processed.transactionEnvelope)
        ours = parse_nonce(bytes(signature_header.nonce))
        tx_id = ours[0] if ours else fabric_tx_id
        self._remember(fabric_tx_id, tx_id)
        return tx_id


def _invalid(code: int, fabric_tx_id: str) -> LedgerError:
    error = map_validation_code(code, fabric_tx_id)
    return error if error is not None else LedgerError(f"{fabric_tx_id}: unexpected VALID")


def _cancel_when(
    stop: threading.Event | None, done: threading.Event, stream: ChaincodeEventStream
) -> None:
    """Cancel stream once stop is set, so a reader blocked on it wakes; quits when done is set."""
    if stop is None:
        return

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                stream.close()
                return

    threading.Thread(target=watch, name="fabric-events-stop", daemon=True).start()
