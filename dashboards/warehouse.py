"""Warehouse pages: the floor, live camera tiles, tag readers, reconciliation and releases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from dashboards import warehouse_actions, warehouse_cameras, warehouse_views
from dashboards.sme_actions import form_key
from dashboards.web import PREFIX, WarehouseViewer, page_path, read, render, see_other
from services.api.runner import container_of

router = APIRouter(prefix=f"{PREFIX}/warehouse", include_in_schema=False)
# How often the live parts refresh themselves (seconds); cameras upload a frame about as often.
CAMERA_REFRESH = 2
READER_REFRESH = 10


@router.get("")
def start(request: Request, viewer: WarehouseViewer) -> Response:
    """The warehouse pages start at the floor."""
    return see_other(request, page_path(request, "warehouse_floor"))


@router.get("/floor", response_class=HTMLResponse, name="warehouse_floor")
def floor(request: Request, viewer: WarehouseViewer) -> HTMLResponse:
    """Every bay at a glance: pledged, free, unmonitored, tampered or frozen."""
    floors = read(request, warehouse_views.floor, viewer.actor)
    return render(request, "warehouse/floor.html", {"floors": floors})


@router.get("/floor/grid", response_class=HTMLResponse, name="warehouse_floor_grid")
def floor_grid(request: Request, viewer: WarehouseViewer) -> HTMLResponse:
    """The floor grid alone, which the floor page reloads on every alert."""
    floors = read(request, warehouse_views.floor, viewer.actor)
    return render(request, "warehouse/_floor_grid.html", {"floors": floors})


@router.get("/floor/bays/{bay_id}", response_class=HTMLResponse, name="warehouse_bay")
def bay(request: Request, bay_id: str, viewer: WarehouseViewer) -> HTMLResponse:
    """One bay: its stock, pledges, monitoring, freeze and cameras."""
    warehouse, tile, lots = read(request, warehouse_views.bay_detail, viewer.actor, bay_id)
    cameras = read(
        request, warehouse_cameras.camera_tiles, viewer.actor, warehouse.id, set(tile.cameras)
    )
    context = {"warehouse": warehouse, "bay": tile, "lots": lots, "cameras": cameras}
    return render(request, "warehouse/bay.html", {**context, "refresh": CAMERA_REFRESH})


@router.get("/bays/{bay_id}")
def bay_short(request: Request, bay_id: str, viewer: WarehouseViewer) -> Response:
    """A short address of a bay's page; another operator's bay answers not found here too."""
    read(request, warehouse_views.own_bay, viewer.actor, bay_id)
    return see_other(request, page_path(request, "warehouse_bay", bay_id=bay_id))


# --- cameras -------------------------------------------------------------------------------


@router.get("/cameras", response_class=HTMLResponse, name="warehouse_cameras")
def cameras(
    request: Request, viewer: WarehouseViewer, warehouse_id: str | None = None
) -> HTMLResponse:
    """Live tiles of every camera, with bays, detections and ids drawn by the vision worker."""
    tiles = read(request, warehouse_cameras.camera_tiles, viewer.actor, warehouse_id)
    return render(request, "warehouse/cameras.html", {"tiles": tiles, "refresh": CAMERA_REFRESH})


@router.get("/cameras/{camera_id}/tile", response_class=HTMLResponse, name="warehouse_camera_tile")
def camera_tile(request: Request, camera_id: str, viewer: WarehouseViewer) -> HTMLResponse:
    """One camera's tile, which refreshes itself with the latest frame."""
    tile = read(request, warehouse_cameras.camera_tile, viewer.actor, camera_id)
    return render(request, "warehouse/_camera_tile.html", {"tile": tile, "refresh": CAMERA_REFRESH})


@router.get("/cameras/{camera_id}/frame.jpg", name="warehouse_camera_frame")
def camera_frame(request: Request, camera_id: str, viewer: WarehouseViewer) -> Response:
    """The camera's latest annotated frame (the API route, for the browser's session cookie)."""

    jpeg, stamp = read(request, warehouse_cameras.latest_frame, viewer.actor, camera_id)
    headers = {"Cache-Control": "no-store", "Last-Modified": stamp}
    return Response(jpeg, media_type="image/jpeg", headers=headers)


# --- readers -------------------------------------------------------------------------------


def _readers_context(request: Request, viewer: Any) -> dict[str, Any]:
    now = container_of(request).context().now
    rows = read(request, warehouse_views.readers, viewer.actor, now)
    return {"readers": rows, "now": now, "refresh": READER_REFRESH}


