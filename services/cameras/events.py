"""Vision reports into the service: EPCIS events, release-order matching, alerts, bay counts.

A bay change becomes an EPCIS ObjectEvent (OBSERVE at the bay, read by the camera) carrying the
delta, the identities, the confidence and the evidence hashes; it is anchored like every EPCIS
event, and the evidence manifest is anchored too. A removal from a bay holding pledged goods is
matched against the open and executed release orders of the bay's lots, by quantity: each
camera object stands for the bay's quantity divided by its object count (from the baseline taken
at pledge time, else from the count before the removal). Orders cover what they release once;
what they do not cover raises `unauthorised_movement` to the lien bank and the warehouse.

Tamper findings raise one `camera_tamper` alert per camera and kind (signal loss: one
`camera_offline` per camera) to the warehouse and the banks lending against the camera's bays.
A tamper alert stays until a person resolves it: the camera was blind, so someone must look at
the stock before it counts again. An offline alert settles itself when frames come back: an
outage says nothing was seen, not that someone interfered.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pledge.alert_service import alerts_of, raise_unauthorised_movement, record_alert
from pledge.alerts import (
    AlertDraft,
    AlertEventKind,
    AlertState,
    AlertType,
    Evidence,
    Severity,
    settle,
)
from pledge.epcis import Action, ObjectEvent, bay_location, format_offset
from pledge.epcis_service import record_event
from pledge.errors import Forbidden, Invalid, NotFound
from pledge.model import OrderStatus, ReleaseOrder
from pledge.parties import Actor, OrgKind, Role
from services.cameras.evidence_service import accept_evidence, alert_links
from services.cameras.registry import camera_bays, device_camera, lien_banks, pledged_lots
from services.cameras.reports import BayChangeReport, TamperReport
from services.cameras.tables import BayCountRow, CameraRow, EvidenceRow, ReleaseMatchRow
from services.uow import SqlUnitOfWork
from vision.evidence import EvidenceStore
from vision.stages import MovementKind, TamperKind

log = logging.getLogger(__name__)

CAMERA_PREFIX = "urn:pledgewatch:camera:"
RELEASING = (OrderStatus.OPEN, OrderStatus.EXECUTED)
TAMPER_TITLES = {
    TamperKind.COVERED: "lens covered or scene dark",
    TamperKind.BLINDED: "blinded by light",
    TamperKind.DEFOCUSED: "out of focus",
    TamperKind.MOVED: "moved: the scene shifted",
    TamperKind.FROZEN: "frozen picture",
    TamperKind.SIGNAL_LOSS: "no signal",
}


@dataclass
class Outcome:
    """What the service made of a report."""

    evidence_id: str | None = None
    event_hash: str | None = None
    covered: bool | None = None
    alert_ids: list[str] = field(default_factory=list)


def require_device(actor: Actor) -> None:
    """Only a warehouse's device keys report vision events."""
    if Role.DEVICE not in actor.roles or actor.org_kind is not OrgKind.WAREHOUSE:
        raise Forbidden("not_a_camera_device", "vision events come from a warehouse's camera keys")


def reporting_camera(
    uow: SqlUnitOfWork, actor: Actor, camera_id: str, device_warehouse: str | None
) -> CameraRow:
    """The camera a device reports on: its org's, in the one warehouse its key is bound to."""
    require_device(actor)
    camera = device_camera(uow, actor, camera_id)
    if device_warehouse is None:
        raise Forbidden(
            "device_not_bound",
            "this device key is bound to no warehouse: bind it with "
            "PUT /warehouses/{warehouse_id}/device-keys/{key_id}",
        )
    if camera.warehouse_id != device_warehouse:
        # A stolen camera key must not write another site's history, even within the org.
        raise Forbidden("device_wrong_warehouse", "this device reports only on its own warehouse")
    return camera


