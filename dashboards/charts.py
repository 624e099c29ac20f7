"""Chart data for the pages: plain JSON specs that static/js/app.js draws with uPlot."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from dashboards.collateral_history import Point
from loans.model import LoanProduct, Price

BLUE, GREEN, RED, AMBER, GREY, PURPLE = (
    "#1f4e8c",
    "#1c7c4d",
    "#b3261e",
    "#a36200",
    "#8a94a6",
    "#6b3fa0",
)


def _num(value: Decimal | None, places: int = 2) -> float | None:
    # Charts need numbers, not strings; rounding here only affects the drawing.
    return None if value is None else round(float(value), places)


def coverage_chart(points: Sequence[Point], currency: str) -> dict[str, Any]:
    """Collateral value and amount owed (left axis), and coverage, their ratio (right axis)."""
    series: list[dict[str, Any]] = [
        {
            "label": f"Collateral ({currency})",
            "values": [_num(p.collateral) for p in points],
            "scale": "money",
            "color": BLUE,
            "step": True,
            "fill": "rgba(31, 78, 140, 0.08)",
        },
        {
            "label": f"Owed ({currency})",
            "values": [_num(p.outstanding) for p in points],
            "scale": "money",
            "color": GREY,
            "step": True,
        },
        {
            "label": "Coverage",
            "values": [
                _num(p.collateral / p.outstanding, 4) if p.outstanding else None for p in points
            ],
            "scale": "ratio",
            "color": GREEN,
            "step": True,
        },
    ]
    return {
        "x": [int(p.at.timestamp()) for p in points],
        "series": series,
        "axes": [
            {"scale": "money", "label": currency},
            {"scale": "ratio", "label": "coverage", "percent": True},
        ],
        "empty": "No history yet: the chart starts when a loan is paid out.",
    }


def ltv_chart(points: Sequence[Point], product: LoanProduct) -> dict[str, Any]:
    """LTV over time against the product's max, margin-call and liquidation thresholds."""
    series: list[dict[str, Any]] = [
        {
            "label": "LTV",
            "values": [_num(p.ltv, 4) for p in points],
            "scale": "ratio",
            "color": PURPLE,
            "step": True,
            "width": 2.5,
        }
    ]
    for label, value, color in (
        ("Max LTV", product.max_ltv, GREY),
        ("Margin call", product.margin_call_ltv, AMBER),
        ("Liquidation", product.liquidation_ltv, RED),
    ):
        series.append(
            {
                "label": label,
                "values": [_num(value, 4)] * len(points),
                "scale": "ratio",
                "color": color,
                "dash": True,
            }
        )
    return {
        "x": [int(p.at.timestamp()) for p in points],
        "series": series,
        "axes": [{"scale": "ratio", "label": "loan to value", "percent": True, "range": [0, 1.2]}],
        "empty": "No history yet: the chart starts when the loan is paid out.",
    }


def price_chart(prices: Sequence[Price]) -> dict[str, Any]:
    """Each commodity's price per unit over time, one line per commodity and currency."""
    stamps = sorted({int(p.as_of.timestamp()) for p in prices})
    keys = sorted({(p.commodity_code, p.currency) for p in prices})
    palette = [BLUE, GREEN, AMBER, PURPLE, RED, GREY]
    series = []
    for i, (commodity, currency) in enumerate(keys):
        by_time = {
            int(p.as_of.timestamp()): p.price
            for p in sorted(prices, key=lambda p: (p.as_of, p.id))
            if (p.commodity_code, p.currency) == (commodity, currency)
        }
        values: list[float | None] = []
        last: float | None = None
        for stamp in stamps:
            if stamp in by_time:
                last = _num(by_time[stamp])
            values.append(last)
        series.append(
            {
                "label": f"{commodity} ({currency})",
                "values": values,
                "scale": "price",
                "color": palette[i % len(palette)],
                "step": True,
            }
        )
    return {
        "x": stamps,
        "series": series,
        "axes": [{"scale": "price", "label": "price per unit"}],
        "empty": "No prices recorded yet.",
    }
