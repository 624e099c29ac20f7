"""Live checks: a bank asks for a fresh picture of a bay; the vision runner answers it.

Only a bank holding a lien on goods in the bay may ask. The request waits as `pending` until the
runner, which polls for them, stamps the bank's nonce onto the latest frame, signs it and stores
it as evidence (`done`), or gives up after the deadline (`failed`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import Actor, OrgKind
from services.cameras.evidence_service import accept_evidence
from services.cameras.registry import pledged_lots
from services.cameras.tables import CameraRow, LiveCheckRow
from services.uow import SqlUnitOfWork
from vision.evidence import EvidencePack, EvidenceStore
from vision.livecheck import valid_nonce

DEADLINE = timedelta(seconds=10)


def request_live_check(
    uow: SqlUnitOfWork, actor: Actor, now: datetime, bay_id: str, nonce: str
) -> LiveCheckRow:
    """A bank with a lien on goods in the bay asks for a live, nonce-stamped snapshot."""
    actor.require(OrgKind.BANK)
    bay = uow.bays.get(bay_id)
    if bay is None or actor.org_id not in {h.bank_org_id for h in pledged_lots(uow, bay_id)}:
        raise NotFound("bay_not_found", f"no bay {bay_id}")
    if not valid_nonce(nonce):
        raise Invalid("invalid_nonce", "a nonce is 4-64 letters, digits, '.', '_', ':' or '-'")
    cameras = [
        c
        for c in uow.session.scalars(
            select(CameraRow).where(CameraRow.warehouse_id == bay.warehouse_id)
        )
        if c.id in bay.polygons
    ]
    if not cameras:
        raise Conflict("no_camera", "no registered camera watches this bay")
    # The camera heard from most recently is the one most likely to answer in time.
    floor = datetime.min.replace(tzinfo=now.tzinfo)
    camera = max(cameras, key=lambda c: (c.last_seen_at or floor, c.id))
    check = LiveCheckRow(
        id=uuid.uuid4().hex,
        bay_id=bay.id,
        camera_id=camera.id,
        bank_org_id=actor.org_id,
        nonce=nonce,
        status="pending",
        detail="",
        requested_at=now,
    )
    uow.session.add(check)
    uow.commit()
    return check


def visible_check(uow: SqlUnitOfWork, actor: Actor, check_id: str) -> LiveCheckRow:
    """A live check the actor's bank asked for; any other answers not found."""
    check = uow.session.get(LiveCheckRow, check_id)
    if check is None or check.bank_org_id != actor.org_id:
        raise NotFound("live_check_not_found", f"no live check {check_id}")
    return check


def current_check(uow: SqlUnitOfWork, actor: Actor, check_id: str, now: datetime) -> LiveCheckRow:
    """A live check of the actor's bank; one left pending past its deadline is closed as failed."""
    check = visible_check(uow, actor, check_id)
    # Grace beyond the deadline: a runner answering at 9.9 s must not race this.
    if check.status == "pending" and now - check.requested_at > DEADLINE + timedelta(seconds=5):
        check.status = "failed"
        check.detail = "no camera worker answered in time"
        check.answered_at = now
        uow.commit()
    return check


def check_view(check: LiveCheckRow) -> dict[str, Any]:
    """A live check as the API shows it."""
    return {
        "id": check.id,
        "bay_id": check.bay_id,
        "camera_id": check.camera_id,
        "nonce": check.nonce,
        "status": check.status,
        "evidence_id": check.evidence_id,
        "detail": check.detail,
        "requested_at": check.requested_at,
        "answered_at": check.answered_at,
    }


def pending_checks(uow: SqlUnitOfWork, camera_ids: set[str]) -> list[LiveCheckRow]:
    """Pending checks for these cameras, oldest first."""
    stmt = (
        select(LiveCheckRow)
        .where(LiveCheckRow.status == "pending", LiveCheckRow.camera_id.in_(camera_ids))
        .order_by(LiveCheckRow.requested_at)
    )
    return list(uow.session.scalars(stmt))


def answer_check(
    uow: SqlUnitOfWork, store: EvidenceStore, check_id: str, pack: EvidencePack, now: datetime
) -> LiveCheckRow:
    """Store the runner's signed, nonce-stamped snapshot and close the check as done."""
    check = uow.session.get(LiveCheckRow, check_id)
    if check is None or check.status != "pending":
        raise Conflict("live_check_closed", f"live check {check_id} is not pending")
    if pack.manifest.get("nonce") != check.nonce or pack.manifest.get("live_check_id") != check.id:
        raise Invalid("evidence_mismatch", "the snapshot carries another nonce or check")
    camera = uow.session.get(CameraRow, check.camera_id)
    assert camera is not None
    proof = accept_evidence(
        uow,
        store,
        camera,
        pack,
        kind="live_check",
        bay_id=check.bay_id,
        at=now,
        parties=[check.bank_org_id],
        now=now,
    )
    check.status = "done"
    check.evidence_id = proof.id
    check.answered_at = now
    uow.commit()
    return check


def fail_check(uow: SqlUnitOfWork, check_id: str, now: datetime, why: str) -> None:
    """Close a check that could not be answered, saying why."""
    check = uow.session.get(LiveCheckRow, check_id)
    if check is not None and check.status == "pending":
        check.status = "failed"
        check.detail = why[:300]
        check.answered_at = now
        uow.commit()
