"""What a benchmark hands the report: each figure beside its same-run baseline, as JSON."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Figure:
    """One measured figure and the baseline it is read against, in the same unit."""

    name: str
    value: float
    unit: str
    baseline: float
    baseline_label: str
    # Which direction is good for this unit: tells a reader whether a ratio above 1 is a gain.
    better: Literal["higher", "lower"]

    @property
    def ratio(self) -> float:
        """Figure divided by baseline."""
        return self.value / self.baseline

    def check(self) -> None:
        """Refuse a figure the report could not print as a number."""
        for label, number in (("value", self.value), ("baseline", self.baseline)):
            if not math.isfinite(number):
                raise ValueError(f"{self.name}: {label} is not a finite number ({number})")
        if self.baseline <= 0:
            raise ValueError(f"{self.name}: baseline must be positive, got {self.baseline}")


@dataclass
class Outcome:
    """Everything one benchmark run measured, with the settings it ran under."""

    bench: str
    title: str
    figures: list[Figure]
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; every figure carries its ratio."""
        return {
            "bench": self.bench,
            "title": self.title,
            "params": self.params,
            "notes": self.notes,
            "figures": [{**asdict(f), "ratio": f.ratio} for f in self.figures],
        }


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes: --json PATH and --quick."""
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds of measuring (for tests)"
    )


def emit(outcome: Outcome, path: Path | None) -> None:
    """Print the figures with their ratios, and write them to `path` as JSON when given."""
    if not outcome.figures:
        raise ValueError(f"{outcome.bench}: no figures measured")
    for figure in outcome.figures:
        figure.check()
    print(f"{outcome.title}: figure / same-run baseline")
    for f in outcome.figures:
        print(
            f"  {f.name:<34} {f.value:>12,.3f} {f.unit:<10} "
            f"baseline {f.baseline:>12,.3f} ({f.baseline_label})  ratio {f.ratio:.3f}"
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(outcome.as_dict(), indent=1) + "\n")


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a sample that was actually observed."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
