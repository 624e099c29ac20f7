"""Who is calling: FastAPI dependencies that authenticate the caller and check kind and role.

People send `Authorization: Bearer <jwt>` (from POST /auth/token); devices send
`X-API-Key: <secret>`. These dependencies only decide whether a caller may use an endpoint at
all. Whether a given object is theirs is each router's job: an org-scoped object that belongs to
another organisation must answer 404, exactly like a missing one, so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from pledge.errors import Forbidden
from pledge.parties import Actor, OrgKind, Role
from services.api.deps import get_container, get_session
from services.errors import Unauthenticated
from services.identity import service
from services.identity.tokens import decode_token

# auto_error is off so a missing credential becomes our Unauthenticated (problem+json), and so
# either scheme may be absent when the other one is present.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)

ActorDependency = Callable[..., Actor]


def get_actor(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    container: Annotated[Any, Depends(get_container)],
    token: Annotated[str | None, Security(oauth2_scheme)] = None,
    api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Actor:
    """Authenticate the caller by bearer token or API key, or raise Unauthenticated."""
    if token and api_key:
        raise Unauthenticated("ambiguous_credentials", "send a bearer token or an API key")
    if token:
        claims = decode_token(container.settings, token)
        actor = service.actor_for_claims(session, claims)
    elif api_key:
        actor = service.actor_for_api_key(session, api_key)
    else:
        raise Unauthenticated("missing_credentials", "sign in or send an API key")
    # Hand the connection back to the pool now: a request holding this read connection while
    # it waits for another (an idempotency claim, a unit of work) lets a burst of requests
    # hold every pooled connection and wait on each other until the pool times out.
    session.rollback()
    request.state.actor = actor
    return actor


def _check(actor: Actor, kinds: Iterable[OrgKind] | None, role: Role | None) -> Actor:
    allowed = frozenset(kinds) if kinds is not None else None
    if allowed is not None and actor.org_kind not in allowed:
        names = ", ".join(sorted(kind.value for kind in allowed))
        raise Forbidden("wrong_org_kind", f"only a {names} may do this")
    if role is None:
        # "Any role" means any person; devices reach only endpoints that ask for them by name.
        if not actor.roles - {Role.DEVICE}:
            raise Forbidden("missing_role", "this needs a signed-in user")
    elif role not in actor.roles and Role.ADMIN not in actor.roles:
        raise Forbidden("missing_role", f"this needs the {role.value} role")
    return actor


def require(kind: OrgKind | None = None, role: Role = Role.OFFICER) -> ActorDependency:
    """A dependency yielding the actor if their org is of `kind` (None: any) and holds `role`."""
    kinds = None if kind is None else (kind,)

    def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        return _check(actor, kinds, role)

    return dependency


def require_any(*kinds: OrgKind, role: Role | None = None) -> ActorDependency:
    """A dependency yielding the actor if their org is one of `kinds`; `role` None: any person."""
    allowed = kinds or None

    def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        return _check(actor, allowed, role)

    return dependency


def get_person(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """The caller, if a signed-in person: device keys post readings, they read no business."""
    return _check(actor, None, None)
