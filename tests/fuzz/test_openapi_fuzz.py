"""Schemathesis fuzzes every operation of our OpenAPI document, signed in as every demo party.

The app runs in process (ASGI transport, no network) on SQLite with the shared story world, so
generated ids sometimes meet real objects. Pass condition: no 5xx, and every answer conforms to
the document (status code, content type, body schema).
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

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation and party: enough to reach past validation into the handlers while the
# whole module stays well under two minutes on two cores.
EXAMPLES = 6
PARTIES = ("wh", "bank1", "bank2", "sme", "auditor")
# Operations that are not JSON API: the document says so, and their bodies are pages or streams.
NOT_FUZZED: dict[tuple[str, str], str] = {}
# Known server bugs too large to fix here: (method, path) -> reason. Kept empty when all is well.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared story world: a running loan, a release order, free goods, all parties."""
    yield from shared_world(tmp_path_factory)


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
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Exception as exc:  # a check failure or an unhandled server error
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


@pytest.mark.parametrize("party", PARTIES)
def test_every_operation_survives_fuzzing_without_server_errors_or_schema_drift(
    fuzz_world: World, api_schema: Any, party: str
) -> None:
    headers = getattr(fuzz_world.who, party)
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
