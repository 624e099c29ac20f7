"""The faults survived: one row per fault test, shown at the end of the run and kept as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = (
    ("fault", "fault"),
    ("part", "part"),
    ("load_sent", "load sent"),
    ("stored", "stored"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("ledger_differences", "ledger differences"),
    ("recovery_s", "recovery s"),
    ("result", "result"),
)


@dataclass
class FaultRow:
    """What one fault test measured; `result` is filled in from the test's outcome."""

    fault: str
    part: str
    load_sent: str = "-"
    stored: str = "-"
    lost: str = "-"
    duplicated: str = "-"
    ledger_differences: str = "-"
    recovery_s: str = "-"
    result: str = "not run"


# Rows by test node id, in the order the tests ran.
ROWS: dict[str, FaultRow] = {}


def record(node_id: str, row: FaultRow) -> FaultRow:
    """Register (or replace) the row of a test."""
    ROWS[node_id] = row
    return row


def set_result(node_id: str, outcome: str, fault: str, part: str) -> None:
    """Set a test's result; a test that failed before measuring anything still gets its row."""
    row = ROWS.get(node_id) or record(node_id, FaultRow(fault, part))
    row.result = outcome


def table_lines(rows: list[FaultRow]) -> list[str]:
    """The rows as an aligned plain-text table."""
    header = [title for _, title in COLUMNS]
    body = [[str(getattr(row, name)) for name, _ in COLUMNS] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(header), line(["-" * w for w in widths]), *(line(cells) for cells in body)]


def markdown(rows: list[FaultRow], wall_s: float | None) -> str:
    """The rows as a Markdown report with the moment and the machine's core count."""
    import os

    names = [title for _, title in COLUMNS]
    lines = [
        "# Faults survived",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} cores"
        + (f", fault suite wall time {wall_s:.0f} s." if wall_s is not None else "."),
        "",
        "Load: tag reads over MQTT (QoS 1), ledger-bound loan steps over HTTP with Idempotency-Key",
        "and client retries, live checks answered by the vision worker from a synth camera, and",
        "pledged tags passing the exit gate (departures and alerts). Lost counts reads, departure",
        "events and loan effects (repayments, release orders, releases) that are missing, and",
        "ledger commands not confirmed; duplicated counts any of those stored more than once.",
        "Ledger differences come from `python -m services.cli ledger audit --json`.",
        "",
        "| " + " | ".join(names) + " |",
        "|" + "|".join("---" for _ in names) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(getattr(row, f.name)) for f in fields(row)) + " |")
    return "\n".join(lines) + "\n"


def write_report(path: Path, rows: list[FaultRow], wall_s: float | None) -> None:
    """Write the Markdown report, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(rows, wall_s))
