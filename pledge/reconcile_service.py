"""Reconciliation use cases: count each bay four ways; on a mismatch record, freeze and alert."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pledge.alerts import AlertDraft, AlertType, Severity
from pledge.epcis import BizStep, Disposition, QuantityElement, commodity_class
from pledge.epcis_service import quantity_event, record_event
from pledge.errors import Conflict, NotFound
from pledge.model import ReceiptStatus, Warehouse
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context, PledgeUnitOfWork
from pledge.reconcile import (
    BayCounts,
    BayFreeze,
    BayVerdict,
    Tolerances,
    reconcile_bay,
    tolerance_for,
)


class TagPresence(Protocol):
    """Tag presence per bay, from the ingest worker's smoothed reads."""

    def quantity_present(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """Quantity the present tags stand for, in the commodity's unit; None: no reader data."""
        ...


class CameraCounts(Protocol):
    """Camera counts per bay, from the vision pipeline."""

    def count_in_bay(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """Quantity the cameras see, in the commodity's unit; None: no camera watches it."""
        ...


class FreezeStore(Protocol):
    """Freezes of bays, written in the unit of work's transaction."""

    def active(self, bay_id: str) -> BayFreeze | None:
        """The freeze currently stopping releases from the bay, or None."""
        ...

    def latest(self, bay_id: str) -> BayFreeze | None:
        """The most recent freeze of the bay, active or resolved."""
        ...

    def add(self, freeze: BayFreeze) -> None:
        """Store a new freeze."""
        ...


class InMemoryCounts:
    """Counts held in a dict: a stand-in for tag presence or camera counts without workers."""

    def __init__(self, counts: Mapping[tuple[str, str], Decimal] | None = None) -> None:
        self._counts = dict(counts or {})

    def set(self, bay_id: str, commodity_code: str, quantity: Decimal | int | None) -> None:
        """Report a count for a bay and commodity (None: no data)."""
        key = (bay_id, commodity_code)
        if quantity is None:
            self._counts.pop(key, None)
        else:
            self._counts[key] = Decimal(quantity)

    def quantity_present(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """The reported tag quantity, or None."""
        return self._counts.get((bay_id, commodity_code))

    def count_in_bay(self, bay_id: str, commodity_code: str) -> Decimal | None:
        """The reported camera count, or None."""
        return self._counts.get((bay_id, commodity_code))


@dataclass(frozen=True)
class Sensors:
    """Where the tag and camera counts come from."""

    tags: TagPresence = field(default_factory=InMemoryCounts)
    camera: CameraCounts = field(default_factory=InMemoryCounts)


# Called inside the unit of work, so the alert commits with the freeze (see alert_service).
AlertHook = Callable[[PledgeUnitOfWork, datetime, AlertDraft], object]


def no_alert(_uow: PledgeUnitOfWork, _now: datetime, _draft: AlertDraft) -> None:
    """An alert hook that raises nothing (for callers without an alert service)."""
    return None


def freezes_of(uow: PledgeUnitOfWork) -> FreezeStore:
    """The freeze store that writes in the same transaction as this unit of work."""
    own = getattr(uow, "bay_freezes", None)
    if own is not None:
        store: FreezeStore = own
        return store
    raise RuntimeError("this unit of work has no freeze store (bay_freezes)")


def check_not_frozen(uow: PledgeUnitOfWork, bay_id: str) -> None:
    """Refuse a release from a bay whose reconciliation found a mismatch not yet resolved."""
    freeze = freezes_of(uow).active(bay_id)
    if freeze is not None:
        raise Conflict(
            "bay_frozen",
            f"releases from this bay are frozen since {freeze.created_at.isoformat()}: "
            f"{freeze.reason}",
        )


def bay_counts(
    uow: PledgeUnitOfWork,
    warehouse_id: str,
    sensors: Sensors,
    bays: Collection[str] | None = None,
) -> list[BayCounts]:
    """The four counts of every bay (or only `bays`) and commodity on the book or under pledge."""
    book: dict[tuple[str, str], Decimal] = {}
    pledged: dict[tuple[str, str], Decimal] = {}
    for lot in uow.lots.find(warehouse_id=warehouse_id):
        if bays is not None and lot.bay_id not in bays:
            continue
        key = (lot.bay_id, lot.commodity_code)
        if lot.quantity > 0:
            book[key] = book.get(key, Decimal(0)) + lot.quantity
        for receipt in uow.receipts.find(lot_id=lot.id, status=ReceiptStatus.PLEDGED):
            pledged[key] = pledged.get(key, Decimal(0)) + receipt.quantity
    keys = sorted(set(book) | set(pledged))
    return [
        BayCounts(
            bay_id,
            code,
            pledged=pledged.get((bay_id, code), Decimal(0)),
            book=book.get((bay_id, code), Decimal(0)),
            tags=sensors.tags.quantity_present(bay_id, code),
            camera=sensors.camera.count_in_bay(bay_id, code),
        )
        for bay_id, code in keys
    ]


def run_reconciliation(
    uow: PledgeUnitOfWork,
    ctx: Context,
    warehouse: Warehouse,
    sensors: Sensors,
    tolerances: Tolerances,
    alert: AlertHook = no_alert,
    *,
    bays: Collection[str] | None = None,
    settling: Collection[str] = (),
) -> list[BayVerdict]:
    """Reconcile a warehouse's bays (or only `bays`); freeze and alert new mismatches (no commit).

    A bay in `settling` had goods move moments ago: its sensors may still show the old stock,
    so it is reported but neither frozen nor alerted; its own request reconciles it later.
    """
    verdicts = [
        reconcile_bay(counts, tolerance_for(tolerances, counts.commodity_code))
        for counts in bay_counts(uow, warehouse.id, sensors, bays)
    ]
    by_bay: dict[str, list[BayVerdict]] = {}
    for verdict in verdicts:
        if verdict.mismatched and verdict.bay_id not in settling:
            by_bay.setdefault(verdict.bay_id, []).append(verdict)
    for bay_id, mismatches in sorted(by_bay.items()):
        # A bay already frozen stays frozen; repeating the event and alert adds only noise.
        if freezes_of(uow).active(bay_id) is None:
            alert(uow, ctx.now, _freeze(uow, ctx, warehouse, bay_id, mismatches))
    return verdicts


def _freeze(
    uow: PledgeUnitOfWork,
    ctx: Context,
    warehouse: Warehouse,
    bay_id: str,
    mismatches: list[BayVerdict],
) -> AlertDraft:
    findings: list[dict[str, object]] = [
        {
            "commodity_code": v.commodity_code,
            "reference": str(v.reference),
            "allowed": str(v.allowed),
            "sources": [s.as_dict() for s in v.sources],
        }
        for v in mismatches
    ]
    reason = "; ".join(
        f"{v.commodity_code}: {', '.join(s.source.value for s in v.mismatched)} "
        f"disagree with {v.reference}"
        for v in mismatches
    )
    first = mismatches[0]
    event = quantity_event(
        bay_id,
        first.commodity_code,
        first.reference or Decimal(0),
        ctx.now,
        biz_step=BizStep.STOCK_TAKING.value,
        disposition=Disposition.MISMATCH_QUANTITY.value,
        extensions={"pw:findings": findings},
    )
    others = tuple(
        QuantityElement(commodity_class(v.commodity_code), v.reference or Decimal(0))
        for v in mismatches[1:]
    )
    if others:
        event = replace(event, quantity_list=event.quantity_list + others)
    record, _ = record_event(uow, warehouse.org_id, warehouse.id, event, ctx.now)
    freeze = BayFreeze(
        uuid.uuid4().hex, bay_id, warehouse.id, reason, record.event_hash, findings, ctx.now
    )
    freezes_of(uow).add(freeze)
    return AlertDraft(
        org_id=warehouse.org_id,
        type=AlertType.RECONCILIATION_MISMATCH,
        severity=Severity.CRITICAL,
        title=f"Stock mismatch in bay {bay_id}: releases frozen",
        dedup_key=f"reconciliation:{bay_id}",
        subject={"warehouse_id": warehouse.id, "bay_id": bay_id, "event_hash": record.event_hash},
        detail=reason,
    )


def reconcile_warehouse(
    uow: PledgeUnitOfWork,
    actor: Actor,
    ctx: Context,
    warehouse_id: str,
    sensors: Sensors,
    tolerances: Tolerances,
    alert: AlertHook = no_alert,
    settling: Collection[str] = (),
) -> list[BayVerdict]:
    """Reconcile one of the actor's warehouses now; freezes, events and alerts commit together.

    Bays in `settling` had goods move moments ago: reported, but not frozen yet.
    """
    actor.require(OrgKind.WAREHOUSE)
    warehouse = own_warehouse(uow, actor, warehouse_id)
    verdicts = run_reconciliation(
        uow, ctx, warehouse, sensors, tolerances, alert, settling=settling
    )
    uow.commit()
    return verdicts


def own_warehouse(uow: PledgeUnitOfWork, actor: Actor, warehouse_id: str) -> Warehouse:
    """The actor's own warehouse; anyone else's answers not found."""
    warehouse = uow.warehouses.get(warehouse_id)
    if warehouse is None or warehouse.org_id != actor.org_id:
        raise NotFound("warehouse_not_found", f"no warehouse {warehouse_id}")
    return warehouse


def _own_bay(uow: PledgeUnitOfWork, actor: Actor, bay_id: str) -> str:
    bay = uow.bays.get(bay_id)
    if bay is None:
        raise NotFound("bay_not_found", f"no bay {bay_id}")
    own_warehouse(uow, actor, bay.warehouse_id)
    return bay.id


def bay_freeze(uow: PledgeUnitOfWork, actor: Actor, bay_id: str) -> BayFreeze | None:
    """The latest freeze of one of the actor's bays (active or resolved), or None."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    return freezes_of(uow).latest(_own_bay(uow, actor, bay_id))


def resolve_freeze(
    uow: PledgeUnitOfWork, actor: Actor, ctx: Context, bay_id: str, note: str
) -> BayFreeze:
    """Lift the freeze of a bay once a person has cleared the mismatch."""
    actor.require(OrgKind.WAREHOUSE)
    freeze = freezes_of(uow).active(_own_bay(uow, actor, bay_id))
    if freeze is None:
        raise Conflict("bay_not_frozen", "releases from this bay are not frozen")
    freeze.resolved_at = ctx.now
    freeze.resolved_by = actor.user_id or actor.org_id
    freeze.note = note
    uow.commit()
    return freeze
