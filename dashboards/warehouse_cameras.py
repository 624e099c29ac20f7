"""Camera tiles for the warehouse pages: each own camera, its frame's age, and unregistered ones.

A bay's outline names the cameras that see it; a camera named there but never registered still
gets a tile, saying so, rather than silently missing from the wall.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dashboards import warehouse_views
from pledge.errors import NotFound
from pledge.parties import Actor
from services.cameras import registry
from services.cameras.tables import CameraFrameRow, CameraRow
from services.uow import SqlUnitOfWork


def camera_tiles(
    uow: SqlUnitOfWork, actor: Actor, warehouse_id: str | None, only: set[str] | None = None
) -> list[dict[str, Any]]:
    """The caller's cameras (or only some), registered ones first, then those bays name."""
    tiles = [
        _tile(uow, camera)
        for camera in registry.visible_cameras(uow, actor, warehouse_id)
        if camera.org_id == actor.org_id and (only is None or camera.id in only)
    ]
    named = {t["id"] for t in tiles}
    for wh in warehouse_views.floor(uow, actor):
        if warehouse_id is not None and wh.warehouse.id != warehouse_id:
            continue
        for camera_id in wh.cameras:
            if camera_id in named or (only is not None and camera_id not in only):
                continue
            named.add(camera_id)
            tiles.append(
                {
                    "id": camera_id,
                    "name": camera_id,
                    "registered": False,
                    "status": "unregistered",
                    "status_reason": "named in a bay outline but not registered",
                    "last_seen_at": None,
                    "frame_at": None,
                    "bays": [b.code for b in wh.bays if camera_id in b.cameras],
                    "warehouse_code": wh.warehouse.code,
                }
            )
    return tiles


def _tile(uow: SqlUnitOfWork, camera: CameraRow) -> dict[str, Any]:
    # Only the time: the tile polls every few seconds and must not load the picture to draw.
    frame_at = uow.session.scalar(
        select(CameraFrameRow.updated_at).where(CameraFrameRow.camera_id == camera.id)
    )
    warehouse = uow.warehouses.get(camera.warehouse_id)
    return {
        "id": camera.id,
        "name": camera.name or camera.id,
        "registered": True,
        "status": camera.status,
        "status_reason": camera.status_reason,
        "last_seen_at": camera.last_seen_at,
        "frame_at": frame_at,
        "bays": [b.code for b in registry.camera_bays(uow, camera)],
        "warehouse_code": warehouse.code if warehouse else "",
    }


def _own_camera(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> CameraRow:
    # Banks may see cameras over their liens through the API; these pages are the operator's.
    camera = registry.visible_camera(uow, actor, camera_id)
    if camera.org_id != actor.org_id:
        raise NotFound("camera_not_found", f"no camera {camera_id}")
    return camera


def camera_tile(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> dict[str, Any]:
    """One of the caller's cameras as a tile; anyone else's answers not found."""
    return _tile(uow, _own_camera(uow, actor, camera_id))


def latest_frame(uow: SqlUnitOfWork, actor: Actor, camera_id: str) -> tuple[bytes, str]:
    """The JPEG of the caller's camera's latest annotated frame, and when it was taken."""
    _own_camera(uow, actor, camera_id)
    frame = registry.latest_frame(uow, actor, camera_id)
    return bytes(frame.jpeg), frame.updated_at.isoformat()
