"""Calling the API's own routes in process, as the signed-in viewer.

Some things exist only as API routes (camera frames, evidence files and their verification,
live checks). Rather than repeat what those routes check, a page asks the route itself, with the
viewer's own access token: the answer, including a 404 for another organisation's object, is
exactly what the API would give that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response

from dashboards.session import SESSION_COOKIE
from dashboards.web import LoginRequired
from pledge.errors import DomainError

# Headers of a proxied file worth passing on to the browser.
_PASSED_HEADERS = ("content-type", "content-length", "etag", "last-modified", "accept-ranges")


class ApiProblem(DomainError):
    """The API refused: carries its problem's status, code and detail to the page."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.status = status
        self.kind = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            409: "conflict",
        }.get(status, "invalid")


@dataclass(frozen=True)
class ApiAnswer:
    """What the API answered."""

    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return httpx.Response(self.status, content=self.content).json()


async def api(
    request: Request,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Any = None,
    ok: bool = True,
) -> ApiAnswer:
    """Send one request to the API as the viewer; with `ok`, a problem answer raises ApiProblem."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://pledgewatch.internal"
    ) as client:
        resp = await client.request(
            method,
            path,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=30,
        )
    answer = ApiAnswer(resp.status_code, resp.headers, resp.content)
    if ok and resp.status_code >= 400:
        raise _problem(answer)
    return answer


def _problem(answer: ApiAnswer) -> ApiProblem:
    if answer.status == 401:
        raise LoginRequired
    try:
        body = answer.json()
        return ApiProblem(
            answer.status, str(body.get("code", "error")), str(body.get("detail", ""))
        )
    except ValueError:
        return ApiProblem(answer.status, "error", f"the service answered {answer.status}")


async def proxy_file(request: Request, path: str) -> Response:
    """Pass a file the API serves (an image, a clip) on to the browser."""
    answer = await api(request, "GET", path)
    headers = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_HEADERS}
    headers.pop("content-length", None)
    headers["Cache-Control"] = "private, max-age=60"
    return Response(answer.content, status_code=answer.status, headers=headers)
