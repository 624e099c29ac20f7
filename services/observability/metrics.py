"""Prometheus metrics: in-process histograms plus a collector that reads the database at scrape."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select

from loans.model import SECURED
from loans.tables import loans
from pledge.alert_tables import alerts
from services.ingest.tables import DeadLetter, TagReadRow
from services.ledger.tables import LedgerCommand

log = logging.getLogger(__name__)

LEDGER_COMMIT_LATENCY = Histogram(
    "pledgewatch_ledger_commit_latency_seconds",
    "Time from queuing a ledger command to its confirmation by a ledger event.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
LTV_BUCKETS = (0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0, 1.25)
# How many of the newest reads the lag figures look at: bounded work per scrape.
LAG_SAMPLE = 500
# Commands still owed to the ledger.
_UNSETTLED = ("pending", "submitted")
_OPEN_ALERT_STATES = ("open", "acknowledged")

_hook_lock = threading.Lock()
_hook_installed = False


def _on_status_set(target: LedgerCommand, value: str, oldvalue: object, _initiator: Any) -> str:
    # Observed where the listener confirms: the embedded ledger in the API, Fabric in the outbox.
    if value == "confirmed" and oldvalue != "confirmed" and target.created_at is not None:
        created = target.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        LEDGER_COMMIT_LATENCY.observe(max(0.0, (datetime.now(UTC) - created).total_seconds()))
    return value


def install_ledger_latency_hook() -> None:
    """Observe commit latency whenever this process marks a ledger command confirmed."""
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            event.listen(LedgerCommand.status, "set", _on_status_set, retval=True)
            _hook_installed = True


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class DatabaseCollector(Collector):
    """Gauges and distributions computed from the database each time Prometheus scrapes."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        """Read from `engine` at collect time; nothing is queried before."""
        self.engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def describe(self) -> list[Metric]:
        """Nothing up front: describing would otherwise run the queries at registration."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Run the queries; a database that does not answer yields only `..._up 0`."""
        up = GaugeMetricFamily(
            "pledgewatch_metrics_database_up", "Whether the metrics queries reached the database."
        )
        try:
            families = list(self._families())
        except Exception as exc:
            log.warning("metrics could not read the database: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        now = self._clock()
        with self.engine.connect() as conn:
            yield from self._outbox(conn, now)
            yield from self._ingest(conn, now)
            yield from self._alerts(conn)
            yield from self._ltv(conn)

    def _outbox(self, conn: Any, now: datetime) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "pledgewatch_outbox_depth",
            "Ledger commands not yet confirmed, by status.",
            labels=["status"],
        )
        rows = conn.execute(
            select(LedgerCommand.status, func.count(), func.min(LedgerCommand.created_at))
            .where(LedgerCommand.status.in_(_UNSETTLED))
            .group_by(LedgerCommand.status)
        ).all()
        counts = {status: 0 for status in _UNSETTLED}
        oldest: datetime | None = None
        for status, count, first in rows:
            counts[status] = count
            if first is not None:
                first = _aware(first)
                oldest = first if oldest is None else min(oldest, first)
        for status, count in counts.items():
            depth.add_metric([status], count)
        yield depth
        age = GaugeMetricFamily(
            "pledgewatch_outbox_oldest_age_seconds",
            "Age of the oldest ledger command not yet confirmed (0 when none is waiting).",
        )
        age.add_metric([], 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        yield age
        rejected = CounterMetricFamily(
            "pledgewatch_ledger_commands_rejected", "Ledger commands the contract refused."
        )
        rejected.add_metric(
            [],
            conn.execute(
                select(func.count()).where(LedgerCommand.status == "rejected")
            ).scalar_one(),
        )
        yield rejected

    def _ingest(self, conn: Any, now: datetime) -> Iterator[Metric]:
        dead = CounterMetricFamily(
            "pledgewatch_ingest_dead_letters",
            "MQTT messages the ingest worker could not use, kept for inspection.",
        )
        dead.add_metric([], conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one())
        yield dead
        recent = conn.execute(
            select(TagReadRow.seen_at, TagReadRow.received_at)
            .order_by(TagReadRow.id.desc())
            .limit(LAG_SAMPLE)
        ).all()
        lags = sorted(max(0.0, (r - s).total_seconds()) for s, r in recent)
        lag = GaugeMetricFamily(
            "pledgewatch_ingest_lag_seconds",
            "Delay from a tag read on the reader to its row in the database, over the newest "
            f"{LAG_SAMPLE} reads.",
            labels=["quantile"],
        )
        for q in (0.5, 0.9, 0.99, 1.0):
            lag.add_metric([str(q)], lags[min(len(lags) - 1, int(q * len(lags)))] if lags else 0.0)
        yield lag
        newest = GaugeMetricFamily(
            "pledgewatch_ingest_last_read_age_seconds",
            "Seconds since the newest stored tag read arrived (absent before the first read).",
        )
        if recent:
            newest.add_metric([], max(0.0, (now - max(r for _, r in recent)).total_seconds()))
        yield newest

    def _alerts(self, conn: Any) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "pledgewatch_alerts_open",
            "Alerts not yet resolved, by type and severity.",
            labels=["type", "severity"],
        )
        rows = conn.execute(
            select(alerts.c.type, alerts.c.severity, func.count())
            .where(alerts.c.state.in_(_OPEN_ALERT_STATES))
            .group_by(alerts.c.type, alerts.c.severity)
        ).all()
        for kind, severity, count in rows:
            family.add_metric([_label(kind), _label(severity)], count)
        yield family

    def _ltv(self, conn: Any) -> Iterator[Metric]:
        by_status = GaugeMetricFamily("pledgewatch_loans", "Loans by status.", labels=["status"])
        for status, count in conn.execute(
            select(loans.c.status, func.count()).group_by(loans.c.status)
        ):
            by_status.add_metric([_label(status)], count)
        yield by_status
        values = [
            Decimal(row[0])
            for row in conn.execute(
                select(loans.c.ltv)
                .where(loans.c.status.in_([s.value for s in SECURED]))
                .where(loans.c.ltv.is_not(None))
            )
        ]
        buckets = [(str(b), sum(1 for v in values if v <= Decimal(str(b)))) for b in LTV_BUCKETS]
        buckets.append(("+Inf", len(values)))
        family = HistogramMetricFamily(
            "pledgewatch_loan_ltv",
            "Loan-to-value of the loans holding a lien, as a distribution at scrape time.",
        )
        family.add_metric([], buckets, sum_value=float(sum(values, Decimal(0))))
        yield family


def _label(value: object) -> str:
    return str(getattr(value, "value", value))


_collector_lock = threading.Lock()
_collector: DatabaseCollector | None = None


def register_database_metrics(engine: Engine) -> DatabaseCollector:
    """Register the database collector on the default registry once; later calls re-point it."""
    global _collector
    with _collector_lock:
        if _collector is None:
            _collector = DatabaseCollector(engine)
            REGISTRY.register(_collector)
        else:
            # One process serves one database; tests that build many apps re-point the collector.
            _collector.engine = engine
        return _collector


def load_vision_metrics() -> bool:
    """Import the vision metrics module when present, so its series exist before the first frame."""
    try:
        import_module("vision.metrics")
    except ImportError:
        return False
    return True
