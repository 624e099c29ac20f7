"""Fault-injection fixtures and the summary of faults survived.

Every fault test runs on a PostgreSQL cluster and a Mosquitto of its own (tests.faults.backends),
with the production fixtures' settings: restarting them never touches the shared test services,
and other suites' traffic on those (bursts of reads, scheduler leader locks, which PostgreSQL
keeps per database, not per schema) cannot skew a fault's measurements.
At the end of a run that included fault tests, a table of them is printed and written to
var/faults/REPORT.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.db import make_engine
from services.migrate import upgrade
from services.schema import load_metadata
from tests.faults import report
from tests.faults.backends import Backends, PrivateBroker, PrivatePostgres
from tests.faults.world import BAY_READER, GATE_READER, WAREHOUSE_CODE
from tests.production.conftest import (  # noqa: F401 - fixtures shared with the production suite
    REPO,
    Deployment,
    db_deployment,
    pg_url,
)
from tests.service_gate import service_missing

REPORT_PATH = REPO / "var" / "faults" / "REPORT.md"
_STARTED: list[float] = []


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test alone, so it may be restarted."""
    try:
        cluster = PrivatePostgres.create(tmp_path)
    except FileNotFoundError as exc:
        service_missing("PostgreSQL", str(exc))
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A Mosquitto of this test alone (the load's two readers and the worker), to restart."""
    try:
        broker = PrivateBroker.create(
            tmp_path, [(WAREHOUSE_CODE, BAY_READER), (WAREHOUSE_CODE, GATE_READER)]
        )
    except FileNotFoundError as exc:
        service_missing("Mosquitto", str(exc))
    try:
        yield broker
    finally:
        broker.remove()


@pytest.fixture
def backends(
    db_deployment: Deployment,  # noqa: F811
    private_postgres: PrivatePostgres,
    private_broker: PrivateBroker,
) -> Iterator[Backends]:
    """Production settings (secrets, ledger keys) on this test's own PostgreSQL and Mosquitto."""
    url = private_postgres.url
    upgrade(url)
    engine = make_engine(url)
    # Tables added since the last migration, as the production fixtures do.
    load_metadata().create_all(engine, checkfirst=True)
    db_deployment.db_url = url
    db_deployment.env.update(
        {
            "PLEDGEWATCH_DB__URL": url,
            "PLEDGEWATCH_MQTT__URL": private_broker.url,
            "PLEDGEWATCH_MQTT__PROTOCOL": "v5",
            "PLEDGEWATCH_MQTT__EMBEDDED_BROKER": "false",
        }
    )
    found = Backends(private_postgres, private_broker, db_deployment, engine)
    try:
        yield found
    finally:
        found.stop_parts()
        engine.dispose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Put each fault test's outcome into its row of the summary."""
    rep = yield
    fault = item.get_closest_marker("fault")
    if fault is None:
        return rep
    name, part = fault.args
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        outcome = "skipped" if rep.skipped else ("passed" if rep.passed else "FAILED")
        report.set_result(item.nodeid, outcome, name, part)
    elif rep.when == "teardown" and rep.failed:
        report.set_result(item.nodeid, "FAILED (teardown)", name, part)
    return rep


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note when the first fault test starts, for the wall time in the report."""
    if not _STARTED and item.get_closest_marker("fault") is not None:
        _STARTED.append(time.monotonic())


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that names a test's fault and part for the summary."""
    config.addinivalue_line("markers", "fault(name, part): a fault-injection test and its target")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the faults-survived table and write it to var/faults/REPORT.md."""
    rows = list(report.ROWS.values())
    if not rows:
        return
    wall = time.monotonic() - _STARTED[0] if _STARTED else None
    terminalreporter.section("faults survived")
    for line in report.table_lines(rows):
        terminalreporter.write_line(line)
    report.write_report(REPORT_PATH, rows, wall)
    terminalreporter.write_line(f"(written to {REPORT_PATH.relative_to(REPO)})")
