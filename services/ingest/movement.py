"""Unauthorised movement from tag reads: pledged tags that left their bay without a release order.

For each pledged tag (a tag of a lot whose receipt is pledged) the reads decide whether it left
its bay (silent past the read window) or passed an exit gate. A departure that no open or
executed release order of its lot covers becomes an EPCIS OBSERVE/departing/in_transit event,
marked `pw:unauthorised`, and an `unauthorised_movement` alert to the lien-holding bank and the
warehouse, with the reads as evidence. The event names only the last bay read and the first
gate read, so a tag that keeps being seen at the gate yields the same event hash: the event is
recorded once and the alert raised once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pledge.alert_service import raise_unauthorised_movement
from pledge.alerts import Alert, Evidence, evidence
from pledge.epcis import Action, ObjectEvent, bay_location, canonical_epc, format_offset
from pledge.epcis_service import record_event
from pledge.model import Lot, OrderStatus, ReceiptStatus
from pledge.presence import (
    DEFAULT_WINDOW,
    Placement,
    Sighting,
    TagState,
    Verdict,
    bay_readers,
    gate_readers,
    tag_verdict,
)
from services.ingest.placement import all_placements
from services.ingest.readers import DEFAULT_HEARTBEAT_TIMEOUT, offline_readers
from services.ingest.tables import TagReadRow
from services.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

READER_PREFIX = "urn:pledgewatch:reader:"
# Orders that let goods go: open ones are being executed now, executed ones already were.
RELEASING = (OrderStatus.OPEN, OrderStatus.EXECUTED)


@dataclass(frozen=True)
class PledgedTag:
    """A tag under a lien: its lot and who must hear when it moves."""

    epc: str
    lot: Lot
    bank_org_id: str
    warehouse_org_id: str


@dataclass(frozen=True)
class Departure:
    """A pledged tag that left without a release order, and the event that records it."""

    tag: PledgedTag
    verdict: Verdict
    event_hash: str
    proof: Evidence


def pledged_tags(uow: SqlUnitOfWork) -> dict[str, PledgedTag]:
    """Every tag of a lot whose receipt is pledged, by canonical EPC."""
    tags: dict[str, PledgedTag] = {}
    for receipt in uow.receipts.find(status=ReceiptStatus.PLEDGED):
        lot = uow.lots.get(receipt.lot_id)
        loan = uow.loans.get(receipt.loan_id) if receipt.loan_id else None
        if lot is None or loan is None:
            continue
        for epc in lot.epcs:
            key = canonical_epc(epc)
            tags[key] = PledgedTag(key, lot, loan.bank_org_id, receipt.warehouse_org_id)
    return tags


def covered_by_release(uow: SqlUnitOfWork, lot_id: str, epc: str) -> bool:
    """Whether an open or executed release order of the lot lets this tag go."""
    for order in uow.orders.find(lot_id=lot_id):
        if order.status not in RELEASING:
            continue
        # An order naming no tags releases a quantity of untagged or bulk goods of the lot.
        if not order.epcs or epc in {canonical_epc(e) for e in order.epcs}:
            return True
    return False


def tag_sightings(session: Session, epc: str, in_bay: set[str], gates: set[str]) -> list[Sighting]:
    """The tag's last read in its bay, and its first exit-gate read after that."""
    found: list[Sighting] = []
    last = None
    if in_bay:
        last = session.execute(
            select(TagReadRow.reader_id, TagReadRow.seen_at)
            .where(TagReadRow.epc == epc, TagReadRow.reader_id.in_(in_bay))
            .order_by(TagReadRow.seen_at.desc())
            .limit(1)
        ).first()
        if last is not None:
            found.append(Sighting(epc, last.reader_id, last.seen_at))
    if gates:
        query = select(TagReadRow.reader_id, TagReadRow.seen_at).where(
            TagReadRow.epc == epc, TagReadRow.reader_id.in_(gates)
        )
        if last is not None:
            query = query.where(TagReadRow.seen_at > last.seen_at)
        first = session.execute(query.order_by(TagReadRow.seen_at).limit(1)).first()
        if first is not None:
            found.append(Sighting(epc, first.reader_id, first.seen_at))
    return found


def proof_of(sightings: Iterable[Sighting]) -> tuple[list[dict[str, str]], str]:
    """The reads as plain JSON, and the sha256 of their canonical form (sorted keys, compact)."""
    reads = [
        {"epc": s.epc, "reader_id": s.reader_id, "seen_at": s.seen_at.astimezone(UTC).isoformat()}
        for s in sightings
    ]
    canonical = json.dumps(reads, sort_keys=True, separators=(",", ":"))
    return reads, hashlib.sha256(canonical.encode()).hexdigest()


