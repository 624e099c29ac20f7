"""Ledger-bound command status, and the ledger's own record for auditors."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from pledge.errors import NotFound
from pledge.parties import Actor, OrgKind, Role
from services.api.runner import commands_out, container_of
from services.api.schemas import CommandOut
from services.api.security import get_person
from services.ledger.embedded_tables import LedgerBlock
from services.ledger.tables import LedgerCommand

router = APIRouter(tags=["ledger"])
ActorDep = Annotated[Actor, Depends(get_person)]


class VerifyOut(BaseModel):
    """The chain re-checked: OK, or the first broken block and why."""

    ok: bool
    blocks: int
    first_broken: int | None
    reason: str


class BlockOut(BaseModel):
    """One block of the embedded ledger as an auditor sees it."""

    number: int
    tx_id: str
    fn: str
    submitter_msp: str
    timestamp: str
    event_name: str | None
    event_payload: Any
    endorsers: list[str]
    prev_hash: str
    hash: str


class BlocksOut(BaseModel):
    """A page of blocks, newest first."""

    items: list[BlockOut]
    total: int


@router.get("/commands/{command_id}", response_model=CommandOut)
def get_command(command_id: str, actor: ActorDep, request: Request) -> Any:
    """Status of a ledger-bound command your organisation issued."""
    with container_of(request).session_factory() as session:
        command = session.get(LedgerCommand, command_id)
        if command is None or command.org_id != actor.org_id:
            raise NotFound("command_not_found", f"no command {command_id}")
    return commands_out(request, [command_id])[0]


@router.get("/ledger/verify", response_model=VerifyOut)
def verify(actor: ActorDep, request: Request) -> Any:
    """Re-check hashes, links, signatures and world state of the whole chain."""
    actor.require_any(tuple(OrgKind), Role.VIEWER)
    container = container_of(request)
    if container.ledger is None:
        container.connect_ledger()
    report = container.ledger.verify()
    return VerifyOut(
        ok=report.ok, blocks=report.blocks, first_broken=report.first_broken, reason=report.reason
    )


@router.get("/ledger/blocks", response_model=BlocksOut)
def blocks(
    actor: ActorDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The embedded ledger's blocks, for auditors: who submitted and endorsed what, and when."""
    actor.require(OrgKind.AUDITOR, Role.VIEWER)
    with container_of(request).session_factory() as session:
        total = session.scalar(select(func.count()).select_from(LedgerBlock)) or 0
        rows = session.scalars(
            select(LedgerBlock).order_by(LedgerBlock.number.desc()).limit(limit).offset(offset)
        ).all()
        items = [
            BlockOut(
                number=b.number,
                tx_id=b.tx_id,
                fn=b.fn,
                submitter_msp=b.submitter_msp,
                timestamp=b.timestamp,
                event_name=b.event_name,
                event_payload=json.loads(b.event_payload) if b.event_payload else None,
                endorsers=[e["msp"] for e in json.loads(b.endorsements)],
                prev_hash=b.prev_hash,
                hash=b.hash,
            )
            for b in rows
        ]
    return BlocksOut(items=items, total=total)
