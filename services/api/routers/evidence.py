"""Evidence routes: a record, its snapshot and clip, and an on-demand verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from pledge.errors import NotFound
from pledge.parties import Actor
from services.api.runner import container_of, read
from services.api.schemas import Output
from services.api.security import get_person
from services.cameras import evidence_service
from services.cameras.wiring import evidence_store
from services.uow import SqlUnitOfWork

router = APIRouter(tags=["evidence"])
PersonDep = Annotated[Actor, Depends(get_person)]


class EvidenceOut(Output):
    """A signed piece of camera evidence and whether its hash is on the ledger yet."""

    id: str
    kind: str
    camera_id: str
    bay_id: str | None
    sha256: str
    signature: str
    key_id: str
    snapshot_sha256: str
    clip_sha256: str | None
    snapshot_url: str
    clip_url: str | None
    manifest: dict[str, Any]
    event_hash: str | None
    anchor_status: str
    at: datetime
    created_at: datetime


class VerificationOut(Output):
    """Each check of a verification, the verdict, and what was found."""

    file_ok: bool
    hash_ok: bool
    signature_ok: bool
    ledger_ok: bool
    ok: bool
    detail: list[str]


@router.get("/evidence/{evidence_id}", response_model=EvidenceOut)
def get_evidence(evidence_id: str, actor: PersonDep, request: Request) -> Any:
    """Evidence of an event, tamper alert or live check you are party to."""

    def query(uow: SqlUnitOfWork) -> Any:
        """The record as shown, if the caller is party to it."""
        row = evidence_service.visible_evidence(uow, actor, evidence_id)
        return evidence_service.evidence_view(uow, row)

    return read(request, query)


def _file(request: Request, actor: Actor, evidence_id: str, which: str) -> bytes:
    row = read(request, evidence_service.visible_evidence, actor, evidence_id)
    uri = row.snapshot_uri if which == "snapshot" else row.clip_uri
    data = None if uri is None else evidence_store(container_of(request)).get(uri)
    if data is None:
        raise NotFound("evidence_file_missing", f"the {which} of evidence {evidence_id} is gone")
    return data


@router.get(
    "/evidence/{evidence_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the signed snapshot"}},
)
def get_snapshot(evidence_id: str, actor: PersonDep, request: Request) -> Response:
    """The evidence's JPEG snapshot, exactly as signed."""
    return Response(_file(request, actor, evidence_id, "snapshot"), media_type="image/jpeg")


@router.get(
    "/evidence/{evidence_id}/clip.mp4",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}}, "description": "the signed clip"}},
)
def get_clip(evidence_id: str, actor: PersonDep, request: Request) -> Response:
    """The evidence's mp4v clip, exactly as signed."""
    return Response(_file(request, actor, evidence_id, "clip"), media_type="video/mp4")


@router.post("/evidence/{evidence_id}/verify", response_model=VerificationOut)
def verify(evidence_id: str, actor: PersonDep, request: Request) -> Any:
    """Check the files exist, match their signed hashes, and that the ledger holds the anchor."""
    container = container_of(request)
    if container.ledger is None:
        container.connect_ledger()

    def query(uow: SqlUnitOfWork) -> Any:
        """Every check of the record, if the caller is party to it."""
        row = evidence_service.visible_evidence(uow, actor, evidence_id)
        found = evidence_service.verify_evidence(
            uow, row, evidence_store(container), container.ledger
        )
        return found.as_dict()

    return read(request, query)
