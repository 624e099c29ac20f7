"""The API's observability surface: request-id middleware, /metrics and /readyz."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from services.observability.health import build_readiness
from services.observability.logs import route_to_stdlib
from services.observability.metrics import (
    install_ledger_latency_hook,
    load_vision_metrics,
    register_database_metrics,
)
from services.observability.requests import RequestContextMiddleware


def install_observability(app: FastAPI, container: Any) -> None:
    """Add the middleware and the /metrics and /readyz routes to the API."""
    route_to_stdlib()
    install_ledger_latency_hook()
    register_database_metrics(container.engine)
    load_vision_metrics()
    app.add_middleware(RequestContextMiddleware)
    readiness = build_readiness(container, container.settings.observability.readiness_checks)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus exposition of the default registry (vision metrics included)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness: the database, the broker and the ledger answer; 503 names what failed."""
        status, body = await run_in_threadpool(readiness.report)
        return JSONResponse(body, status_code=status)
