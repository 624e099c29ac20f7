"""The benchmark report (`make bench`), run in quick mode: every figure beside a numeric baseline.

The benchmarks run for real against the test PostgreSQL and Mosquitto and wrk on loopback, only
briefly; nothing here judges the figures themselves (performance is read in bench/REPORT.md).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service_gate import service_missing

# A long suite: CI runs it; `-m "not slow"` leaves it out while working on something else.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "bench" / "report.py"
PG_URL_ENV = "PLEDGEWATCH_TEST_PG_URL"
MQTT_URL_ENV = "PLEDGEWATCH_TEST_MQTT_URL"
MACHINE_ROWS = ("CPU", "cores", "RAM", "OS", "Python", "PostgreSQL", "Mosquitto", "wrk", "date")
# The figures the issue names, by benchmark: a name fragment and the unit it must come in.
REQUIRED = {
    "ledger": [("throughput", "tx/s"), ("p50", "ms"), ("p99", "ms")],
    "api": [("throughput", "req/s"), ("p50", "ms"), ("p99", "ms")],
    "ingest": [("ingest worker", "reads/s")],
    "vision": [("streams per core", "streams/core")],
    "alert_latency": [("p50", "ms")],
}
SUMMARY_ROW = re.compile(r"^\| (?P<bench>[a-z_]+) \| (?P<rest>.+) \|$")


def _bench_names() -> set[str]:
    return {
        p.stem
        for p in (REPO / "bench").glob("*.py")
        if not p.stem.startswith("_") and p.stem != "report"
    }


def _services_env() -> dict[str, str]:
    pg, mqtt = os.environ.get(PG_URL_ENV, "").strip(), os.environ.get(MQTT_URL_ENV, "").strip()
    if not pg:
        service_missing("PostgreSQL", f"{PG_URL_ENV} is not set: run scripts/test-services.sh")
    if not mqtt:
        service_missing("Mosquitto", f"{MQTT_URL_ENV} is not set: run scripts/test-services.sh")
    for tool in ("mosquitto_pub", "mosquitto_sub"):
        if shutil.which(tool) is None:
            service_missing("Mosquitto clients", f"{tool} is not installed")
    if shutil.which("wrk") is None:
        service_missing("wrk", "wrk is missing: run scripts/install-wrk.sh (make test does)")
    return {**os.environ, PG_URL_ENV: pg, MQTT_URL_ENV: mqtt}


def _run_report(
    tmp_path: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(REPORT), "--quick", "--out", str(tmp_path / "REPORT.md")]
    cmd += ["--json", str(tmp_path / "report.json"), *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=270)


def _number(cell: str) -> float:
    return float(cell.replace(",", ""))


def _summary_rows(markdown: str) -> list[tuple[str, list[str]]]:
    section = markdown.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = SUMMARY_ROW.match(line)
        if match and match["bench"] != "benchmark":
            rows.append((match["bench"], [c.strip() for c in match["rest"].split(" | ")]))
    return rows


def _machine_rows(markdown: str) -> dict[str, str]:
    section = markdown.split("## Machine", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] and not cells[0].startswith("---"):
            rows[cells[0]] = cells[1]
    return rows


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_the_quick_report_gives_every_benchmark_figure_with_its_baseline_ratio_machine_and_date(
    tmp_path: Path,
) -> None:
    env = _services_env()
    done = _run_report(tmp_path, env)
    output = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, output

    combined = json.loads((tmp_path / "report.json").read_text())
    by_name = {b["name"]: b for b in combined["benchmarks"]}
    assert set(by_name) == _bench_names()
    assert set(REQUIRED) <= set(by_name)
    for name, bench in by_name.items():
        assert bench["error"] == "", (name, bench["error"])
        figures = bench["outcome"]["figures"]
        assert figures, name
        for f in figures:
            assert _finite(f["value"]) and _finite(f["baseline"]) and _finite(f["ratio"]), f
            assert f["baseline"] > 0 and f["unit"] and f["baseline_label"], f
            assert math.isclose(f["ratio"], f["value"] / f["baseline"], rel_tol=1e-9), f
        for fragment, unit in REQUIRED.get(name, []):
            assert any(fragment in f["name"] and f["unit"] == unit for f in figures), (
                name,
                fragment,
                unit,
            )

    markdown = (tmp_path / "REPORT.md").read_text()
    assert "FAILED" not in markdown
    rows = _summary_rows(markdown)
    assert {bench for bench, _ in rows} == set(by_name)
    assert len(rows) == sum(len(b["outcome"]["figures"]) for b in by_name.values())
    for bench, (figure, value, unit, baseline, baseline_is, ratio, better) in rows:
        for cell in (value, baseline, ratio):
            assert math.isfinite(_number(cell)), (bench, figure, cell)
        assert unit and baseline_is and better in ("higher", "lower"), (bench, figure)

    machine = _machine_rows(markdown)
    for key in MACHINE_ROWS:
        assert machine.get(key) and not machine[key].startswith("unknown"), (key, machine)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", machine["date"])
    assert re.search(r"\d+\.\d+", machine["PostgreSQL"]) and re.search(
        r"\d+\.\d+", machine["Mosquitto"]
    )


GOOD = """
import json, sys
path = sys.argv[sys.argv.index("--json") + 1]
figure = {"name": "speed", "value": 2.0, "unit": "ops/s", "baseline": 4.0,
          "baseline_label": "nothing at all", "better": "higher", "ratio": 0.5}
json.dump({"bench": "good", "title": "Good", "figures": [figure]}, open(path, "w"))
"""
BROKEN = """
print("measuring, then boom")
raise SystemExit(3)
"""
SILENT = """
print("finished without writing a figure")
"""
NOT_A_NUMBER = GOOD.replace('"value": 2.0', '"value": float("nan")')


def test_a_failing_benchmark_is_named_in_the_report_and_the_command_exits_non_zero(
    tmp_path: Path,
) -> None:
    benches = tmp_path / "benches"
    benches.mkdir()
    scripts = {"good": GOOD, "broken": BROKEN, "silent": SILENT, "nan": NOT_A_NUMBER}
    for name, source in scripts.items():
        (benches / f"{name}.py").write_text(source)

    done = _run_report(tmp_path, dict(os.environ), "--benchmarks", str(benches))

    assert done.returncode != 0
    markdown = (tmp_path / "REPORT.md").read_text()
    summary = dict(_summary_rows(markdown))
    assert summary["good"][1:3] == ["2.00", "ops/s"]
    assert "**FAILED**: exited with code 3" in summary["broken"][0]
    assert "**FAILED**: wrote no figures" in summary["silent"][0]
    assert "**FAILED**" in summary["nan"][0] and "value" in summary["nan"][0]
    failures = markdown.split("## Failures", 1)[1]
    assert "measuring, then boom" in failures
    assert "FAILED: broken, nan, silent" in done.stderr


@pytest.fixture(autouse=True)
def _report_left_alone() -> Iterator[None]:
    """The tests write into tmp_path only; bench/REPORT.md stays as `make bench` wrote it."""
    committed = REPO / "bench" / "REPORT.md"
    before = committed.stat().st_mtime_ns if committed.is_file() else None
    yield
    assert (committed.stat().st_mtime_ns if committed.is_file() else None) == before
