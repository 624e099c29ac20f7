"""Ledger throughput: real pledge-contract transactions through the outbox into the embedded ledger.

Runs on a fresh schema of the test PostgreSQL (PLEDGEWATCH_TEST_PG_URL, else .cache/pg/url),
migrated like production, with the demo bank and warehouse organisations. Every lot makes three
transactions of the contract: the warehouse issues a receipt, the bank registers a pledge over
it (endorsed by bank and warehouse), the warehouse anchors an event hash. Two measurements:
- throughput: a backlog of pending ledger commands drained the way the outbox process drains
  it (`Container.pump`: submit up to 100 due commands, then confirm them from ledger events).
  Each command runs the contract, its block is hashed, signed by every endorser and committed
  with its world-state writes, then the command is marked submitted and, from the event,
  confirmed.
- commit latency p50/p99: one command at a time, from committing it as pending (what the API's
  unit of work does) to its confirmation after a pump: what a request waits for here.
Baseline, same run, same database and connection pool: the same transactions (tx id, function,
canonical JSON arguments, submitter, endorsers) stored as plain INSERTs, one transaction each.
The ratios are the price of the ledger over bare persistence of the same facts: contract
execution, signatures, the hash chain, world state and the outbox's own bookkeeping. The
commands come without local domain rows, so the confirmation handlers look their subject up and
find nothing to update: that domain-side write of a real confirmation is not in the figures.
Afterwards every command must be confirmed and the chain must verify, so a fast but wrong run
fails rather than reports.

    uv run python bench/ledger.py [--lots 1000] [--latency-lots 200] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._figures import Figure, Outcome, add_output_options, emit, percentile  # noqa: E402
from bench._services import fresh_schema, pg_url  # noqa: E402
from chaincode.canonical import canonical_json  # noqa: E402
from services.bootstrap import Container, build_container  # noqa: E402
from services.identity.service import create_org  # noqa: E402
from services.ledger.outbox import CONFIRMED, command_tx_id, enqueue, utcnow  # noqa: E402
from services.ledger.tables import LedgerCommand  # noqa: E402
from services.seed import DEMO_ORGS  # noqa: E402
from services.settings import DatabaseSettings, LedgerSettings, Mode, Settings  # noqa: E402

BANK = next(o for o in DEMO_ORGS if o.id == "bank1")
WAREHOUSE = next(o for o in DEMO_ORGS if o.id == "northport")
Spec = dict[str, Any]

_plain_meta = MetaData()
# The baseline's table: the columns a ledger command carries, and nothing that makes it a ledger.
plain_tx = Table(
    "bench_plain_tx",
    _plain_meta,
    Column("tx_id", String(64), primary_key=True),
    Column("fn", String(128), nullable=False),
    Column("args", Text, nullable=False),
    Column("submitter_msp", String(128), nullable=False),
    Column("endorsers", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def lot_specs(prefix: str, lots: int) -> list[Spec]:
    """Three contract transactions per lot: receipt, pledge over it, event anchor."""
    specs: list[Spec] = []
    for n in range(lots):
        receipt_id, loan_id = f"{prefix}-r{n}", f"{prefix}-l{n}"
        specs.append(
            {
                "org_id": WAREHOUSE.id,
                "kind": "issue_receipt",
                "subject_type": "receipt",
                "subject_id": receipt_id,
                "fn": "issue_receipt",
                "args": {
                    "receipt_id": receipt_id,
                    "warehouse_id": f"{prefix}-wh",
                    "lien_keys": [_digest(prefix, n, "lien", k) for k in range(2)],
                    "commitment": _digest(prefix, n, "receipt"),
                },
                "submitter_msp": WAREHOUSE.msp_id,
            }
        )
        specs.append(
            {
                "org_id": BANK.id,
                "kind": "register_pledge",
                "subject_type": "loan",
                "subject_id": loan_id,
                "fn": "register_pledge",
                "args": {
                    "loan_id": loan_id,
                    "receipt_ids": [receipt_id],
                    "warehouse_msp": WAREHOUSE.msp_id,
                    "commitment": _digest(prefix, n, "loan"),
                },
                "submitter_msp": BANK.msp_id,
                "endorsers": [WAREHOUSE.msp_id],
            }
        )
        specs.append(
            {
                "org_id": WAREHOUSE.id,
                "kind": "anchor",
                "subject_type": "epcis_event",
                "subject_id": f"{prefix}-e{n}",
                "fn": "anchor",
                "args": {
                    "anchor_id": f"{prefix}-e{n}",
                    "kind": "epcis",
                    "hash": _digest(prefix, n, "event"),
                },
                "submitter_msp": WAREHOUSE.msp_id,
            }
        )
    return specs


def _container(db_url: str, key_dir: Path) -> Container:
    # Dev mode: the bench's own ledger keys and secrets, whatever PLEDGEWATCH_* the caller set.
    settings = Settings(
        mode=Mode.DEV, db=DatabaseSettings(url=db_url), ledger=LedgerSettings(key_dir=key_dir)
    )
    container = build_container(settings)
    with container.session_factory() as session:
        for org in (BANK, WAREHOUSE):
            create_org(session, org.id, org.name, org.kind, org.msp_id)
        session.commit()
    container.connect_ledger()
    return container


def _statuses(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        rows = session.execute(
            select(LedgerCommand.status, func.count()).group_by(LedgerCommand.status)
        )
        return {str(status): int(count) for status, count in rows}


def drain_backlog(container: Container, specs: list[Spec]) -> float:
    """Queue every spec as a pending command, then pump until none is due; returns seconds."""
    # Distinct creation times keep the drain order (and so receipt-before-pledge) deterministic.
    start = utcnow() - timedelta(minutes=1)
    with container.session_factory() as session, session.begin():
        for n, spec in enumerate(specs):
            enqueue(session, **spec, now=start + timedelta(microseconds=n))
    began = time.perf_counter()
    while container.pump()[0]:
        pass
    return time.perf_counter() - began


def one_at_a_time(container: Container, specs: list[Spec]) -> list[float]:
    """Seconds from committing each command as pending to its confirmation, one after another."""
    samples = []
    for spec in specs:
        began = time.perf_counter()
        with container.session_factory() as session, session.begin():
            enqueue(session, **spec)
        container.pump()
        samples.append(time.perf_counter() - began)
    return samples


def plain_inserts(engine: Engine, specs: list[Spec]) -> list[float]:
    """Seconds per plain INSERT + COMMIT of each spec's transaction fields."""
    samples = []
    for n, spec in enumerate(specs):
        row = {
            "tx_id": command_tx_id(f"plain-{n}-{spec['subject_id']}"),
            "fn": spec["fn"],
            "args": canonical_json(spec["args"]).decode(),
            "submitter_msp": spec["submitter_msp"],
            "endorsers": canonical_json(spec.get("endorsers", [])).decode(),
            "created_at": utcnow(),
        }
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(plain_tx.insert(), row)
        samples.append(time.perf_counter() - began)
    return samples