def departure_event(tag: PledgedTag, verdict: Verdict) -> ObjectEvent:
    """The EPCIS event of an unauthorised departure: OBSERVE, departing, in_transit, marked."""
    assert verdict.left_at is not None
    reads, digest = proof_of(verdict.proof)
    where = verdict.proof[-1].reader_id
    return ObjectEvent(
        event_time=verdict.left_at,
        event_time_zone_offset=format_offset(verdict.left_at),
        action=Action.OBSERVE,
        biz_step="departing",
        disposition="in_transit",
        epc_list=(tag.epc,),
        read_point=READER_PREFIX + where,
        biz_location=bay_location(tag.lot.bay_id),
        extensions={
            "pw:unauthorised": True,
            "pw:lotId": tag.lot.id,
            "pw:how": verdict.state.value,
            "pw:reads": reads,
            "pw:readsSha256": digest,
        },
    )


def check_movements(
    session_factory: sessionmaker[Session],
    now: datetime,
    epcs: Iterable[str] | None = None,
    *,
    window: timedelta = DEFAULT_WINDOW,
    heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
) -> list[Alert]:
    """Record and alert every new unauthorised departure among `epcs` (None: all pledged tags)."""
    with SqlUnitOfWork.start(session_factory) as uow:
        places = all_placements(uow.session)
        if not places:
            return []
        pledged = pledged_tags(uow)
        wanted = (
            pledged
            if epcs is None
            else {e: pledged[e] for e in {canonical_epc(x) for x in epcs} if e in pledged}
        )
        if not wanted:
            return []
        offline = offline_readers(uow.session, now, heartbeat_timeout)
        departures = [
            d
            for tag in wanted.values()
            if (d := _departure(uow, tag, places, offline, now, window)) is not None
        ]
        return _raise(uow, now, departures)


def _departure(
    uow: SqlUnitOfWork,
    tag: PledgedTag,
    places: list[Placement],
    offline: list[str],
    now: datetime,
    window: timedelta,
) -> Departure | None:
    lot = tag.lot
    in_bay, gates = bay_readers(places, lot.bay_id), gate_readers(places, lot.warehouse_id)
    verdict = tag_verdict(
        tag_sightings(uow.session, tag.epc, in_bay, gates),
        bay_id=lot.bay_id,
        warehouse_id=lot.warehouse_id,
        placements=places,
        offline=offline,
        now=now,
        window=window,
    )
    if not verdict.gone or covered_by_release(uow, lot.id, tag.epc):
        return None
    record, new = record_event(
        uow, tag.warehouse_org_id, lot.warehouse_id, departure_event(tag, verdict), now
    )
    if not new:
        # Already recorded and alerted: the same departure seen again.
        return None
    _, digest = proof_of(verdict.proof)
    return Departure(
        tag, verdict, record.event_hash, evidence("tag_reads", record.event_hash, digest)
    )


def _raise(uow: SqlUnitOfWork, now: datetime, departures: list[Departure]) -> list[Alert]:
    by_lot: dict[str, list[Departure]] = {}
    for departure in departures:
        by_lot.setdefault(departure.tag.lot.id, []).append(departure)
    alerts: list[Alert] = []
    for group in by_lot.values():
        tag = group[0].tag
        gated = sum(d.verdict.state is TagState.PASSED_EXIT_GATE for d in group)
        alerts += raise_unauthorised_movement(
            uow,
            now,
            org_ids=(tag.bank_org_id, tag.warehouse_org_id),
            warehouse_id=tag.lot.warehouse_id,
            bay_id=tag.lot.bay_id,
            lot_id=tag.lot.id,
            epcs=[d.tag.epc for d in group],
            proof=[d.proof for d in group],
            detail=(
                f"{len(group)} pledged tag(s) gone without a release order: "
                f"{gated} seen at an exit gate, {len(group) - gated} silent past the read window"
            ),
        )
    return alerts


class BatchMovementCheck:
    """The ingest worker's `on_batch` callback: check only the tags the last batches brought."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        window: timedelta = DEFAULT_WINDOW,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
    ) -> None:
        """Start watching reads received from now on."""
        self._sessions = session_factory
        self._clock = clock
        self._window = window
        self._timeout = heartbeat_timeout
        self._since = clock()
        self.alerts_raised = 0
        self.runs = 0

    def __call__(self, _messages: int) -> None:
        """Run the movement check for the EPCs received since the previous call."""
        # The worker stamps a batch before writing it and calls back after, on the same thread:
        # a batch written after this moment is stamped later, so none falls between two calls.
        started = self._clock()
        try:
            with self._sessions() as session:
                epcs = list(
                    session.scalars(
                        select(TagReadRow.epc)
                        .where(TagReadRow.received_at >= self._since)
                        .distinct()
                    )
                )
            self._since = started
            if epcs:
                alerts = check_movements(
                    self._sessions,
                    started,
                    epcs,
                    window=self._window,
                    heartbeat_timeout=self._timeout,
                )
                self.alerts_raised += len(alerts)
        except IntegrityError:
            # The scheduled check recorded the same departure at the same moment: it alerted.
            log.info("a concurrent movement check recorded the same departure")
        except Exception:
            # The scheduled check covers every pledged tag, so a failure here is caught up there.
            log.exception("the movement check after a batch failed")
        finally:
            self.runs += 1