def record_bay_change(
    uow: SqlUnitOfWork,
    actor: Actor,
    store: EvidenceStore,
    now: datetime,
    report: BayChangeReport,
    device_warehouse: str | None,
) -> Outcome:
    """Record a bay change: evidence, EPCIS event, counts, and an alert if pledged goods left."""
    camera = reporting_camera(uow, actor, report.camera_id, device_warehouse)
    bay = uow.bays.get(report.bay_id)
    if bay is None or bay.warehouse_id != camera.warehouse_id:
        raise NotFound("bay_not_found", f"no bay {report.bay_id} in the camera's warehouse")
    if report.count_after != report.count_before + report.delta or report.count_after < 0:
        raise Invalid("invalid_change", "count_after must be count_before + delta, not negative")
    held = pledged_lots(uow, bay.id)
    banks = {h.bank_org_id for h in held}
    proof = accept_evidence(
        uow,
        store,
        camera,
        report.evidence,
        kind="bay_change",
        bay_id=bay.id,
        at=report.at,
        parties=banks,
        now=now,
    )
    record, _ = record_event(uow, camera.org_id, camera.warehouse_id, _event(report, proof), now)
    proof.event_hash = record.event_hash
    _note_count(uow, camera, report)
    _heard_from(camera, report.at)
    outcome = Outcome(proof.id, record.event_hash)
    if report.kind is not MovementKind.REMOVED or not held:
        uow.commit()
        return outcome
    objects = -report.delta
    needed = removed_quantity(uow, bay.id, objects, report.count_before)
    # Half an object of slack: object sizes are estimates, a whole missing object is not.
    slack = needed / objects / 2
    outcome.covered = consume_orders(uow, bay.id, needed, slack, proof.id, now)
    if outcome.covered:
        uow.commit()
        return outcome
    detail = (
        f"camera {camera.id} saw {objects} object(s) leave bay {bay.code} "
        f"({report.count_before} -> {report.count_after}, confidence {report.confidence:.2f}); "
        f"no open or executed release order covers about {needed.normalize():f} of the stock"
    )
    for lot_held in held:
        alerts = raise_unauthorised_movement(
            uow,
            now,
            org_ids=(lot_held.bank_org_id, camera.org_id),
            warehouse_id=camera.warehouse_id,
            bay_id=bay.id,
            lot_id=lot_held.lot.id,
            proof=alert_links(proof),
            detail=detail,
        )
        outcome.alert_ids += [a.id for a in alerts]
    return outcome


def _event(report: BayChangeReport, proof: EvidenceRow) -> ObjectEvent:
    removed = report.kind is MovementKind.REMOVED
    return ObjectEvent(
        event_time=report.at,
        event_time_zone_offset=format_offset(report.at),
        action=Action.OBSERVE,
        biz_step="departing" if removed else "storing",
        disposition="in_transit" if removed else "in_progress",
        read_point=CAMERA_PREFIX + report.camera_id,
        biz_location=bay_location(report.bay_id),
        extensions={
            "pw:source": "camera",
            "pw:movement": report.kind.value,
            "pw:delta": report.delta,
            "pw:countBefore": report.count_before,
            "pw:countAfter": report.count_after,
            "pw:identities": sorted(report.identities),
            # Text, so the canonical hash never depends on how a float is printed.
            "pw:confidence": f"{report.confidence:.3f}",
            "pw:frameIndex": report.frame_index,
            "pw:evidenceId": proof.id,
            "pw:evidenceSha256": proof.sha256,
            "pw:snapshotSha256": proof.snapshot_sha256,
            "pw:clipSha256": proof.clip_sha256,
        },
    )


def _heard_from(camera: CameraRow, at: datetime) -> None:
    if camera.last_seen_at is None or camera.last_seen_at < at:
        camera.last_seen_at = at
    if camera.status in ("unknown", "offline"):
        camera.status = "online"


def _note_count(uow: SqlUnitOfWork, camera: CameraRow, report: BayChangeReport) -> None:
    row = uow.session.get(BayCountRow, report.bay_id)
    if row is None:
        row = BayCountRow(bay_id=report.bay_id, camera_id=camera.id, identities=[])
        uow.session.add(row)
    row.camera_id = camera.id
    row.count = report.count_after
    row.identities = sorted(report.identities) if report.count_after else []
    row.confidence = report.confidence
    row.updated_at = report.at


def _matched(uow: SqlUnitOfWork, order_id: str) -> Decimal:
    rows = uow.session.scalars(select(ReleaseMatchRow).where(ReleaseMatchRow.order_id == order_id))
    return sum((r.quantity for r in rows), Decimal(0))


def releasing_orders(uow: SqlUnitOfWork, bay_id: str) -> list[tuple[ReleaseOrder, Decimal]]:
    """Open and executed release orders of the bay's lots, oldest first, with what is left."""
    orders = [
        order
        for lot in uow.lots.find(bay_id=bay_id)
        for order in uow.orders.find(lot_id=lot.id)
        if order.status in RELEASING
    ]
    orders.sort(key=lambda o: (o.created_at, o.id))
    left = [(o, o.quantity - _matched(uow, o.id)) for o in orders]
    return [(o, q) for o, q in left if q > 0]


def removed_quantity(uow: SqlUnitOfWork, bay_id: str, objects: int, count_before: int) -> Decimal:
    """The quantity `objects` camera objects stand for in this bay."""
    row = uow.session.get(BayCountRow, bay_id)
    if row is not None and row.baseline_count and row.baseline_quantities:
        stock = sum((Decimal(v) for v in row.baseline_quantities.values()), Decimal(0))
        return stock * objects / row.baseline_count
    # No baseline: what stood in the bay just before is the book stock plus goods whose release
    # was booked but not yet seen leaving (executed orders the camera has not matched).
    book = sum((lot.quantity for lot in uow.lots.find(bay_id=bay_id)), Decimal(0))
    booked_out = sum(
        (
            left
            for order, left in releasing_orders(uow, bay_id)
            if order.status is OrderStatus.EXECUTED
        ),
        Decimal(0),
    )
    return (book + booked_out) * objects / max(count_before, objects, 1)


