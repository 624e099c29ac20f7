"""Camera routes: the registry, latest frames, vision reports from devices, live checks."""

from __future__ import annotations

import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, Security
from pydantic import Field

from pledge.clock import ahead_of_clock
from pledge.errors import Invalid
from pledge.parties import Actor, OrgKind, Role
from services.api.runner import act, container_of, read
from services.api.schemas import Input, Output
from services.api.security import api_key_scheme, get_person, require, require_any
from services.cameras import events, evidence_service, live_checks, registry
from services.cameras.reports import BayChangeReport, TamperReport, pack_from_json
from services.cameras.wiring import evidence_store
from services.ingest.devices import bound_warehouse
from vision.evidence import EvidencePack
from vision.stages import MovementKind, TamperKind

router = APIRouter(tags=["cameras"])
PersonDep = Annotated[Actor, Depends(get_person)]
OperatorDep = Annotated[Actor, Depends(require(OrgKind.WAREHOUSE))]
BankDep = Annotated[Actor, Depends(require(OrgKind.BANK))]
DeviceDep = Annotated[Actor, Depends(require_any(OrgKind.WAREHOUSE, role=Role.DEVICE))]
ApiKeyDep = Annotated[str | None, Security(api_key_scheme)]


class CameraIn(Input):
    """A camera to register: its id (the key of bay polygons), name, stream URL and rate."""

    camera_id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    url: str = Field(min_length=1, max_length=2000)
    analysis_fps: float = Field(default=2.0, gt=0, le=30)


class CameraOut(Output):
    """A registered camera and what its worker last reported."""

    id: str
    warehouse_id: str
    name: str
    url: str
    analysis_fps: float
    status: str
    status_reason: str
    last_seen_at: datetime | None
    created_at: datetime
    frame_url: str = ""


class KeyIn(Input):
    """A worker's Ed25519 public key, base64 of its 32 raw bytes."""

    public_key: str = Field(min_length=40, max_length=64)


class KeyOut(Output):
    """A registered worker key."""

    key_id: str
    public_key: str
    created_at: datetime


class EvidenceIn(Input):
    """Signed evidence: the manifest, its signature, the key and the files in base64."""

    manifest: dict[str, Any]
    signature: str = Field(min_length=1, max_length=128)
    key_id: str = Field(min_length=1, max_length=64)
    snapshot_b64: str = Field(min_length=4, max_length=8_000_000)
    clip_b64: str | None = Field(default=None, max_length=60_000_000)


class BayChangeIn(Input):
    """A stable change of a bay's contents, as the camera's pipeline settled it."""

    camera_id: str
    bay_id: str
    at: datetime
    kind: MovementKind
    delta: int = Field(ge=-10_000, le=10_000)
    count_before: int = Field(ge=0)
    count_after: int = Field(ge=0)
    identities: list[str] = Field(default_factory=list, max_length=1000)
    confidence: float = Field(ge=0, le=1)
    frame_index: int = Field(ge=0)
    evidence: EvidenceIn


class TamperIn(Input):
    """A tamper check that fired (active) or cleared; evidence unless the signal is lost."""

    camera_id: str
    at: datetime
    kind: TamperKind
    active: bool
    measure: float = Field(allow_inf_nan=False)
    frame_index: int | None = None
    evidence: EvidenceIn | None = None


class OutcomeOut(Output):
    """What the service recorded for a report."""

    evidence_id: str | None
    event_hash: str | None
    covered: bool | None
    alert_ids: list[str]


class LiveCheckIn(Input):
    """The bank's nonce, to be drawn into the picture."""

    nonce: str = Field(min_length=4, max_length=64)


class LiveCheckOut(Output):
    """A live check and, once answered, its evidence."""

    id: str
    bay_id: str
    camera_id: str
    nonce: str
    status: str
    evidence_id: str | None
    detail: str
    requested_at: datetime
    answered_at: datetime | None


def _aware(moment: datetime, now: datetime) -> datetime:
    if moment.tzinfo is None:
        raise Invalid("naive_time", "times must carry their UTC offset")
    if ahead_of_clock(moment, now):
        raise Invalid("report_time_in_future", f"at {moment.isoformat()} lies in the future")
    return moment


def _pack(body: EvidenceIn) -> EvidencePack:
    try:
        return pack_from_json(body.model_dump())
    except (binascii.Error, ValueError) as exc:
        raise Invalid("invalid_evidence", "snapshot_b64 / clip_b64 must be base64") from exc


