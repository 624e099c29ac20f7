"""The API's observability surface on the embedded default: request ids, /readyz and /metrics."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from services.api.app import create_app
from services.bootstrap import build_container
from services.migrate import upgrade
from services.observability.metrics import load_vision_metrics
from services.settings import Settings


def closed_port() -> int:
    """A loopback port with nobody listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_for(tmp_path: Path, **overrides: object) -> Iterator[TestClient]:
    """A migrated SQLite service with the given settings overrides."""
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    upgrade(url)
    settings = Settings.model_validate(
        {
            "db": {"url": url},
            "ledger": {"key_dir": str(tmp_path / "keys")},
            "jobs_enabled": False,
            **overrides,
        }
    )
    container = build_container(settings)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """Readiness checks of the database and the ledger only."""
    yield from client_for(tmp_path, observability={"readiness_checks": ["db", "ledger"]})


def test_a_caller_request_id_is_echoed_and_a_missing_one_is_made(client: TestClient) -> None:
    given = client.get(
        "/healthz", headers={"X-Request-ID": "abc-123", "X-Correlation-ID": "flow-9"}
    )
    assert given.headers["x-request-id"] == "abc-123"
    assert given.headers["x-correlation-id"] == "flow-9"
    made = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-correlation-id"] == made.headers["x-request-id"]
    # An id that could forge log lines or headers is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" level=error'})
    assert forged.headers["x-request-id"] != 'x" level=error'


def test_readyz_answers_200_when_the_database_and_the_ledger_answer(client: TestClient) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"db", "ledger"}
    assert body["checks"]["ledger"]["detail"].startswith("height ")


def test_readyz_answers_503_naming_the_broker_when_it_is_away(tmp_path: Path) -> None:
    overrides = {
        "mqtt": {"url": f"mqtt://127.0.0.1:{closed_port()}"},
        "observability": {"readiness_checks": ["db", "broker", "ledger"]},
    }
    for client in client_for(tmp_path, **overrides):
        resp = client.get("/readyz")
        assert resp.status_code == 503
        body = resp.json()
        assert body["failed"] == ["broker"]
        assert body["checks"]["db"]["ok"] and body["checks"]["ledger"]["ok"]
        assert "refused" in body["checks"]["broker"]["detail"].lower()
        # Liveness does not depend on the back-ends.
        assert client.get("/healthz").status_code == 200


def test_metrics_expose_the_default_registry_with_vision_and_service_series(
    client: TestClient,
) -> None:
    assert load_vision_metrics(), "vision/metrics.py registers the per-camera series"
    from vision import metrics as vision_metrics

    vision_metrics.FRAMES_ANALYSED.labels("cam-obs").inc(3)
    elsewhere = Counter("pledgewatch_test_registered_elsewhere", "A series from another module.")
    elsewhere.inc()
    client.get("/healthz")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }
    names = {name for name, _ in values}
    assert values[("pledgewatch_frames_analysed_total", (("camera", "cam-obs"),))] >= 3
    assert "pledgewatch_test_registered_elsewhere_total" in names
    assert any(n.startswith("pledgewatch_detector_latency_seconds") for n in names) or (
        "pledgewatch_detector_latency_seconds" in resp.text
    )
    for expected in (
        "pledgewatch_metrics_database_up",
        "pledgewatch_outbox_depth",
        "pledgewatch_outbox_oldest_age_seconds",
        "pledgewatch_ingest_dead_letters_total",
        "pledgewatch_ingest_lag_seconds",
        "pledgewatch_loan_ltv_count",
        "pledgewatch_http_requests_total",
    ):
        assert expected in names, expected
    assert values[("pledgewatch_metrics_database_up", ())] == 1
    assert (
        values[
            (
                "pledgewatch_http_requests_total",
                (("method", "GET"), ("route", "/healthz"), ("status", "200")),
            )
        ]
        >= 1
    )
