"""The caller's own organisation: its profile, its users and its device API keys.

Every route works on the caller's organisation only; ids of other organisations' objects answer
404 as if they did not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from pledge.parties import Actor, OrgKind, Role
from services.api.deps import get_session
from services.api.security import get_actor, require
from services.identity import service
from services.identity.apikeys import KeyPurpose
from services.identity.tables import ApiKey, Org, User

router = APIRouter(prefix="/orgs", tags=["orgs"])

OrgAdmin = Annotated[Actor, Depends(require(role=Role.ADMIN))]
DbSession = Annotated[Session, Depends(get_session)]


class OrgOut(BaseModel):
    """An organisation's public profile."""

    id: str
    name: str
    kind: OrgKind
    msp_id: str
    created_at: datetime

    @classmethod
    def of(cls, org: Org) -> OrgOut:
        """Build from a table row."""
        return cls(
            id=org.id,
            name=org.name,
            kind=OrgKind(org.kind),
            msp_id=org.msp_id,
            created_at=org.created_at,
        )


class UserIn(BaseModel):
    """A new user for the caller's organisation; the organisation is never taken from the body."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[Role] = Field(min_length=1)


class UserOut(BaseModel):
    """A user as shown to their organisation's admins; never the password hash."""

    id: str
    username: str
    roles: list[Role]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from a table row."""
        return cls(
            id=user.id,
            username=user.username,
            roles=[Role(role) for role in user.roles],
            active=user.active,
            created_at=user.created_at,
        )


class ApiKeyIn(BaseModel):
    """A new device API key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    purpose: KeyPurpose


class ApiKeyOut(BaseModel):
    """An API key as listed: its prefix identifies it to people; the secret is never shown."""

    id: str
    name: str
    purpose: KeyPurpose
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        """Build from a table row."""
        return cls(
            id=key.id,
            name=key.name,
            purpose=KeyPurpose(key.purpose),
            prefix=key.prefix,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    """A freshly made API key, with the secret that is shown this once only."""

    secret: str


@router.get("/me", response_model=OrgOut)
def my_org(actor: Annotated[Actor, Depends(get_actor)], session: DbSession) -> OrgOut:
    """The caller's organisation."""
    return OrgOut.of(service.get_org(session, actor.org_id))


@router.get("/me/users", response_model=list[UserOut])
def my_users(actor: OrgAdmin, session: DbSession) -> list[UserOut]:
    """The users of the caller's organisation (admins only)."""
    return [UserOut.of(user) for user in service.list_users(session, actor.org_id)]


@router.post("/me/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, actor: OrgAdmin, session: DbSession) -> UserOut:
    """Create a user in the caller's organisation (admins only)."""
    user = service.create_user(session, actor.org_id, body.username, body.password, body.roles)
    session.commit()
    return UserOut.of(user)


@router.get("/me/api-keys", response_model=list[ApiKeyOut])
def my_api_keys(actor: OrgAdmin, session: DbSession) -> list[ApiKeyOut]:
    """The API keys of the caller's organisation, without secrets (admins only)."""
    return [ApiKeyOut.of(key) for key in service.list_api_keys(session, actor.org_id)]


@router.post("/me/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def add_api_key(body: ApiKeyIn, actor: OrgAdmin, session: DbSession) -> ApiKeyCreated:
    """Create a device API key; the response holds the secret, which is not retrievable later."""
    key, secret = service.create_api_key(session, actor.org_id, body.name, body.purpose)
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), secret=secret)


@router.delete("/me/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: str, actor: OrgAdmin, session: DbSession) -> Response:
    """Revoke one of the caller's organisation's API keys (admins only)."""
    service.revoke_api_key(session, key_id, actor.org_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