def _bound(request: Request, api_key: str | None) -> str | None:
    """The warehouse the caller's device key is bound to (see PUT .../device-keys/{key_id})."""
    if not api_key:
        return None
    with container_of(request).session_factory() as session:
        return bound_warehouse(session, api_key)


def _camera_out(camera: Any) -> CameraOut:
    out = CameraOut.model_validate(camera)
    out.frame_url = f"/cameras/{camera.id}/frame.jpg"
    return out


@router.post("/warehouses/{warehouse_id}/cameras", status_code=201, response_model=CameraOut)
def register_camera(warehouse_id: str, body: CameraIn, actor: OperatorDep, request: Request) -> Any:
    """Register a camera in one of your warehouses; bays name it in their polygons."""
    now = container_of(request).context().now
    camera, _ = act(
        request,
        registry.register_camera,
        actor,
        now,
        warehouse_id,
        body.camera_id,
        body.name,
        body.url,
        body.analysis_fps,
    )
    return _camera_out(camera)


@router.get("/cameras", response_model=list[CameraOut])
def list_cameras(actor: PersonDep, request: Request, warehouse_id: str | None = None) -> Any:
    """Your warehouses' cameras, or (banks) the cameras watching goods you hold liens on."""
    cameras = read(request, registry.visible_cameras, actor, warehouse_id)
    return [_camera_out(c) for c in cameras]


@router.get(
    "/cameras/{camera_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "latest annotated frame"}},
)
def camera_frame(camera_id: str, actor: PersonDep, request: Request) -> Response:
    """The latest annotated frame (bays, detections, ids) the camera's worker uploaded."""
    frame = read(request, registry.latest_frame, actor, camera_id)
    headers = {"Cache-Control": "no-store", "Last-Modified": frame.updated_at.isoformat()}
    return Response(frame.jpeg, media_type="image/jpeg", headers=headers)


@router.post("/vision/keys", status_code=201, response_model=KeyOut)
def register_worker_key(body: KeyIn, actor: DeviceDep, request: Request) -> Any:
    """Register a vision worker's public key (camera device keys only)."""
    now = container_of(request).context().now
    key, _ = act(request, evidence_service.register_key, actor, now, body.public_key)
    return key


@router.post("/vision/events", status_code=201, response_model=OutcomeOut)
def vision_event(
    body: BayChangeIn, actor: DeviceDep, request: Request, api_key: ApiKeyDep = None
) -> Any:
    """A bay change seen by one of your cameras, with signed evidence (bound device keys only)."""
    container = container_of(request)
    report = BayChangeReport(
        body.camera_id,
        body.bay_id,
        _aware(body.at, container.context().now),
        body.kind,
        body.delta,
        body.count_before,
        body.count_after,
        tuple(body.identities),
        body.confidence,
        body.frame_index,
        _pack(body.evidence),
    )
    outcome, _ = act(
        request,
        events.record_bay_change,
        actor,
        evidence_store(container),
        container.context().now,
        report,
        _bound(request, api_key),
    )
    return outcome


@router.post("/vision/tamper", status_code=201, response_model=OutcomeOut)
def vision_tamper(
    body: TamperIn, actor: DeviceDep, request: Request, api_key: ApiKeyDep = None
) -> Any:
    """A tamper finding on one of your cameras, raised or cleared (bound device keys only)."""
    container = container_of(request)
    report = TamperReport(
        body.camera_id,
        _aware(body.at, container.context().now),
        body.kind,
        body.active,
        body.measure,
        body.frame_index,
        None if body.evidence is None else _pack(body.evidence),
    )
    outcome, _ = act(
        request,
        events.record_tamper,
        actor,
        evidence_store(container),
        container.context().now,
        report,
        _bound(request, api_key),
    )
    # A tamper alert raised or settled changes what the bays' goods are worth: value them now.
    events.revalue_now(container)
    return outcome


@router.post("/bays/{bay_id}/live-checks", status_code=202, response_model=LiveCheckOut)
def request_live_check(bay_id: str, body: LiveCheckIn, actor: BankDep, request: Request) -> Any:
    """Ask for a fresh snapshot of a bay you hold a lien in, with your nonce drawn into it."""
    now = container_of(request).context().now
    check, _ = act(request, live_checks.request_live_check, actor, now, bay_id, body.nonce)
    return live_checks.check_view(check)


@router.get("/live-checks/{check_id}", response_model=LiveCheckOut)
def get_live_check(check_id: str, actor: BankDep, request: Request) -> Any:
    """A live check your bank asked for: pending, done (with its evidence) or failed."""
    now = container_of(request).context().now
    check, _ = act(request, live_checks.current_check, actor, check_id, now)
    return live_checks.check_view(check)