def _ms(seconds: float) -> float:
    return seconds * 1000


def _check(container: Container, expected: int) -> int:
    statuses = _statuses(container)
    if statuses != {CONFIRMED: expected}:
        raise SystemExit(f"expected {expected} confirmed commands, found {statuses}")
    assert container.ledger is not None
    report = container.ledger.verify()
    if not report.ok or report.blocks != expected:
        raise SystemExit(f"ledger verification failed: {report}")
    return report.blocks


def measure(lots: int, latency_lots: int, warmup_lots: int) -> Outcome:
    """Run the warm-up, the backlog drain, the one-at-a-time run and the baseline."""
    with fresh_schema(pg_url(), migrate=True) as db_url, tempfile.TemporaryDirectory() as keys:
        container = _container(db_url, Path(keys))
        try:
            _plain_meta.create_all(container.engine)
            backlog = lot_specs("bl", lots)
            single = lot_specs("la", latency_lots)
            # Warm-up: imports, keys, pooled connections and plan caches on both paths.
            one_at_a_time(container, lot_specs("wu", warmup_lots))
            plain_inserts(container.engine, lot_specs("wu", warmup_lots))
            plain = plain_inserts(container.engine, backlog)
            drained = drain_backlog(container, backlog)
            latencies = one_at_a_time(container, single)
            blocks = _check(container, 3 * (warmup_lots + lots + latency_lots))
        finally:
            container.close()
    plain_label = "plain INSERT, 1 tx each"
    figures = [
        Figure(
            "throughput (outbox drain)",
            len(backlog) / drained,
            "tx/s",
            len(plain) / sum(plain),
            plain_label,
            "higher",
        ),
        Figure(
            "commit latency p50",
            _ms(percentile(latencies, 50)),
            "ms",
            _ms(percentile(plain, 50)),
            plain_label,
            "lower",
        ),
        Figure(
            "commit latency p99",
            _ms(percentile(latencies, 99)),
            "ms",
            _ms(percentile(plain, 99)),
            plain_label,
            "lower",
        ),
    ]
    return Outcome(
        bench="ledger",
        title="Embedded ledger on PostgreSQL, through the outbox",
        figures=figures,
        params={
            "backlog_tx": len(backlog),
            "latency_tx": len(single),
            "baseline_tx": len(plain),
            "blocks_verified": blocks,
            "mix": "issue_receipt, register_pledge (2 endorsers), anchor",
        },
        notes=[
            "baseline: the same transactions' fields as plain INSERTs into one table, "
            "one transaction each, same database and pool",
            "latency: pending command committed -> confirmed after one pump, one at a time",
        ],
    )


def main() -> None:
    """Measure and print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1000, help="lots in the backlog (3 tx each)")
    parser.add_argument("--latency-lots", type=int, default=200, help="lots run one at a time")
    add_output_options(parser)
    args = parser.parse_args()
    lots, latency_lots = (50, 20) if args.quick else (args.lots, args.latency_lots)
    outcome = measure(lots, latency_lots, warmup_lots=3 if args.quick else 10)
    emit(outcome, args.json)


if __name__ == "__main__":
    main()
