"""Valuation counts a pledged bay's stock in full only while its readers and cameras watch it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text, update

from loans import valuing
from loans.model import LoanStatus
from pledge.alert_service import record_alert
from pledge.alerts import AlertDraft, AlertType, Severity
from services.ingest.monitoring import revalue_for_monitoring
from services.ingest.placement import ReaderPlacementRow
from services.ingest.readers import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    mark_silent_readers_offline,
    register_reader,
)
from services.ingest.tables import Reader
from services.uow import SqlUnitOfWork
from tests.api.story_steps import Deal, active_loan, expect, parties

# 650,000 on 960,000 of collateral: within max LTV 0.70, but over 0.80 once a fifth is discounted.
NEAR_THRESHOLD = "650000.00"


def _install_reader(service: Any, deal: Deal, reader_id: str, on_bay: bool = True) -> None:
    """Register a reader for the deal's warehouse, heard from just now, placed on its bay."""
    site = deal.goods.site
    now = datetime.now(UTC)
    with service.container.session_factory() as session:
        register_reader(session, site.warehouse["code"], reader_id)
        session.flush()
        session.execute(
            update(Reader)
            .where(Reader.reader_id == reader_id)
            .values(status="online", last_seen_at=now, status_changed_at=now)
        )
        if on_bay:
            session.add(
                ReaderPlacementRow(
                    reader_id=reader_id,
                    warehouse_id=site.warehouse["id"],
                    bay_id=site.bay["id"],
                    kind="bay",
                    updated_at=now,
                )
            )
        session.commit()


def _silence_readers(service: Any) -> list[str]:
    """Run the worker's presence check past the heartbeat timeout, so every reader goes offline."""
    later = datetime.now(UTC) + 2 * DEFAULT_HEARTBEAT_TIMEOUT
    with service.container.session_factory() as session:
        gone = mark_silent_readers_offline(session, later)
        session.commit()
    return gone


def _hear_from(service: Any, reader_id: str) -> None:
    """A heartbeat arrives: the reader is online again, as the ingest writer records it."""
    now = datetime.now(UTC)
    with service.container.session_factory() as session:
        session.execute(
            update(Reader)
            .where(Reader.reader_id == reader_id)
            .values(status="online", last_seen_at=now, status_changed_at=now, status_reason="seen")
        )
        session.commit()


def _valuation(service: Any, deal: Deal, who: Any) -> dict[str, Any]:
    body: dict[str, Any] = expect(
        service.client.get(f"/loans/{deal.loan['id']}/valuation", headers=who.bank1), 200
    )
    return body


def _loan(service: Any, deal: Deal, who: Any) -> dict[str, Any]:
    body: dict[str, Any] = expect(
        service.client.get(f"/loans/{deal.loan['id']}", headers=who.bank1), 200
    )
    return body


def _margin_call_alerts(service: Any, who: Any, deal: Deal) -> list[dict[str, Any]]:
    page = expect(
        service.client.get("/alerts", headers=who.bank1, params={"type": "margin_call"}), 200
    )
    return [a for a in page["items"] if a["subject"].get("loan_id") == deal.loan["id"]]


def test_a_loan_in_a_watched_bay_is_valued_at_its_full_quantity(service: Any) -> None:
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-1")

    line = _valuation(service, deal, who)["lines"][0]

    assert line["monitoring"] == "monitored"
    assert Decimal(line["verified_quantity"]) == Decimal(line["quantity"]) == Decimal(100)
    # 100 coils x 12,000 x (1 - 0.20 haircut).
    assert Decimal(line["value"]) == Decimal("960000.00")


def test_readers_going_offline_cut_the_counted_quantity_and_raise_a_margin_call(
    service: Any,
) -> None:
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-2")
    watched = _valuation(service, deal, who)

    assert _silence_readers(service) == ["RD-WATCH-2"]
    blind = _valuation(service, deal, who)
    line = blind["lines"][0]

    assert line["monitoring"] == "unmonitored"
    assert Decimal(line["quantity"]) == Decimal(100)
    assert Decimal(line["verified_quantity"]) == Decimal(80)
    assert Decimal(blind["collateral"]) == Decimal(watched["collateral"]) * Decimal("0.8")
    assert Decimal(blind["ltv"]) > Decimal(watched["ltv"])
    assert _loan(service, deal, who)["status"] == "active"

    calls = revalue_for_monitoring(service.container)

    assert calls == 1
    loan = _loan(service, deal, who)
    assert loan["status"] == "margin_call"
    assert Decimal(loan["ltv"]) == Decimal(blind["ltv"])
    alerts = _margin_call_alerts(service, who, deal)
    assert [a["state"] for a in alerts] == ["open"]


