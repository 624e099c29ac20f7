"""The story, played against separate processes (api, ingest, scheduler, outbox) on PostgreSQL,
Mosquitto and the embedded ledger; then its metrics and every log line of every process.

The Fabric devnet variant of this run needs the Fabric binaries; the embedded ledger stands in
for it here (same contract, same outbox and event listener).
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from loans.model import SECURED
from loans.tables import loans
from pledge.alert_service import raise_alert
from pledge.alert_tables import alerts
from pledge.alerts import AlertDraft, AlertType, Severity
from services.db import make_session_factory
from services.demo import play
from services.identity.apikeys import KEY_MARK
from services.ingest.mqtturl import parse_mqtt_url
from services.ingest.readers import register_reader
from services.ingest.tables import TagReadRow
from services.ledger.tables import LedgerCommand
from services.seed import DEMO_PASSWORD, seed_demo
from services.uow import SqlUnitOfWork
from tests.production.conftest import Deployment, free_port, wait_ready

WAREHOUSE_ORG = "northport"

JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.")
API_KEY_SHAPE = re.compile(rf"\b{KEY_MARK}_[0-9a-f]{{8}}_[A-Za-z0-9_-]{{8,}}")


def samples(metrics_text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def publish_reads(mqtt_url: str, reader: dict[str, str], epcs: list[str]) -> None:
    """One batch of reads from a reader account, QoS 1, acknowledged by the broker."""
    address = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(reader["reader_id"], reader["password"])
    client.connect(address.host, address.port)
    client.loop_start()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    reads = [
        {
            "reader_id": reader["reader_id"],
            "antenna": 1,
            "epc": epc,
            "rssi": -50.0,
            "seen_at": now,
            "seq": i,
        }
        for i, epc in enumerate(epcs)
    ]
    payload = {"reads": reads}
    topic = f"pledgewatch/{reader['warehouse_code']}/{reader['reader_id']}/reads"
    client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def test_the_story_passes_against_separate_processes_with_metrics_and_no_secret_in_any_log(
    deployment: Deployment, pg_engine: Engine, mqtt_url: str
) -> None:
    seed_demo(make_session_factory(pg_engine))
    reader = _first_reader()
    with Session(pg_engine) as session:
        register_reader(session, reader["warehouse_code"], reader["reader_id"])
        session.commit()

    api_port = free_port()
    ingest_probe, scheduler_probe, outbox_probe = free_port(), free_port(), free_port()
    api = deployment.start("api", "--host", "127.0.0.1", "--port", str(api_port))
    ingest = deployment.start(
        "ingest",
        "--client-id",
        f"story-ingest-{uuid.uuid4().hex[:6]}",
        # The test's session and share group should not outlive it on the shared broker.
        "--session-expiry",
        "30",
        extra_env={
            "PLEDGEWATCH_INGEST_MQTT_URL": mqtt_url,
            "PLEDGEWATCH_MQTT__SHARE_GROUP": f"story-{uuid.uuid4().hex[:6]}",
            "PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(ingest_probe),
        },
    )
    scheduler = deployment.start(
        "scheduler",
        "--every",
        "movement=2",
        "--every",
        "monitoring-revalue=2",
        extra_env={"PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(scheduler_probe)},
    )
    outbox = deployment.start(
        "outbox", extra_env={"PLEDGEWATCH_OBSERVABILITY__PROBE_PORT": str(outbox_probe)}
    )
    base = f"http://127.0.0.1:{api_port}"
    ready = wait_ready(f"{base}/readyz", api)
    assert set(ready["checks"]) == {"db", "broker", "ledger"}  # type: ignore[arg-type]
    wait_ready(f"http://127.0.0.1:{ingest_probe}/readyz", ingest)
    wait_ready(f"http://127.0.0.1:{scheduler_probe}/readyz", scheduler)
    wait_ready(f"http://127.0.0.1:{outbox_probe}/readyz", outbox)
    # Four processes, four different pids: nothing runs inside the API process but the API.
    assert len({p.proc.pid for p in deployment.parts}) == 4

    out = io.StringIO()
    with httpx.Client(base_url=base, timeout=30) as client:
        story = play(client, Console(file=out, width=200))
        failed = [claim for claim, ok, _ in story.checks if not ok]
        assert not failed, out.getvalue()
        assert (
            client.get("/healthz", headers={"X-Request-ID": "story-probe-1"}).headers[
                "x-request-id"
            ]
            == "story-probe-1"
        )

    # Tag reads go through Mosquitto and the ingest process into PostgreSQL.
    first = uuid.uuid4().int % 10**12
    epcs = [f"30340000{first + i:016X}" for i in range(5)]
    publish_reads(mqtt_url, reader, epcs)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with Session(pg_engine) as session:
            stored = session.scalar(select(func.count()).where(TagReadRow.epc.in_(epcs)))
        if stored == len(epcs):
            break
        time.sleep(0.3)
    assert stored == len(epcs)

    # The scheduler process leads and runs its jobs (there is only one replica here).
    with pg_engine.connect() as conn:
        runs = conn.execute(
            text("SELECT count(*) FROM scheduler_runs WHERE status = 'ok'")
        ).scalar_one()
    assert runs > 0

    # The story leaves no alert open; a reader going silent (as the presence check reports it)
    # opens one, so the open-alert series has something to count.
    with SqlUnitOfWork.start(make_session_factory(pg_engine)) as uow:
        raise_alert(
            uow,
            datetime.now(UTC),
            AlertDraft(
                org_id=WAREHOUSE_ORG,
                type=AlertType.READER_OFFLINE,
                severity=Severity.WARNING,
                title=f"reader {reader['reader_id']} silent",
                dedup_key=f"reader-offline:{reader['reader_id']}",
            ),
        )
    _metrics_match_the_database(httpx.get(f"{base}/metrics").text, pg_engine)
    outbox_metrics = httpx.get(f"http://127.0.0.1:{outbox_probe}/metrics").text
    assert "pledgewatch_ledger_commit_latency_seconds_bucket" in outbox_metrics

    deployment.stop_all()
    lines = deployment.all_log_lines()
    _no_secret_in(lines, deployment, mqtt_url)
    requests = [json.loads(line) for line in api.log_lines() if '"event": "request"' in line]
    assert requests, "the API logged no request lines"
    assert all(r["request_id"] and r["correlation_id"] for r in requests)
    assert any(r["request_id"] == "story-probe-1" for r in requests)


def _first_reader() -> dict[str, str]:
    from tests.production.conftest import REPO

    rows = (REPO / ".cache/mqtt/readers.csv").read_text().splitlines()
    code, reader_id, password = rows[1].split(",")
    return {"warehouse_code": code, "reader_id": reader_id, "password": password}


def _metrics_match_the_database(exposition: str, engine: Engine) -> None:
    found = samples(exposition)
    assert found[("pledgewatch_metrics_database_up", ())] == 1
    with engine.connect() as conn:
        open_by_type: dict[str, int] = {}
        for kind, count in conn.execute(
            select(alerts.c.type, func.count())
            .where(alerts.c.state.in_(("open", "acknowledged")))
            .group_by(alerts.c.type)
        ):
            open_by_type[str(kind)] = count
        ltvs = [
            Decimal(v)
            for (v,) in conn.execute(
                select(loans.c.ltv)
                .where(loans.c.status.in_([s.value for s in SECURED]))
                .where(loans.c.ltv.is_not(None))
            )
        ]
        confirmed = conn.execute(
            select(func.count()).where(LedgerCommand.status == "confirmed")
        ).scalar_one()
        reads = conn.execute(select(func.count()).select_from(TagReadRow)).scalar_one()
        by_status = {
            str(status): count
            for status, count in conn.execute(
                select(loans.c.status, func.count()).group_by(loans.c.status)
            )
        }
    assert open_by_type.get("reader_offline") == 1
    exposed: dict[str, float] = {}
    for (name, labels), value in found.items():
        if name == "pledgewatch_alerts_open":
            kind = dict(labels)["type"]
            exposed[kind] = exposed.get(kind, 0) + value
    assert exposed == {k: float(v) for k, v in open_by_type.items()}
    assert found[("pledgewatch_loan_ltv_count", ())] == len(ltvs)
    for status, count in by_status.items():
        assert found[("pledgewatch_loans", (("status", status),))] == count
    assert sum(by_status.values()) >= 2
    assert abs(found[("pledgewatch_loan_ltv_sum", ())] - float(sum(ltvs))) < 1e-6
    assert found[("pledgewatch_outbox_depth", (("status", "pending"),))] == 0
    assert found[("pledgewatch_outbox_oldest_age_seconds", ())] == 0
    # The API confirmed the story's commands on the embedded ledger (the outbox may confirm some).
    assert 0 < found[("pledgewatch_ledger_commit_latency_seconds_count", ())] <= confirmed
    assert ("pledgewatch_ingest_dead_letters_total", ()) in found
    assert reads > 0 and ("pledgewatch_ingest_lag_seconds", (("quantile", "1.0"),)) in found
    assert found[("pledgewatch_ingest_last_read_age_seconds", ())] < 120
    routes = {
        dict(labels).get("route")
        for (name, labels) in found
        if name == "pledgewatch_http_requests_total"
    }
    assert "/loans/{loan_id}" in routes or any(r and r.startswith("/loans") for r in routes)


def _no_secret_in(lines: list[str], deployment: Deployment, mqtt_url: str) -> None:
    # Log lines are JSON objects; the only other output is a command's closing summary.
    logged = [line for line in lines if _is_json_object(line)]
    assert len(logged) > 50, "too few log lines to say anything"
    assert len(lines) - len(logged) <= len(deployment.parts), [
        line for line in lines if not _is_json_object(line)
    ][:5]
    address = parse_mqtt_url(mqtt_url)
    from sqlalchemy.engine import make_url

    db_password = make_url(deployment.db_url).password
    forbidden = {
        **deployment.secrets,
        "db password": db_password or "",
        "broker password": address.password or "",
        "demo password": DEMO_PASSWORD,
    }
    leaks = [
        (name, line[:200])
        for line in lines
        for name, secret in forbidden.items()
        if secret and secret in line
    ]
    leaks += [("jwt", line[:200]) for line in lines if JWT_SHAPE.search(line)]
    leaks += [("api key", line[:200]) for line in lines if API_KEY_SHAPE.search(line)]
    assert not leaks, leaks[:5]


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
