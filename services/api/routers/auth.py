"""Sign-in: exchange a username and password for a bearer token, and say who is signed in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from pledge.parties import Actor, OrgKind, Role
from services.api.deps import get_container, get_session
from services.api.ratelimit import client_address, login_limiter, too_many_attempts
from services.api.security import get_actor
from services.errors import Unauthenticated
from services.identity import service

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    """An OAuth2 bearer token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_in: int


class OrgSummary(BaseModel):
    """The caller's organisation as shown next to their identity."""

    id: str
    name: str
    kind: OrgKind


class MeOut(BaseModel):
    """The signed-in caller: a user, or a device when an API key was sent."""

    user_id: str | None
    username: str | None
    org: OrgSummary
    roles: list[Role]


@router.post(
    "/token",
    response_model=TokenOut,
    responses={429: {"description": "Too many failed sign-ins; see Retry-After"}},
)
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: Annotated[Session, Depends(get_session)],
    container: Annotated[Any, Depends(get_container)],
) -> TokenOut | JSONResponse:
    """Sign in with the OAuth2 password flow and receive a bearer token."""
    settings = container.settings
    limiter, address = login_limiter(request), client_address(request)
    # Checked before the password, so a throttled guess costs no hashing and learns nothing,
    # even when it happens to be right.
    verdict = limiter.check(form.username, address)
    if not verdict.allowed:
        return too_many_attempts(verdict, request.url.path)
    try:
        token = service.authenticate(session, settings, form.username, form.password)
    except Unauthenticated:
        limiter.failed(form.username, address)
        raise
    limiter.succeeded(form.username, address)
    # authenticate may have upgraded the stored password hash to current parameters.
    session.commit()
    return TokenOut(access_token=token, expires_in=settings.auth.token_minutes * 60)


@router.get("/me", response_model=MeOut)
def who_am_i(
    actor: Annotated[Actor, Depends(get_actor)],
    session: Annotated[Session, Depends(get_session)],
) -> MeOut:
    """Describe the caller: username, organisation and roles."""
    org = service.get_org(session, actor.org_id)
    username = service.get_user(session, actor.user_id).username if actor.user_id else None
    return MeOut(
        user_id=actor.user_id,
        username=username,
        org=OrgSummary(id=org.id, name=org.name, kind=OrgKind(org.kind)),
        roles=sorted(actor.roles),
    )
