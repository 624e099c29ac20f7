"""Request limits at the ASGI edge: body size (413) and NUL characters in URLs and forms (400).

The size limit is enforced twice: a declared Content-Length over the limit is refused before a
byte of the body is read, and a body sent without one (chunked) is counted as it arrives and
refused once it passes the limit, so no route ever buffers more than its limit. NUL cannot be
stored in PostgreSQL text, so a NUL in the path, the query or a form body is refused here, for
every route and both databases alike; JSON bodies are checked field by field by their schemas.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem

FORM_TYPE = "application/x-www-form-urlencoded"
# Bodies whose bytes are text: a raw NUL byte in one is never meant.
_TEXT_TYPES = ("application/json", "application/ld+json", "text/", FORM_TYPE)
_NUL_ESCAPE = re.compile(rb"%00")


class BodyTooLarge(HTTPException):
    """The request body passed the route's size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")
        self.limit = limit


class NulCharacter(HTTPException):
    """A NUL character where no field may hold one."""

    def __init__(self, where: str) -> None:
        super().__init__(400, f"the {where} contains a NUL character (0x00), which no field takes")


@dataclass(frozen=True)
class BodyLimits:
    """Largest body accepted: per path prefix (longest first wins), else the default."""

    default_bytes: int
    by_prefix: Sequence[tuple[str, int]] = ()

    def for_path(self, path: str) -> int:
        """The limit for a request path."""
        for prefix, limit in sorted(self.by_prefix, key=lambda item: -len(item[0])):
            if path.startswith(prefix):
                return limit
        return self.default_bytes


class RequestLimits:
    """ASGI middleware enforcing `BodyLimits` and refusing NUL in URLs and form bodies."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the URL and the declared size, then count the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limits.for_path(path)
        headers = _headers(scope)
        refusal = _url_refusal(scope) or _declared_refusal(headers, limit)
        if refusal is not None:
            await _answer(scope, receive, send, refusal)
            return
        content_type = headers.get("content-type", "").lower()
        checker = _BodyChecker(receive, limit, content_type)
        await self.app(scope, checker.receive, send)


class _BodyChecker:
    """Wraps `receive`: counts body bytes and looks for NUL in text bodies as they arrive."""

    def __init__(self, receive: Receive, limit: int, content_type: str) -> None:
        self._receive = receive
        self._limit = limit
        self._seen = 0
        self._text = content_type.startswith(_TEXT_TYPES)
        self._form = content_type.startswith(FORM_TYPE)
        self._tail = b""  # the end of the previous chunk: an escape may span two chunks

    async def receive(self) -> Message:
        """The next message from the client, once its body chunk passed the checks."""
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        chunk: bytes = message.get("body", b"")
        self._seen += len(chunk)
        if self._seen > self._limit:
            raise BodyTooLarge(self._limit)
        if self._text and b"\x00" in chunk:
            raise NulCharacter("request body")
        if self._form:
            if _NUL_ESCAPE.search(self._tail + chunk):
                raise NulCharacter("form body")
            self._tail = chunk[-2:]
        return message


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _url_refusal(scope: Scope) -> HTTPException | None:
    if "\x00" in scope.get("path", "") or b"%00" in scope.get("raw_path", b""):
        return NulCharacter("path")
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or _NUL_ESCAPE.search(query):
        return NulCharacter("query string")
    return None


def _declared_refusal(headers: dict[str, str], limit: int) -> HTTPException | None:
    declared = headers.get("content-length")
    if declared is None:
        return None
    if not declared.strip().isdigit():
        return HTTPException(400, f"Content-Length is not a number: {declared[:40]!r}")
    return BodyTooLarge(limit) if int(declared) > limit else None


async def _answer(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    response = _problem_of(scope.get("path", ""), exc)
    # Tell the client the connection ends here: the body it may still be sending is not read.
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _problem_of(path: str, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, BodyTooLarge):
        return problem(413, "payload_too_large", exc.detail, path, limit=exc.limit)
    if isinstance(exc, NulCharacter):
        return problem(400, "nul_character", exc.detail, path)
    return problem(exc.status_code, "bad_request", exc.detail, path)


def install_request_limits(app: FastAPI, limits: BodyLimits) -> None:
    """Add the middleware and the problem+json answers for limits hit while a route reads."""

    async def _limit_hit(request: Request, exc: Any) -> JSONResponse:
        return _problem_of(request.url.path, exc)

    app.add_exception_handler(BodyTooLarge, _limit_hit)
    app.add_exception_handler(NulCharacter, _limit_hit)
    app.add_middleware(RequestLimits, limits=limits)
