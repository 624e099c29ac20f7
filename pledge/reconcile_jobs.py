"""Scheduled reconciliation: bays that had an event, once settled, and every bay periodically."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from pledge.alert_service import record_alert
from pledge.ports import Context
from pledge.reconcile import BayVerdict, Tolerances
from pledge.reconcile_requests import (
    DueRequest,
    due_requests,
    finish,
    requests_from_events,
    settling_bays,
)
from pledge.reconcile_service import AlertHook, Sensors, run_reconciliation
from services.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Container

log = logging.getLogger(__name__)


@dataclass
class RequestRun:
    """What one pass over the request queue did."""

    queued: int = 0
    bays: list[str] = field(default_factory=list)
    verdicts: list[BayVerdict] = field(default_factory=list)

    @property
    def mismatched(self) -> set[str]:
        """Bays whose counts disagreed in this pass."""
        return {v.bay_id for v in self.verdicts if v.mismatched}


def process_reconcile_requests(
    session_factory: sessionmaker[Session],
    ctx: Context,
    sensors: Sensors,
    tolerances: Tolerances,
    settle: timedelta,
    alert: AlertHook = record_alert,
) -> RequestRun:
    """Turn new EPCIS events into requests, then reconcile every bay whose settle time passed."""
    run = RequestRun()
    with SqlUnitOfWork.start(session_factory) as uow:
        run.queued = requests_from_events(uow.session, ctx.now, settle)
        uow.commit()
    with SqlUnitOfWork.start(session_factory) as uow:
        due = due_requests(uow.session, ctx.now)
    by_warehouse: dict[str, list[DueRequest]] = {}
    for request in due:
        by_warehouse.setdefault(request.warehouse_id, []).append(request)
    for warehouse_id, requests in by_warehouse.items():
        try:
            with SqlUnitOfWork.start(session_factory) as uow:
                warehouse = uow.warehouses.get(warehouse_id)
                bays = {r.bay_id for r in requests}
                if warehouse is not None:
                    run.verdicts += run_reconciliation(
                        uow, ctx, warehouse, sensors, tolerances, alert, bays=bays
                    )
                # Done in the transaction of the freeze: a crash before the commit retries both.
                for request in requests:
                    finish(uow.session, request, ctx.now)
                uow.commit()
            run.bays += sorted(bays)
        except Exception:
            # The requests stay pending, so the next pass retries this warehouse.
            log.exception("reconciling requested bays of warehouse %s failed", warehouse_id)
    return run


def _settle(container: Container) -> timedelta:
    return timedelta(seconds=container.settings.reconcile.settle_seconds)


def reconcile_requests_job(container: Container) -> int:
    """The frequent job: reconcile the bays that had an event and have settled; mismatches."""
    try:
        run = process_reconcile_requests(
            container.session_factory,
            container.context(),
            container.reconcile_sensors(),
            container.reconcile_tolerances(),
            _settle(container),
        )
    except Exception:
        # Requests are rows: whatever this pass did not finish, the next one finds again.
        log.exception("processing reconciliation requests failed")
        return 0
    if run.mismatched:
        log.warning("requested reconciliation froze bay(s): %s", ", ".join(sorted(run.mismatched)))
    return len(run.mismatched)


def reconcile_every_warehouse(container: Container, ctx: Context | None = None) -> int:
    """Reconcile every warehouse's bays, leaving settling bays unfrozen; returns mismatched bays."""
    ctx = ctx or container.context()
    with SqlUnitOfWork.start(container.session_factory) as uow:
        warehouses = uow.warehouses.find()
        settling = settling_bays(uow.session, ctx.now)
    mismatched = 0
    for warehouse in warehouses:
        try:
            with SqlUnitOfWork.start(container.session_factory) as uow:
                verdicts = run_reconciliation(
                    uow,
                    ctx,
                    warehouse,
                    container.reconcile_sensors(),
                    container.reconcile_tolerances(),
                    record_alert,
                    settling=settling,
                )
                uow.commit()
        except Exception:
            # One warehouse's failure must not stop the others; the next run retries it.
            log.exception("reconciliation of warehouse %s failed", warehouse.id)
            continue
        mismatched += len({v.bay_id for v in verdicts if v.mismatched and v.bay_id not in settling})
    return mismatched
