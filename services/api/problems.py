"""RFC 9457 problem details: every error the API returns, with a stable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pledge.errors import DomainError
from services.ledger.port import LedgerError, Rejected

PROBLEM_JSON = "application/problem+json"

STATUS_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
}

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Ledger refused",
    503: "Ledger unavailable",
}


def problem(status: int, code: str, detail: str, instance: str = "", **extra: Any) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"urn:pledgewatch:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Map domain, validation, HTTP and ledger errors to problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status = STATUS_BY_KIND.get(exc.kind, 422)
        return problem(status, exc.code, exc.detail, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return problem(422, "validation_error", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:
            # FastAPI's "error parsing the body" says nothing of what was wrong: its cause does.
            code = "malformed_body"
            detail = f"{detail}: {_cause_text(cause)}"
        return problem(exc.status_code, code, detail, request.url.path)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _exc: StaleDataError) -> JSONResponse:
        return problem(
            409,
            "concurrent_update",
            "the same object changed while this request ran; nothing was saved, try again",
            request.url.path,
        )

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        if isinstance(exc, Rejected):
            return problem(502, f"ledger_{exc.code.lower()}", exc.message, request.url.path)
        return problem(503, "ledger_unavailable", str(exc), request.url.path)


def _cause_text(cause: BaseException) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid {cause.encoding} (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "the JSON is nested too deeply"
    return f"{type(cause).__name__}: {str(cause)[:200]}"