def consume_orders(
    uow: SqlUnitOfWork,
    bay_id: str,
    needed: Decimal,
    slack: Decimal,
    evidence_id: str,
    now: datetime,
) -> bool:
    """Use release orders to cover a removal; True (and recorded) when they cover it."""
    orders = releasing_orders(uow, bay_id)
    available = sum((left for _, left in orders), Decimal(0))
    if available + slack < needed:
        return False
    remaining = needed
    for order, left in orders:
        if remaining <= 0:
            break
        used = min(left, remaining)
        match = ReleaseMatchRow(
            id=uuid.uuid4().hex, order_id=order.id, evidence_id=evidence_id, quantity=used, at=now
        )
        uow.session.add(match)
        remaining -= used
    return True


def record_tamper(
    uow: SqlUnitOfWork,
    actor: Actor,
    store: EvidenceStore,
    now: datetime,
    report: TamperReport,
    device_warehouse: str | None,
) -> Outcome:
    """Raise (or clear) the alert of a tamper finding, with its evidence, to whom it concerns."""
    camera = reporting_camera(uow, actor, report.camera_id, device_warehouse)
    bays = camera_bays(uow, camera)
    bay_ids = sorted(b.id for b in bays)
    banks = lien_banks(uow, bay_ids)
    offline = report.kind is TamperKind.SIGNAL_LOSS
    dedup = f"camera_offline:{camera.id}" if offline else f"camera_tamper:{camera.id}:{report.kind}"
    outcome = Outcome()
    if not report.active:
        _cleared(uow, camera, report, dedup, offline, now)
        uow.commit()
        return outcome
    links: tuple[Evidence, ...] = ()
    if report.evidence is not None:
        proof = accept_evidence(
            uow,
            store,
            camera,
            report.evidence,
            kind="tamper",
            bay_id=None,
            at=report.at,
            parties=banks,
            now=now,
        )
        outcome.evidence_id = proof.id
        links = alert_links(proof)
    elif not offline:
        raise Invalid("evidence_required", "a tamper finding carries its snapshot and clip")
    camera.status = "offline" if offline else "tampered"
    camera.status_reason = report.kind.value
    subject = {
        "camera_id": camera.id,
        "warehouse_id": camera.warehouse_id,
        "kind": report.kind.value,
        "bay_ids": ",".join(bay_ids),
    }
    if len(bay_ids) == 1:
        subject["bay_id"] = bay_ids[0]
    what = TAMPER_TITLES[report.kind]
    for org_id in sorted({camera.org_id, *banks}):
        alert = record_alert(
            uow,
            now,
            AlertDraft(
                org_id=org_id,
                type=AlertType.CAMERA_OFFLINE if offline else AlertType.CAMERA_TAMPER,
                severity=Severity.WARNING if offline else Severity.CRITICAL,
                title=f"Camera {camera.name}: {what}",
                dedup_key=dedup,
                subject=subject,
                detail=(
                    f"{report.kind.value} measured {report.measure:.3f} "
                    f"at {report.at.isoformat()}; bays watched: {len(bay_ids)}"
                ),
                evidence=links,
            ),
        )
        outcome.alert_ids.append(alert.id)
    uow.commit()
    return outcome


def revalue_now(container: Any) -> None:
    """Revalue loans over bays whose monitoring a camera report just changed (errors logged)."""
    # Imported here: the monitoring job belongs to the ingest edge, which imports the uow.
    from services.ingest.monitoring import revalue_for_monitoring

    try:
        revalue_for_monitoring(container)
    except Exception:
        # The scheduled revaluation catches up; the report itself is already recorded.
        log.exception("revaluation after a camera report failed")


def _cleared(
    uow: SqlUnitOfWork,
    camera: CameraRow,
    report: TamperReport,
    dedup: str,
    offline: bool,
    now: datetime,
) -> None:
    store = alerts_of(uow)
    for alert in store.find(dedup_key=dedup):
        if alert.state is AlertState.RESOLVED:
            continue
        if offline:
            settle(alert, now, f"frames arrived again at {report.at.isoformat()}")
            store.announce(alert, AlertEventKind.RESOLVED, now)
        elif "looked normal again" not in alert.detail:
            # Stays for a person: note that the camera looks normal again, nothing more.
            alert.detail = (
                f"{alert.detail}; the camera looked normal again at {report.at.isoformat()}: "
                "check the stock, then resolve"
            )
    if camera.status_reason == report.kind.value:
        camera.status = "online"
        camera.status_reason = ""
