"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dashboards.site import install as install_dashboards
from dashboards.views import router as dashboard_router
from loans.api import router as loans_router
from pledge.api import router as pledge_router
from services.api.limits import BodyLimits, install_request_limits
from services.api.problems import install_problem_handlers
from services.api.routers import alerts, auth, cameras, epcis, evidence, ledger, orgs, readers
from services.bootstrap import Container
from services.observability.http import install_observability

# Routes whose bodies carry evidence files (snapshot and clip in base64).
EVIDENCE_PATHS = ("/vision/events", "/vision/tamper")


def create_app(container: Container) -> FastAPI:
    """Build the API around an already wired container."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.connect_ledger()
        # Commands queued before a restart are submitted now rather than waiting for a job.
        container.pump()
        yield

    app = FastAPI(
        title="pledgewatch",
        version="0.1.0",
        description=(
            "Supply-chain finance against goods pledged in a watched warehouse. Ledger-bound "
            "commands answer 202 with a command to follow at /commands/{id}; errors are RFC 9457 "
            "problem+json with a stable `code`; money-moving POSTs need an Idempotency-Key."
        ),
        lifespan=lifespan,
    )
    app.state.container = container
    install_problem_handlers(app)
    api = container.settings.api
    # Only the vision reports carry evidence files; every other body stays small.
    uploads = tuple((path, api.max_evidence_body_bytes) for path in EVIDENCE_PATHS)
    install_request_limits(app, BodyLimits(api.max_body_bytes, uploads))
    for router in (
        auth.router,
        orgs.router,
        pledge_router,
        loans_router,
        ledger.router,
        alerts.router,
        epcis.router,
        readers.router,
        cameras.router,
        evidence.router,
    ):
        app.include_router(router)
    app.include_router(dashboard_router)
    install_dashboards(app)
    install_observability(app, container)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app
