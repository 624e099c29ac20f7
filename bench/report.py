"""Run every benchmark in bench/ and write bench/REPORT.md: each figure beside its baseline.

Each benchmark (every bench/*.py but this file and the _helpers) runs as its own subprocess
with `--json`, its output streamed here as progress. The report lists, per benchmark, every
figure with its same-run baseline, the ratio and the unit, then the machine and the date. A
benchmark that fails (exit code, timeout, missing or unreadable figures) is named in the
report with the tail of its output, and this command exits non-zero: a figure is never dropped
silently. Needs scripts/test-services.sh to have run (`make bench` does it first).

    uv run python bench/report.py [--quick] [--out bench/REPORT.md] [--json PATH]
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._machine import describe, now_utc  # noqa: E402
from bench._services import pg_url_or_empty  # noqa: E402

BENCH_DIR = REPO / "bench"
# The report's reading order; benchmarks not named here follow, alphabetically.
ORDER = ("ledger", "api", "ingest", "alert_latency", "vision")
TIMEOUT_S = {"full": 900.0, "quick": 180.0}
TAIL_LINES = 25


@dataclass
class Run:
    """One benchmark's subprocess: its outcome, or why there is none."""

    name: str
    about: str = ""
    seconds: float = 0.0
    outcome: dict[str, Any] | None = None
    error: str = ""
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether it produced figures the report can print."""
        return self.outcome is not None and not self.error


def benchmarks(folder: Path = BENCH_DIR) -> list[Path]:
    """The benchmark scripts in `folder`, in report order."""
    found = {
        p.stem: p for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "report"
    }
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    return [found[n] for n in names]


def about(script: Path) -> str:
    """The script's docstring without its usage lines: what it measures against what."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    # The usage example closes the docstring; the report names the script instead.
    return re.split(r"^\s+(?:uv run )?python ", doc, maxsplit=1, flags=re.MULTILINE)[0].strip()


def _checked(outcome: dict[str, Any]) -> str:
    """Why an outcome cannot be printed, or '' when every figure is a finite number."""
    figures = outcome.get("figures")
    if not isinstance(figures, list) or not figures:
        return "no figures"
    for figure in figures:
        for key in ("value", "baseline", "ratio"):
            number = figure.get(key)
            if not isinstance(number, int | float) or not math.isfinite(number):
                return f"figure {figure.get('name')!r}: {key} is {number!r}"
        for key in ("name", "unit", "baseline_label", "better"):
            if not figure.get(key):
                return f"figure {figure.get('name')!r}: no {key}"
    return ""


def run_one(script: Path, quick: bool, work: Path, timeout: float) -> Run:
    """Run one benchmark script, streaming its output; collect its JSON figures."""
    result = Run(script.stem, about(script))
    out = work / f"{script.stem}.json"
    cmd = [sys.executable, str(script), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    began = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"    {line.rstrip()}", flush=True)
            tail.append(line.rstrip())
        code = proc.wait()
    finally:
        timer.cancel()
    result.seconds = time.perf_counter() - began
    result.tail = list(tail)
    if result.seconds >= timeout:
        result.error = f"killed after the {timeout:.0f} s timeout"
    elif code != 0:
        result.error = f"exited with code {code}"
    elif not out.is_file():
        result.error = "wrote no figures"
    else:
        try:
            result.outcome = json.loads(out.read_text())
        except ValueError as exc:
            result.error = f"unreadable figures: {exc}"
        else:
            result.error = _checked(result.outcome)
    return result


def fmt(number: float) -> str:
    """A figure with as many digits as its size deserves."""
    size = abs(number)
    if size >= 1000:
        return f"{number:,.0f}"
    if size >= 100:
        return f"{number:.1f}"
    if size >= 1:
        return f"{number:.2f}"
    return f"{number:.3g}"


def ratio(number: float) -> str:
    """A ratio to three significant digits."""
    return f"{number:.3g}"


