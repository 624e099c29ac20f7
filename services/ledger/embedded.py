"""The embedded ledger: the real contract run in process over SQL, in hash-chained signed blocks."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chaincode.canonical import canonical_json, sha256_hex
from chaincode.errors import ContractError
from chaincode.stub import Creator, Stub
from services.ledger.embedded_tables import LedgerBlock, LedgerOrg, LedgerRejection, LedgerState
from services.ledger.port import (
    Conflict,
    LedgerError,
    LedgerEvent,
    Rejected,
    Submission,
    SubmitResult,
    VerifyReport,
)
from services.ledger.signing import Keyring, verify
from services.ledger.sqlstub import SqlStub

GENESIS_HASH = "0" * 64
_PAGE = 500


class Contract(Protocol):
    """What the embedded ledger needs from a contract: one entry point over a stub."""

    def invoke(self, stub: Stub, fn: str, args_json: str) -> bytes:
        """Run fn with JSON args and return the canonical JSON of its result."""
        ...


class _Unrecorded(Rejected):
    """A rejection that must not be written to the rejection table (again)."""


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with a Z suffix, the form transaction timestamps take."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def block_hash(block: LedgerBlock) -> str:
    """SHA-256 over every block field except the hash itself and the endorsements."""
    header = {
        "number": block.number,
        "tx_id": block.tx_id,
        "fn": block.fn,
        "args": block.args,
        "submitter_msp": block.submitter_msp,
        "timestamp": block.timestamp,
        "writes": block.writes,
        "event_name": block.event_name,
        "event_payload": block.event_payload,
        "result": block.result,
        "prev_hash": block.prev_hash,
    }
    return sha256_hex(canonical_json(header))


def _text(value: Any) -> str:
    return canonical_json(value).decode("utf-8")


def _decode_payload(text: str | None) -> Mapping[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


class EmbeddedLedger:
    """A single-node ledger in the service's database, implementing LedgerPort."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        contract: Contract,
        orgs: Mapping[str, str],
        keyring: Keyring,
        required_endorsers: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._contract = contract
        self._orgs = dict(orgs)
        self._keyring = keyring
        self._required = {fn: frozenset(roles) for fn, roles in (required_endorsers or {}).items()}
        # One writer at a time keeps block numbers dense and every read current (no MVCC needed).
        self._lock = threading.Lock()
        self._orgs_registered = False

    def register_orgs(self) -> None:
        """Store each org's role and public key; a changed key or role is refused."""
        with self._sessions() as session, session.begin():
            for msp_id, role in sorted(self._orgs.items()):
                pem = self._keyring.public_pem(msp_id).decode("ascii")
                row = session.get(LedgerOrg, msp_id)
                if row is None:
                    session.add(LedgerOrg(msp_id=msp_id, role=role, public_pem=pem))
                elif row.public_pem != pem or row.role != role:
                    # Replacing a key would make every earlier endorsement unverifiable.
                    raise LedgerError(f"org {msp_id} is registered with a different key or role")
        self._orgs_registered = True

    def submit(self, submission: Submission) -> SubmitResult:
        """Endorse, order and commit one transaction; idempotent on tx_id."""
        with self._lock:
            if not self._orgs_registered:
                self.register_orgs()
            try:
                try:
                    return self._submit_locked(submission)
                except IntegrityError as exc:
                    # Another process sharing the database committed first.
                    with self._sessions() as session:
                        previous = self._previous_outcome(session, submission.tx_id)
                    if previous is not None:
                        return previous
                    raise Conflict(f"concurrent commit on {submission.tx_id}") from exc
            except _Unrecorded as exc:
                raise Rejected(exc.code, exc.message) from exc.__cause__

    def evaluate(self, fn: str, args: Mapping[str, Any], msp_id: str) -> Any:
        """Run a query on committed state; a query that writes is rejected."""
        creator = self._creator(msp_id)
        with self._sessions() as session:
            stub = SqlStub(
                session, tx_id="", timestamp=utc_timestamp(), creator=creator, read_only=True
            )
            try:
                raw = self._contract.invoke(stub, fn, _text(dict(args)))
            except ContractError as exc:
                raise Rejected(exc.code, exc.message) from exc
        return json.loads(raw) if raw else None

    def events(self, after_block: int) -> Iterator[LedgerEvent]:
        """One event per block above after_block, oldest first; blocks without one have name ''."""
        cursor = after_block
        while True:
            with self._sessions() as session:
                blocks = list(
                    session.scalars(
                        select(LedgerBlock)
                        .where(LedgerBlock.number > cursor)
                        .order_by(LedgerBlock.number)
                        .limit(_PAGE)
                    )
                )
            if not blocks:
                return
            for block in blocks:
                cursor = block.number
                yield LedgerEvent(
                    block_number=block.number,
                    tx_id=block.tx_id,
                    name=block.event_name or "",
                    payload=_decode_payload(block.event_payload),
                )

    def verify(self) -> VerifyReport:
        """Re-check hashes, links, numbering, endorsements and the world state against the log."""
        with self._sessions() as session:
            orgs = {row.msp_id: row for row in session.scalars(select(LedgerOrg))}
            replayed: dict[str, tuple[str, int]] = {}
            expected_number = 1
            prev_hash = GENESIS_HASH
            count = 0
            while True:
                page = list(
                    session.scalars(
                        select(LedgerBlock)
                        .where(LedgerBlock.number >= expected_number)
                        .order_by(LedgerBlock.number)
                        .limit(_PAGE)
                    )
                )
                if not page:
                    break
                for block in page:
                    problem = self._check_block(block, expected_number, prev_hash, orgs)
                    if problem is not None:
                        return VerifyReport(False, count, problem[0], problem[1])
                    for key, value in json.loads(block.writes).items():
                        if value is None:
                            replayed.pop(key, None)
                        else:
                            replayed[key] = (value, block.number)
                    count += 1
                    prev_hash = block.hash
                    expected_number = block.number + 1
            stored = {
                row.key: (row.value, row.version) for row in session.scalars(select(LedgerState))
            }
        for key in sorted(set(replayed) | set(stored)):
            if replayed.get(key) != stored.get(key):
                culprit = (replayed.get(key) or stored.get(key) or ("", None))[1]
                return VerifyReport(
                    False, count, culprit, f"world state key {key!r} does not match the block log"
                )
        return VerifyReport(True, count)

    # -- internals -------------------------------------------------------------------------

    def _submit_locked(self, submission: Submission) -> SubmitResult:
        with self._sessions() as session:
            with session.begin():
                previous = self._previous_outcome(session, submission.tx_id)
                if previous is not None:
                    return previous
                timestamp = submission.timestamp or utc_timestamp()
                try:
                    return self._commit(session, submission, timestamp)
                except ContractError as exc:
                    rejection = Rejected(exc.code, exc.message)
                    rejection.__cause__ = exc
                except _Unrecorded:
                    raise
                except Rejected as exc:
                    rejection = exc
                # Nothing was written in this transaction, so leaving it commits no block.
            with session.begin():
                session.add(
                    LedgerRejection(
                        tx_id=submission.tx_id,
                        fn=submission.fn,
                        submitter_msp=submission.submitter_msp,
                        code=rejection.code,
                        message=rejection.message,
                        timestamp=timestamp,
                    )
                )
            raise rejection

    def _commit(self, session: Session, submission: Submission, timestamp: str) -> SubmitResult:
        creator = self._creator(submission.submitter_msp)
        endorsers = self._endorsers(submission)
        self._check_policy(submission.fn, endorsers)
        args_text = _text(dict(submission.args))
        # The chain tip is read before any state: should another process commit in between,
        # the block number collides and the submit becomes a Conflict instead of a stale write.
        tip = self._tip(session)
        stub = SqlStub(session, tx_id=submission.tx_id, timestamp=timestamp, creator=creator)
        try:
            raw = self._contract.invoke(stub, submission.fn, args_text)
        except (ContractError, LedgerError):
            raise
        except Exception as exc:
            # A contract bug is not worth retrying, but it is not a business refusal either,
            # so it is reported without being recorded: a fixed contract may accept the tx.
            raise _Unrecorded("CONTRACT_FAILURE", f"{type(exc).__name__}: {exc}") from exc
        block = self._build_block(submission, timestamp, args_text, stub, raw, endorsers, tip)
        session.add(block)
        for key, value in stub.writes.items():
            self._apply_write(session, key, value, block.number)
        session.flush()
        return SubmitResult(submission.tx_id, block.number, _decode_payload(block.result))

    def _tip(self, session: Session) -> tuple[int, str]:
        last = session.scalars(
            select(LedgerBlock).order_by(LedgerBlock.number.desc()).limit(1)
        ).first()
        return (0, GENESIS_HASH) if last is None else (last.number, last.hash)

    def _previous_outcome(self, session: Session, tx_id: str) -> SubmitResult | None:
        block = session.scalar(select(LedgerBlock).where(LedgerBlock.tx_id == tx_id))
        if block is not None:
            return SubmitResult(tx_id, block.number, _decode_payload(block.result))
        rejection = session.get(LedgerRejection, tx_id)
        if rejection is not None:
            raise _Unrecorded(rejection.code, rejection.message)
        return None

    def _creator(self, msp_id: str) -> Creator:
        role = self._orgs.get(msp_id)
        if role is None:
            raise Rejected("UNKNOWN_ORG", f"{msp_id} is not a member of this network")
        return Creator(msp_id=msp_id, role=role)

    def _endorsers(self, submission: Submission) -> list[str]:
        endorsers = list(dict.fromkeys((submission.submitter_msp, *submission.endorsers)))
        for msp_id in endorsers:
            if msp_id not in self._orgs:
                raise Rejected("UNKNOWN_ORG", f"endorser {msp_id} is not a member of this network")
        return endorsers

    def _check_policy(self, fn: str, endorsers: list[str]) -> None:
        missing = self._missing_roles(fn, {self._orgs[m] for m in endorsers})
        if missing:
            raise Rejected(
                "ENDORSEMENT_POLICY_FAILURE",
                f"{fn} needs an endorsement from role(s): {', '.join(missing)}",
            )

    def _missing_roles(self, fn: str, roles: set[str]) -> list[str]:
        return sorted(self._required.get(fn, frozenset()) - roles)

    def _build_block(
        self,
        submission: Submission,
        timestamp: str,
        args_text: str,
        stub: SqlStub,
        raw: bytes,
        endorsers: list[str],
        tip: tuple[int, str],
    ) -> LedgerBlock:
        event = stub.event
        result = json.loads(raw) if raw else {}
        block = LedgerBlock(
            number=tip[0] + 1,
            tx_id=submission.tx_id,
            fn=submission.fn,
            args=args_text,
            submitter_msp=submission.submitter_msp,
            timestamp=timestamp,
            writes=_text(stub.writes),
            event_name=None if event is None else event[0],
            event_payload=None if event is None else event[1],
            result=_text(result),
            prev_hash=tip[1],
        )
        block.hash = block_hash(block)
        block.endorsements = _text(
            [
                {
                    "msp": msp_id,
                    "signature": base64.b64encode(
                        self._keyring.sign(msp_id, block.hash.encode("ascii"))
                    ).decode("ascii"),
                }
                for msp_id in endorsers
            ]
        )
        return block

    def _apply_write(self, session: Session, key: str, value: str | None, number: int) -> None:
        row = session.get(LedgerState, key)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(LedgerState(key=key, value=value, version=number))
        else:
            row.value = value
            row.version = number

    def _check_block(
        self,
        block: LedgerBlock,
        expected_number: int,
        prev_hash: str,
        orgs: Mapping[str, LedgerOrg],
    ) -> tuple[int, str] | None:
        if block.number != expected_number:
            return expected_number, f"block {expected_number} is missing (found {block.number})"
        if block_hash(block) != block.hash:
            return block.number, "stored hash does not match the block's contents"
        if block.prev_hash != prev_hash:
            return block.number, "prev_hash does not link to the previous block"
        try:
            endorsements = json.loads(block.endorsements)
            signed = {
                item["msp"]: base64.b64decode(item["signature"], validate=True)
                for item in endorsements
            }
        except (ValueError, KeyError, TypeError):
            return block.number, "endorsements are unreadable"
        if block.submitter_msp not in signed:
            return block.number, f"submitter {block.submitter_msp} did not endorse"
        roles: set[str] = set()
        for msp_id, signature in signed.items():
            org = orgs.get(msp_id)
            if org is None:
                return block.number, f"endorser {msp_id} is not a registered org"
            if not verify(org.public_pem.encode("ascii"), block.hash.encode("ascii"), signature):
                return block.number, f"endorsement signature of {msp_id} is invalid"
            roles.add(org.role)
        missing = self._missing_roles(block.fn, roles)
        if missing:
            return block.number, f"endorsement policy not met: missing {', '.join(missing)}"
        return None
