"""Cameras: registration by the warehouse operator, who may see which, and their latest frame.

A camera belongs to one warehouse. The bays it watches are the warehouse's bays whose outline
names it (Bay.polygons is keyed by camera id). Banks see the cameras that watch bays holding
goods they hold a lien on, and nothing else; another organisation's camera answers 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pledge.errors import Conflict, Invalid, NotFound
from pledge.model import Bay, Lot, ReceiptStatus
from pledge.parties import Actor, OrgKind, Role
from pledge.service import own_warehouse
from services.cameras.tables import CameraFrameRow, CameraRow
from services.uow import SqlUnitOfWork

_CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL = re.compile(r"^(rtsp|rtsps|http|https|file)://\S+$|^/\S+$")
MAX_FPS = 30.0


@dataclass(frozen=True)
class LienedLot:
    """A pledged lot and the bank holding the lien on it."""

    lot: Lot
    bank_org_id: str


def pledged_lots(uow: SqlUnitOfWork, bay_id: str) -> list[LienedLot]:
    """The lots in a bay whose receipt is pledged, each with its lien-holding bank."""
    found = []
    for lot in uow.lots.find(bay_id=bay_id):
        for receipt in uow.receipts.find(lot_id=lot.id, status=ReceiptStatus.PLEDGED):
            loan = uow.loans.get(receipt.loan_id) if receipt.loan_id else None
            if loan is not None:
                found.append(LienedLot(lot, loan.bank_org_id))
    return found


def lien_banks(uow: SqlUnitOfWork, bay_ids: list[str]) -> set[str]:
    """Banks holding a lien on goods in any of these bays."""
    return {held.bank_org_id for bay_id in bay_ids for held in pledged_lots(uow, bay_id)}


def camera_bays(uow: SqlUnitOfWork, camera: CameraRow) -> list[Bay]:
    """The bays of the camera's warehouse whose outline is drawn in this camera's view."""
    return [b for b in uow.bays.find(warehouse_id=camera.warehouse_id) if camera.id in b.polygons]


def register_camera(
    uow: SqlUnitOfWork,
    actor: Actor,
    now: datetime,
    warehouse_id: str,
    camera_id: str,
    name: str,
    url: str,
    analysis_fps: float,
) -> CameraRow:
    """Register a camera in one of the actor's warehouses."""
    actor.require(OrgKind.WAREHOUSE)
    warehouse = own_warehouse(uow, actor, warehouse_id)
    if not _CAMERA_ID.match(camera_id):
        raise Invalid("invalid_camera_id", "a camera id is 1-64 letters, digits, '.', '_', '-'")
    if not _URL.match(url.strip()):
        raise Invalid("invalid_camera_url", "the URL must be rtsp(s)://, http(s)://, file://")
    if not 0 < analysis_fps <= MAX_FPS:
        raise Invalid("invalid_fps", f"analysis_fps must be above 0 and at most {MAX_FPS}")
    if uow.session.get(CameraRow, camera_id) is not None:
        raise Conflict("camera_exists", f"a camera {camera_id} is registered")
    camera = CameraRow(
        id=camera_id,
        warehouse_id=warehouse.id,
        org_id=warehouse.org_id,
        name=name.strip() or camera_id,
        url=url.strip(),
        analysis_fps=float(analysis_fps),
        status="unknown",
        status_reason="",
        created_at=now,
    )
    uow.session.add(camera)
    uow.commit()
    return camera


def visible_cameras(
    uow: SqlUnitOfWork, actor: Actor, warehouse_id: str | None = None
) -> list[CameraRow]:
    """Cameras the actor may see: a warehouse's own, a bank's over bays it holds liens in."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK), Role.VIEWER)
    stmt = select(CameraRow).order_by(CameraRow.id)
    if warehouse_id is not None:
        stmt = stmt.where(CameraRow.warehouse_id == warehouse_id)
    cameras = list(uow.session.scalars(stmt))
    return [c for c in cameras if may_see_camera(uow, actor, c)]


def may_see_camera(uow: SqlUnitOfWork, actor: Actor, camera: CameraRow) -> bool:
    """Whether the actor's organisation runs the camera or lends against goods it watches."""
    if camera.org_id == actor.org_id:
        return True
    if actor.org_kind is not OrgKind.BANK:
        return False
    return actor.org_id in lien_banks(uow, [b.id for b in camera_bays(uow, camera)])


def visible_camera(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> CameraRow:
    """One camera the actor may see; any other answers not found."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK), Role.VIEWER)
    camera = uow.session.get(CameraRow, camera_id)
    if camera is None or not may_see_camera(uow, actor, camera):
        raise NotFound("camera_not_found", f"no camera {camera_id}")
    return camera


def device_camera(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> CameraRow:
    """The camera a device reports for: it must belong to a warehouse of the device's org."""
    camera = uow.session.get(CameraRow, camera_id)
    if camera is None or camera.org_id != actor.org_id:
        raise NotFound("camera_not_found", f"no camera {camera_id}")
    return camera


def latest_frame(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> CameraFrameRow:
    """The latest annotated frame of a camera the actor may see."""
    camera = visible_camera(uow, actor, camera_id)
    frame = uow.session.get(CameraFrameRow, camera.id)
    if frame is None:
        raise NotFound("frame_not_found", f"camera {camera_id} has sent no frame yet")
    return frame


def store_frame(uow: SqlUnitOfWork, camera_id: str, jpeg: bytes, now: datetime) -> None:
    """Replace the camera's latest annotated frame and note that it was heard from."""
    row = uow.session.get(CameraFrameRow, camera_id)
    if row is None:
        uow.session.add(CameraFrameRow(camera_id=camera_id, jpeg=jpeg, updated_at=now))
    else:
        row.jpeg = jpeg
        row.updated_at = now
    camera = uow.session.get(CameraRow, camera_id)
    if camera is not None:
        camera.last_seen_at = now
    uow.commit()
