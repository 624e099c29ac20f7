"""EPCIS capture and query through the API: round trip, dedup, schema errors, internal facts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Service, problem_of
from tests.api.story_steps import COIL, epcs, expect, goods, key, parties, site

CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T12:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def event(time: str, step: str, tags: list[str], bay_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+02:00",
        "action": "OBSERVE",
        "bizStep": step,
        "disposition": "active",
        "epcList": tags,
        "bizLocation": {"id": f"urn:pledgewatch:bay:{bay_id}"},
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        **extra,
    }


def capture(service: Service, headers: dict[str, str], body: Any) -> Any:
    return service.client.post(
        "/epcis/capture",
        headers={**headers, "Content-Type": "application/ld+json"},
        json=body,
    )


def events_of(service: Service, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    body = expect(service.client.get("/epcis/events", headers=headers, params=params), 200)
    items: list[dict[str, Any]] = body["items"]
    assert body["total"] == len(items)
    return items


def test_captured_events_are_found_by_epc_biz_step_and_time_window(service: Service) -> None:
    who = parties(service)
    where = site(service.client, who.wh)
    bay = where.bay["id"]
    first, second, third = epcs(2), epcs(1), epcs(3)
    body = document(
        event("2026-03-01T10:00:00+02:00", "storing", first, bay),
        event("2026-03-01T11:00:00+02:00", "stock_taking", second, bay),
        event("2026-03-01T12:00:00+02:00", "urn:epcglobal:cbv:bizstep:storing", third, bay),
    )
    out = expect(capture(service, who.wh, body), 201)
    assert out["captured"] == 3 and out["duplicates"] == []

    by_epc = events_of(service, who.wh, MATCH_epc=first[1])
    assert [e["epcList"] for e in by_epc] == [first]
    assert by_epc[0]["pw:eventHash"] == out["eventHashes"][0]
    here = f"urn:pledgewatch:bay:{bay}"
    storing = events_of(service, who.wh, EQ_bizStep="storing", EQ_bizLocation=here)
    assert [e["epcList"] for e in storing] == [first, third]
    window = events_of(
        service,
        who.wh,
        GE_eventTime="2026-03-01T09:00:00Z",
        LT_eventTime="2026-03-01T10:00:00Z",
        EQ_action="OBSERVE",
    )
    assert [e["epcList"] for e in window] == [second]
    assert window[0]["eventTime"] == "2026-03-01T11:00:00+02:00"


def test_the_same_event_captured_twice_is_stored_once(service: Service) -> None:
    who = parties(service)
    bay = site(service.client, who.wh).bay["id"]
    tags = epcs(2)
    once = event("2026-03-02T08:00:00+02:00", "storing", tags, bay)
    # The same fact written in UTC, with its keys and tags in another order.
    again = {
        **dict(reversed(list(once.items()))),
        "eventTime": "2026-03-02T06:00:00Z",
        "epcList": list(reversed(tags)),
    }
    first = expect(capture(service, who.wh, document(once)), 201)
    second = expect(capture(service, who.wh, document(again, once)), 201)
    assert second["captured"] == 0
    assert second["duplicates"] == first["eventHashes"] * 2
    assert len(events_of(service, who.wh, MATCH_epc=tags[0])) == 1
    assert service.count("epcis_events") == 1


@pytest.mark.parametrize(
    ("break_it", "path", "words"),
    [
        (lambda e: e.pop("eventTime"), "$.epcisBody.eventList[0]", "'eventTime' is a required"),
        (lambda e: e.update(action="MOVE"), "$.epcisBody.eventList[0].action", "'MOVE'"),
        (lambda e: e.update(epcList="ABC"), "$.epcisBody.eventList[0].epcList", "not of type"),
        (lambda e: e.update(type="TransformationEvent"), "$.epcisBody.eventList[0].type", ""),
    ],
    ids=["missing eventTime", "bad action", "epcList of the wrong type", "unsupported type"],
)
def test_an_invalid_document_is_refused_with_the_schema_error_path(
    sqlite_service: Service, break_it: Any, path: str, words: str
) -> None:
    who = parties(sqlite_service)
    broken = event("2026-03-01T10:00:00+02:00", "storing", epcs(1), "any")
    break_it(broken)
    resp = capture(sqlite_service, who.wh, document(broken))
    assert resp.status_code == 422
    problem = problem_of(resp)
    assert problem["code"] == "epcis_schema_invalid"
    assert problem["detail"].startswith(f"{path}: ")
    assert words in problem["detail"]
    assert sqlite_service.count("epcis_events") == 0


def test_a_document_without_an_event_list_names_the_missing_member(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    body = document()
    body["epcisBody"] = {}
    problem = problem_of(capture(sqlite_service, who.wh, body))
    assert problem["detail"] == "$.epcisBody: 'eventList' is a required property"


def test_smes_may_not_capture_banks_do_not_see_and_auditors_see_a_warehouses_events(
    sqlite_service: Service,
) -> None:
    who = parties(sqlite_service)
    bay = site(sqlite_service.client, who.wh).bay["id"]
    doc = document(event("2026-03-01T10:00:00+02:00", "storing", epcs(1), bay))
    assert capture(sqlite_service, who.sme, doc).status_code == 403
    out = expect(capture(sqlite_service, who.wh, doc), 201)
    assert events_of(sqlite_service, who.bank1) == []
    # Auditors read every warehouse's record: the event log is what they check.
    seen = events_of(sqlite_service, who.auditor)
    assert [e["pw:eventHash"] for e in seen] == out["eventHashes"]


def test_receiving_and_releasing_goods_emit_add_and_delete_events(service: Service) -> None:
    who = parties(service)
    stock = goods(service.client, who, quantity=3)
    lot = stock.lot["id"]
    body = {"quantity": "1", "epcs": [stock.epcs[0]]}
    expect(
        service.client.post(f"/lots/{lot}/releases", headers={**who.wh, **key()}, json=body), 202
    )
    where = f"urn:pledgewatch:bay:{stock.site.bay['id']}"
    found = events_of(service, who.wh, EQ_bizLocation=where)
    assert [(e["action"], e["bizStep"]) for e in found] == [
        ("ADD", "receiving"),
        ("DELETE", "shipping"),
    ]
    received, shipped = found
    assert sorted(received["epcList"]) == sorted(stock.epcs)
    assert shipped["epcList"] == [stock.epcs[0]]
    assert received["pw:lotId"] == lot == shipped["pw:lotId"]
    shipping = events_of(service, who.wh, MATCH_epc=stock.epcs[0], EQ_bizStep="shipping")
    assert [e["pw:eventHash"] for e in shipping] == [shipped["pw:eventHash"]]
    assert COIL not in str(shipped)  # tagged goods are named by their EPCs, not by commodity
