"""FastAPI dependencies shared by every router: the container and a DB session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session


def get_container(request: Request) -> Any:
    """The composition root built at start-up (see services.bootstrap)."""
    return request.app.state.container


def get_session(request: Request) -> Iterator[Session]:
    """A session for read paths; use cases commit through the unit of work instead."""
    session = request.app.state.container.session_factory()
    try:
        yield session
    finally:
        session.close()
