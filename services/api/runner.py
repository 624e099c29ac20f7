"""Running use cases from routes: one unit of work, then the ledger pump, then a fresh read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select

from pledge.parties import Actor
from services.api.idempotency import Idempotency, body_hash, check_key, fence
from services.api.schemas import CommandOut
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork

R = TypeVar("R")
log = logging.getLogger(__name__)


def container_of(request: Request) -> Any:
    """The composition root."""
    return request.app.state.container


def act(
    request: Request, use_case: Callable[..., R], *args: Any, **kwargs: Any
) -> tuple[R, list[str]]:
    """Run a use case in its own unit of work; returns its result and the commands it queued."""
    container = container_of(request)
    with SqlUnitOfWork.start(container.session_factory) as uow:
        # A request holding an Idempotency-Key marks it applied in the same commit as its effect.
        fence(uow.session)
        result = use_case(uow, *args, **kwargs)
        commands = list(uow.ledger.enqueued)
    if commands:
        try:
            container.pump()
        except Exception:
            # The effect and its commands are committed; the outbox worker submits them later.
            log.warning("ledger pump after a request failed; the outbox will retry", exc_info=True)
    return result, commands


def perform(
    request: Request, use_case: Callable[..., R], actor: Actor, *args: Any, **kwargs: Any
) -> tuple[R, list[str]]:
    """Run a use case as `actor`, with the time and keys of this moment."""
    ctx = container_of(request).context()
    return act(request, use_case, actor, ctx, *args, **kwargs)


def read(request: Request, query: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a read-only query over a unit of work that is never committed."""
    container = container_of(request)
    with SqlUnitOfWork.start(container.session_factory) as uow:
        return query(uow, *args, **kwargs)


def commands_out(request: Request, ids: list[str]) -> list[CommandOut]:
    """Current status of ledger commands, with the link to follow each."""
    if not ids:
        return []
    container = container_of(request)
    with container.session_factory() as session:
        rows = session.scalars(select(LedgerCommand).where(LedgerCommand.id.in_(ids))).all()
        found = {row.id: row for row in rows}
        out = []
        for ident in ids:
            view = CommandOut.model_validate(found[ident])
            view.href = f"/commands/{ident}"
            out.append(view)
        return out


def idempotent(
    request: Request,
    actor: Actor,
    key: str | None,
    body: Any,
    produce: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Run `produce` once per Idempotency-Key; replays return the first answer unchanged."""
    checked = check_key(key)
    guard = Idempotency(container_of(request).session_factory)
    endpoint = f"{request.method} {request.url.path}"
    replay = guard.claim(actor.org_id, checked, endpoint, body_hash(endpoint, body))
    if replay is not None:
        status, stored = replay
        return JSONResponse(stored, status_code=status, headers={"Idempotent-Replayed": "true"})
    try:
        status, payload = produce()
    except BaseException:
        guard.release(actor.org_id, checked)
        raise
    encoded = jsonable_encoder(payload)
    guard.complete(actor.org_id, checked, status, encoded)
    return JSONResponse(encoded, status_code=status)