def test_a_reader_coming_back_restores_the_value_and_clears_the_margin_call(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-3")
    full = _valuation(service, deal, who)
    _silence_readers(service)
    revalue_for_monitoring(service.container)
    assert _loan(service, deal, who)["status"] == "margin_call"

    _hear_from(service, "RD-WATCH-3")
    calls = revalue_for_monitoring(service.container)

    assert calls == 0
    restored = _valuation(service, deal, who)
    assert restored["lines"][0]["monitoring"] == "monitored"
    assert Decimal(restored["collateral"]) == Decimal(full["collateral"])
    loan = _loan(service, deal, who)
    assert loan["status"] == "active"
    assert Decimal(loan["collateral_value"]) == Decimal(full["collateral"])
    assert service.count("margin_calls") == 1
    with service.container.engine.connect() as conn:
        states = conn.execute(text("SELECT status FROM margin_calls")).scalars().all()
    assert states == ["cleared"]


def test_a_second_run_without_a_monitoring_change_revalues_nothing(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-4")
    _silence_readers(service)
    assert revalue_for_monitoring(service.container) == 1
    # Clear the call by hand: an unchanged bay must not be looked at again, so it stays cleared.
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        loan = uow.loans.get(deal.loan["id"])
        assert loan is not None
        loan.status = LoanStatus.ACTIVE
        uow.commit()

    assert revalue_for_monitoring(service.container) == 0
    assert _loan(service, deal, who)["status"] == "active"


def test_a_bay_without_a_reader_in_a_warehouse_with_readers_is_unmonitored(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-GATE-5", on_bay=False)

    line = _valuation(service, deal, who)["lines"][0]

    assert line["monitoring"] == "unmonitored"
    assert Decimal(line["verified_quantity"]) == Decimal(80)


def test_a_warehouse_without_any_reader_counts_as_monitored(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)

    line = _valuation(service, deal, who)["lines"][0]

    assert line["monitoring"] == "monitored"
    assert Decimal(line["verified_quantity"]) == Decimal(100)


def test_an_open_camera_tamper_alert_on_the_bay_counts_nothing_until_resolved(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-6")
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        warehouse = uow.warehouses.get(deal.goods.site.warehouse["id"])
        assert warehouse is not None
        operator = warehouse.org_id
    draft = AlertDraft(
        org_id=operator,
        type=AlertType.CAMERA_TAMPER,
        severity=Severity.CRITICAL,
        title="Camera covered",
        dedup_key=f"camera_tamper:{deal.goods.site.bay['id']}",
        subject={"bay_id": deal.goods.site.bay["id"]},
    )
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        alert = record_alert(uow, datetime.now(UTC), draft)
        uow.commit()
        alert_id = alert.id

    tampered = _valuation(service, deal, who)
    assert tampered["lines"][0]["monitoring"] == "tampered"
    assert Decimal(tampered["lines"][0]["verified_quantity"]) == Decimal(0)
    assert Decimal(tampered["collateral"]) == Decimal(0)

    expect(
        service.client.post(
            f"/alerts/{alert_id}/resolve", headers=who.wh, json={"note": "camera cleaned"}
        ),
        200,
    )
    assert _valuation(service, deal, who)["lines"][0]["monitoring"] == "monitored"


def test_a_unit_of_work_without_the_monitoring_port_values_in_full(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    deal = active_loan(service.client, who, NEAR_THRESHOLD)
    _install_reader(service, deal, "RD-WATCH-7")
    _silence_readers(service)

    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        del uow.monitoring
        loan = uow.loans.get(deal.loan["id"])
        assert loan is not None
        valuation = valuing.value_loan(uow, loan)

    assert valuation.lines[0].verified_quantity == Decimal(100)
    assert valuation.lines[0].monitoring == "monitored"


def test_a_loan_with_normal_headroom_rides_out_a_reader_outage(sqlite_service: Any) -> None:
    who = parties(sqlite_service)
    deal = active_loan(sqlite_service.client, who)  # 600,000: LTV 0.63 with every coil counted
    _install_reader(sqlite_service, deal, "RD-REBOOT")
    assert _silence_readers(sqlite_service) == ["RD-REBOOT"]
    blind = _valuation(sqlite_service, deal, who)
    assert blind["lines"][0]["monitoring"] == "unmonitored"
    assert Decimal(blind["ltv"]) < Decimal("0.80")
    revalue_for_monitoring(sqlite_service.container)
    assert _loan(sqlite_service, deal, who)["status"] == "active"
    assert _margin_call_alerts(sqlite_service, who, deal) == []
