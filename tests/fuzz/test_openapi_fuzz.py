"""Schemathesis fuzzes every operation of our OpenAPI document, signed in as every demo party.

The app runs in process (ASGI transport, no network) on SQLite with the shared story world, so
generated ids sometimes meet real objects. Pass condition: no 5xx, and every answer conforms to
the document (status code, content type, body schema), except that errors are RFC 9457 problems
(application/problem+json) which the document does not list: those are held to the problem shape.
Examples are derandomised, so a run is repeatable and CI sees the same requests each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.story_steps import World, shared_world

# A long suite: CI runs it; `-m "not slow"` leaves it out while working on something else.
pytestmark = pytest.mark.slow

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "code", "detail")
# The readiness probe's contract is to answer 503 while a dependency (here: the broker, which the
# in-process test service does not run) is down; every other 5xx is a failure.
READINESS = ("GET", "/readyz")
# Examples per operation and party: enough to reach past validation into the handlers while the
# whole module stays well under two minutes on two cores.
EXAMPLES = 5
# Every demo person, and the warehouse's camera signing in with its device key.
PARTIES = ("wh", "bank1", "bank2", "sme", "auditor", "device")
# Operations left out, with the reason.
NOT_FUZZED: dict[tuple[str, str], str] = {
    # An open-ended server-sent event stream: each example would wait for the stream to be cut
    # (about 8 s); the alerts suite covers it with a real subscriber.
    ("GET", "/alerts/stream"): "endless event stream",
}


def header(response: Any, name: str) -> str:
    """One response header, whatever shape the transport gave the headers."""
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return ""


def is_problem(response: Any) -> bool:
    """Whether the answer is an RFC 9457 problem document."""
    return header(response, "content-type").startswith(PROBLEM_JSON)


def problem_is_well_formed(ctx: Any, response: Any, case: Any) -> bool | None:
    """A problem answer is a 4xx (or 503) with the fields every client relies on."""
    if not is_problem(response):
        return None
    body = response.json()
    assert isinstance(body, dict), body
    missing = [f for f in PROBLEM_FIELDS if not isinstance(body.get(f), str)]
    assert not missing, f"problem without {missing}: {body}"
    assert body.get("status") == response.status_code, body
    assert 400 <= response.status_code < 500 or response.status_code == 503, body
    return True


def conforms_to_the_document(ctx: Any, response: Any, case: Any) -> bool | None:
    """Status, content type and body as documented; problems are checked on their own.

    The document lists only success codes and FastAPI's 422 shape, while every error is answered
    as application/problem+json: those answers are held to the problem contract instead.
    """
    if is_problem(response) or readiness_down(case, response):
        return None
    for check in (status_code_conformance, content_type_conformance, response_schema_conformance):
        check(ctx, response, case)
    return True


def readiness_down(case: Any, response: Any) -> bool:
    """The readiness probe saying a dependency is down, which is its job."""
    return (case.method.upper(), case.operation.path) == READINESS and response.status_code == 503


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except the readiness probe reporting a dependency down."""
    if readiness_down(case, response):
        return True
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_error, problem_is_well_formed, conforms_to_the_document]
# Known server bugs too large to fix here: (method, path) -> reason. Kept empty when all is well.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared story world: a running loan, a release order, free goods, all parties."""
    yield from shared_world(tmp_path_factory)


@pytest.fixture(scope="module")
def device_key(fuzz_world: World) -> dict[str, str]:
    """The X-API-Key header of a camera the warehouse registered."""
    created = fuzz_world.client.post(
        "/orgs/me/api-keys", headers=fuzz_world.who.wh, json={"name": "cam", "purpose": "camera"}
    )
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["secret"]}


@pytest.fixture(scope="module")
def api_schema(fuzz_world: World) -> Any:
    """Our own OpenAPI document, loaded from the running app."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_world.client.app)


def failures_of(operation: Any, headers: dict[str, str]) -> str | None:
    """Fuzz one operation as one caller; the first failing example's report, or None."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        # Shrinking would multiply the run time; the first failing example is report enough.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        # The document lets callers choose a bearer token or a device key; a generated key would
        # mask the signed-in party, so only the party's own credentials are sent.
        case.headers = {
            k: v
            for k, v in (case.headers or {}).items()
            if k.lower() not in ("authorization", "x-api-key")
        }
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    # Check failures arrive as a BaseExceptionGroup; an unhandled server error as an Exception.
    except (Exception, BaseExceptionGroup) as exc:
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


@pytest.mark.parametrize("party", PARTIES)
def test_every_operation_survives_fuzzing_without_server_errors_or_schema_drift(
    fuzz_world: World, api_schema: Any, device_key: dict[str, str], party: str
) -> None:
    headers = device_key if party == "device" else getattr(fuzz_world.who, party)
    failed: dict[str, str] = {}
    fuzzed = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        route = (operation.method.upper(), operation.path)
        if route in NOT_FUZZED:
            continue
        report = failures_of(operation, headers)
        fuzzed += 1
        if report is not None and route not in KNOWN_FAILURES:
            failed[f"{route[0]} {route[1]}"] = report
    assert fuzzed > 30
    assert failed == {}, "\n\n".join(f"{k}\n{v}" for k, v in failed.items())


def test_the_checks_catch_a_server_error_and_an_undocumented_answer() -> None:
    # A small app with one broken and one drifting operation proves the harness bites.
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel

    class Out(BaseModel):
        """The documented answer."""

        n: int

    app = FastAPI()

    @app.get("/broken")
    def broken() -> dict[str, int]:
        """Fails on every call."""
        raise RuntimeError("boom")

    @app.get("/drifting", response_model=Out)
    def drifting() -> JSONResponse:
        """Answers a body the document does not describe."""
        return JSONResponse({"n": "not a number"})

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    reports = {
        operation.path: failures_of(operation, {})
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    assert reports["/broken"] is not None and "RuntimeError" in reports["/broken"]
    assert reports["/drifting"] is not None and "schema" in reports["/drifting"].lower()