def render(runs: list[Run], machine: dict[str, str], date: str, quick: bool) -> str:
    """The Markdown report."""
    failed = [r for r in runs if not r.ok]
    total = sum(r.seconds for r in runs)
    lines = [
        "# pledgewatch benchmark report",
        "",
        f"Measured {date} by `bench/report.py` (what `make bench` runs), {total:.0f} s in all"
        + ("; QUICK MODE: short runs for tests, not figures to read" if quick else "")
        + ".",
        "Every figure stands beside a baseline measured in the same run on the same machine; "
        "**ratio = figure / baseline**, and *better* says which direction is good for the unit.",
        "Percentiles are nearest-rank over the run's samples (wrk's own for the API).",
        "",
    ]
    if failed:
        names = ", ".join(r.name for r in failed)
        lines += [f"**FAILED: {names}** (see Failures below; their figures are missing).", ""]
    lines += [
        "## Summary",
        "",
        "| benchmark | figure | value | unit | baseline | baseline is | ratio | better |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for run in runs:
        if not run.ok:
            lines.append(f"| {run.name} | **FAILED**: {run.error} | - | - | - | - | - | - |")
            continue
        assert run.outcome is not None
        for f in run.outcome["figures"]:
            lines.append(
                f"| {run.name} | {f['name']} | {fmt(f['value'])} | {f['unit']} | "
                f"{fmt(f['baseline'])} | {f['baseline_label']} | {ratio(f['ratio'])} | "
                f"{f['better']} |"
            )
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += ["| date | " + date + " |", ""]
    for run in runs:
        lines += _section(run)
    if failed:
        lines += ["## Failures", ""]
        for run in failed:
            lines += [f"### {run.name}: {run.error}", "", "```", *run.tail, "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(run: Run) -> list[str]:
    if not run.ok:
        return []
    assert run.outcome is not None
    outcome = run.outcome
    lines = [
        f"## {run.name}: {outcome['title']}",
        "",
        f"`bench/{run.name}.py`, {run.seconds:.0f} s wall time.",
        "",
    ]
    if run.about:
        lines += [*(f"> {line}".rstrip() for line in run.about.splitlines()), ""]
    lines += [f"- {note}" for note in outcome.get("notes", [])]
    params = outcome.get("params", {})
    if params:
        shown = ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items())
        lines.append(f"- parameters: {shown}")
    return [*lines, ""]


def main() -> None:
    """Run every benchmark, write the report, exit non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (for tests)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "REPORT.md")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure here")
    parser.add_argument(
        "--benchmarks", type=Path, default=BENCH_DIR, metavar="DIR", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    scripts = benchmarks(args.benchmarks)
    if not scripts:
        sys.exit(f"no benchmarks in {args.benchmarks}")
    timeout = TIMEOUT_S["quick" if args.quick else "full"]
    date = now_utc()
    machine = describe(pg_url_or_empty(), REPO)
    runs: list[Run] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as work:
        for index, script in enumerate(scripts, 1):
            print(f"==> [{index}/{len(scripts)}] {script.stem}", flush=True)
            run = run_one(script, args.quick, Path(work), timeout)
            status = "ok" if run.ok else f"FAILED: {run.error}"
            print(f"==> {run.name}: {status} ({run.seconds:.1f} s)", flush=True)
            runs.append(run)
    # Other work on the machine skews every figure: say how busy it was, before and after.
    machine["load average at end"] = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(runs, machine, date, args.quick))
    if args.json is not None:
        combined = {
            "date": date,
            "quick": args.quick,
            "machine": machine,
            "benchmarks": [
                {"name": r.name, "seconds": r.seconds, "error": r.error, "outcome": r.outcome}
                for r in runs
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(combined, indent=1) + "\n")
    failed = [r.name for r in runs if not r.ok]
    total = time.perf_counter() - began
    print(f"wrote {args.out} ({len(runs)} benchmarks, {total:.0f} s)")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