@router.get("/readers", response_class=HTMLResponse, name="warehouse_readers")
def readers(request: Request, viewer: WarehouseViewer) -> HTMLResponse:
    """Tag readers: online or offline, last heartbeat, and the bay or gate each watches."""
    return render(request, "warehouse/readers.html", _readers_context(request, viewer))


@router.get("/readers/table", response_class=HTMLResponse, name="warehouse_readers_table")
def readers_table(request: Request, viewer: WarehouseViewer) -> HTMLResponse:
    """The readers table alone, for its periodic refresh."""
    return render(request, "warehouse/_readers_table.html", _readers_context(request, viewer))


# --- reconciliation ------------------------------------------------------------------------


def _recon_context(request: Request, viewer: Any, warehouse_id: str | None) -> dict[str, Any]:
    warehouses = read(
        request,
        lambda uow: sorted(uow.warehouses.find(org_id=viewer.actor.org_id), key=lambda w: w.code),
    )
    if not warehouses:
        return {"warehouses": [], "view": None}
    chosen = warehouse_id or warehouses[0].id
    container = container_of(request)
    view = read(
        request,
        warehouse_views.reconciliation,
        viewer.actor,
        chosen,
        container.reconcile_sensors(),
        container.reconcile_tolerances(),
    )
    return {"warehouses": warehouses, "view": view}


@router.get("/reconciliation", response_class=HTMLResponse, name="warehouse_reconciliation")
def reconciliation(
    request: Request, viewer: WarehouseViewer, warehouse_id: str | None = None, ran: int = -1
) -> HTMLResponse:
    """Per bay: pledged, book, tags and camera counts, the tolerance, and any freeze."""
    context = _recon_context(request, viewer, warehouse_id)
    context["ran"] = ran
    return render(request, "warehouse/reconciliation.html", context)


@router.post("/reconciliation/{warehouse_id}/run", name="warehouse_reconcile_run")
def reconcile_run(request: Request, warehouse_id: str, viewer: WarehouseViewer) -> Response:
    """Reconcile the warehouse now: mismatches record an event, freeze the bay and alert."""
    verdicts = warehouse_actions.reconcile_now(request, viewer.actor, warehouse_id)
    mismatched = len({v.bay_id for v in verdicts if v.mismatched})
    return see_other(
        request,
        page_path(
            request,
            "warehouse_reconciliation",
            {"warehouse_id": warehouse_id, "ran": mismatched},
        ),
    )


@router.post("/bays/{bay_id}/resolve-freeze", name="warehouse_resolve_freeze")
def resolve_freeze(
    request: Request,
    bay_id: str,
    viewer: WarehouseViewer,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Lift a bay's freeze once the mismatch is cleared, saying how."""
    freeze = warehouse_actions.resolve_freeze(request, viewer.actor, bay_id, note)
    back = page_path(request, "warehouse_reconciliation", {"warehouse_id": freeze.warehouse_id})
    return see_other(request, back)


# --- releases ------------------------------------------------------------------------------


@router.get("/releases", response_class=HTMLResponse, name="warehouse_releases")
def releases(request: Request, viewer: WarehouseViewer, done: str = "") -> HTMLResponse:
    """Release orders addressed to the warehouse; open ones can be executed."""
    orders = read(request, warehouse_views.release_orders, viewer.actor)
    executed = next((o for o in orders if o.id == done), None)
    return render(request, "warehouse/releases.html", {"orders": orders, "executed": executed})


@router.get("/releases-table", response_class=HTMLResponse, name="warehouse_releases_table")
def releases_table(request: Request, viewer: WarehouseViewer) -> HTMLResponse:
    """The release orders table alone, refreshed so new orders appear without a reload."""
    orders = read(request, warehouse_views.release_orders, viewer.actor)
    return render(request, "warehouse/_releases_table.html", {"orders": orders})


@router.get("/releases/{order_id}", response_class=HTMLResponse, name="warehouse_release")
def release_confirm(request: Request, order_id: str, viewer: WarehouseViewer) -> HTMLResponse:
    """The confirmation step before goods leave: what goes, from where, under which order."""
    order = read(request, warehouse_views.release_order, viewer.actor, order_id)
    return render(
        request, "warehouse/release_confirm.html", {"order": order, "idempotency_key": form_key()}
    )


@router.post("/releases/{order_id}/execute", name="warehouse_release_execute")
def release_execute(
    request: Request,
    order_id: str,
    viewer: WarehouseViewer,
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Execute an open release order (once per form: a double submit moves nothing twice)."""
    warehouse_actions.execute_release(request, viewer.actor, order_id, idempotency_key)
    return see_other(request, page_path(request, "warehouse_releases", {"done": order_id}))
