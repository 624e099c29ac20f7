"""EPCIS capture refuses every bad document of the corpus whole, with the reason, storing nothing.

A document is taken or refused as a whole: one bad event among good ones stores none of them.
Queries with impossible times or NUL characters are refused the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.story_steps import expect
from tests.corpus.conftest import Corpus
from tests.corpus.corpus_checks import Case, check_case

CAPTURE = "/epcis/capture"
LD = "application/ld+json"
CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"pw": "urn:pw:"}]


def event(n: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid OBSERVE of two tags in the shared bay; keys set to None are dropped."""
    body = {
        "type": "ObjectEvent",
        "eventTime": f"2026-03-01T10:00:0{n % 10}.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "OBSERVE",
        "bizStep": "storing",
        "disposition": "active",
        "epcList": [f"30340000000000000000B{n:03X}", f"30340000000000000000C{n:03X}"],
        "bizLocation": {"id": "urn:pledgewatch:bay:{bay}"},
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        **changes,
    }
    return {key: value for key, value in body.items() if value is not None}


def document(*events: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An EPCISDocument of the given events (one valid event if none)."""
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T12:00:00Z",
        "epcisBody": {"eventList": list(events) or [event()]},
        **changes,
    }


def timed(moment: str, offset: str = "+00:00") -> dict[str, Any]:
    """A document of one event at the given time and offset."""
    return document(event(eventTime=moment, eventTimeZoneOffset=offset))


VALID_TEXT = json.dumps(document())


def refused(name: str, body: Any, code: str, mention: str = "", status: int = 422) -> Case:
    """A capture by the warehouse operator that must be refused."""
    return Case(name, CAPTURE, body, status, code, mention, content_type=LD)


def cut(fraction: float) -> Case:
    """The valid document cut short."""
    raw = VALID_TEXT[: int(len(VALID_TEXT) * fraction)].encode()
    return refused(f"cut at {fraction:.0%}", raw, "validation_error", "json")


MALFORMED = [
    *(cut(f) for f in (0.05, 0.5, 0.95)),
    refused("trailing garbage", (VALID_TEXT + "]").encode(), "validation_error", "json"),
    refused("empty body", b"", "validation_error"),
    refused("a JSON array", b"[]", "validation_error"),
    refused("null", b"null", "validation_error"),
    refused(
        "invalid UTF-8",
        VALID_TEXT.replace("storing", "st\udcffring").encode("utf-8", "surrogateescape"),
        "malformed_body",
        "utf-8",
        400,
    ),
    refused(
        "not an EPCISDocument",
        document(type="EPCISQueryDocument"),
        "epcis_schema_invalid",
        "$.type",
    ),
    refused("no event list", {**document(), "epcisBody": {}}, "epcis_schema_invalid", "eventList"),
    refused(
        "an empty event list",
        document(epcisBody={"eventList": []}),
        "epcis_schema_invalid",
        "eventList",
    ),
    refused(
        "an AggregationEvent",
        document(event(type="AggregationEvent")),
        "epcis_schema_invalid",
        "type",
    ),
    refused("action MOVE", document(event(action="MOVE")), "epcis_schema_invalid", "action"),
    refused(
        "offset +25:00",
        document(event(eventTimeZoneOffset="+25:00")),
        "epcis_schema_invalid",
        "eventTimeZoneOffset",
    ),
    refused(
        "a tag listed twice",
        document(event(epcList=["30340000000000000000B001"] * 2)),
        "epcis_schema_invalid",
        "epcList",
    ),
    refused(
        "a negative quantity",
        document(event(quantityList=[{"epcClass": "urn:pw:c", "quantity": -1}])),
        "epcis_schema_invalid",
        "quantity",
    ),
    refused(
        "an extension without a namespace",
        document(event(note="x")),
        "epcis_schema_invalid",
        "note",
    ),
    refused(
        "a location without an id",
        document(event(bizLocation={"name": "bay"})),
        "epcis_schema_invalid",
        "bizLocation",
    ),
    refused(
        "a location that is no URI",
        document(event(bizLocation={"id": "bay one"})),
        "epcis_schema_invalid",
        "bizLocation",
    ),
    refused(
        "a bay that does not exist",
        document(event(bizLocation={"id": "urn:pledgewatch:bay:nope"})),
        "bay_not_found",
        "nope",
        404,
    ),
    refused(
        "a bad event among good ones",
        document(event(1), event(2, action="MOVE"), event(3)),
        "epcis_schema_invalid",
        "eventList[1]",
    ),
]

WRONG_TYPES = [
    refused(
        "event list as an object",
        document(epcisBody={"eventList": {"0": event()}}),
        "epcis_schema_invalid",
        "eventList",
    ),
    refused(
        "tags as a string",
        document(event(epcList="30340000000000000000B001")),
        "epcis_schema_invalid",
        "epcList",
    ),
    refused(
        "event time as a number",
        document(event(eventTime=1767225600)),
        "epcis_schema_invalid",
        "eventTime",
    ),
    refused("action as a list", document(event(action=["ADD"])), "epcis_schema_invalid", "action"),
    refused(
        "quantity as a string",
        document(event(quantityList=[{"epcClass": "urn:pw:c", "quantity": "5"}])),
        "epcis_schema_invalid",
        "quantity",
    ),
    refused(
        "a tag as a number",
        document(event(epcList=[303400000000])),
        "epcis_schema_invalid",
        "epcList",
    ),
]

HUGE = [
    refused(
        "1001 events",
        document(*(event(i) for i in range(1001))),
        "epcis_schema_invalid",
        "eventList",
    ),
    refused(
        "10001 tags in one event",
        document(event(epcList=[f"{i:024X}" for i in range(10_001)])),
        "epcis_schema_invalid",
        "epcList",
    ),
    refused(
        "a document past the body limit",
        document(event(**{"pw:blob": "x" * (5 * 1024 * 1024)})),
        "payload_too_large",
        "limit",
        413,
    ),
    refused(
        "a 600-character location",
        document(event(bizLocation={"id": "urn:x:" + "y" * 600})),
        "epcis_schema_invalid",
        "bizLocation",
    ),
]

UNICODE = [
    refused(
        "NUL in an extension", document(event(**{"pw:note": "a\x00b"})), "epcis_invalid_text", "NUL"
    ),
    refused(
        "NUL in an ilmd key", document(event(ilmd={"lot\x00": "1"})), "epcis_invalid_text", "NUL"
    ),
    refused(
        "NUL in a business step",
        document(event(bizStep="urn:x:st\x00ring")),
        "epcis_invalid_text",
        "bizStep",
    ),
    refused(
        "NUL in the document header", document(sender="acme\x00"), "epcis_invalid_text", "$.sender"
    ),
    refused(
        "a lone surrogate in an extension",
        VALID_TEXT.replace('"storing"', '"storing", "pw:s": "\\ud83d"').encode(),
        "epcis_invalid_text",
        "surrogate",
    ),
    refused(
        "an RTL override in a bare business step",
        document(event(bizStep="\u202egnirots")),
        "epcis_schema_invalid",
        "bizStep",
    ),
    refused(
        "emoji as a disposition word",
        document(event(disposition="\U0001f4e6")),
        "epcis_schema_invalid",
        "disposition",
    ),
]

TIMES = [
    refused(
        "year 1 east of UTC",
        timed("0001-01-01T00:00:00+05:00", "+05:00"),
        "invalid_event_time",
        "outside the years",
    ),
    refused(
        "year 9999 west of UTC",
        timed("9999-12-31T23:59:59-05:00", "-05:00"),
        "invalid_event_time",
        "outside the years",
    ),
    refused("year 9999 in UTC", timed("9999-12-31T23:59:59Z"), "event_time_in_future", "future"),
    refused(
        "year 9999 shown at +14:00",
        timed("9999-12-31T23:59:59Z", "+14:00"),
        "invalid_event_time",
        "past year 9999",
    ),
    refused("next century", timed("2199-01-01T00:00:00Z"), "event_time_in_future", "eventList[0]"),
    refused("year 0", timed("0000-01-01T00:00:00Z"), "invalid_event_time", "0000"),
    refused("30 February", timed("2026-02-30T10:00:00Z"), "invalid_event_time", "2026-02-30"),
    refused("no offset", timed("2026-03-01T10:00:00"), "epcis_schema_invalid", "eventTime"),
    refused("negative epoch", document(event(eventTime=-1)), "epcis_schema_invalid", "eventTime"),
]

DEVICE = [
    Case(
        "NUL from a device",
        CAPTURE,
        document(event(**{"pw:n": "\x00"})),
        422,
        "epcis_invalid_text",
        "NUL",
        who="device",
        content_type=LD,
    ),
    Case(
        "the far future from a device",
        CAPTURE,
        timed("2199-01-01T00:00:00Z"),
        422,
        "event_time_in_future",
        who="device",
        content_type=LD,
    ),
]

QUERIES = [
    Case(
        "query from year 1 east of UTC",
        "/epcis/events?GE_eventTime=0001-01-01T00:00:00%2B05:00",
        None,
        422,
        "invalid_event_time",
        "outside",
        method="GET",
    ),
    Case(
        "query until a time in words",
        "/epcis/events?LT_eventTime=tomorrow",
        None,
        422,
        "invalid_event_time",
        "tomorrow",
        method="GET",
    ),
    Case(
        "query for a tag with NUL",
        "/epcis/events?MATCH_epc=urn%00",
        None,
        400,
        "nul_character",
        "query",
        method="GET",
    ),
    Case(
        "query with a limit of zero",
        "/epcis/events?limit=0",
        None,
        422,
        "validation_error",
        "limit",
        method="GET",
    ),
    Case(
        "query with a limit in words",
        "/epcis/events?limit=all",
        None,
        422,
        "validation_error",
        "limit",
        method="GET",
    ),
]

CASES = [*MALFORMED, *WRONG_TYPES, *HUGE, *UNICODE, *TIMES, *QUERIES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_document_is_refused_whole_with_its_reason(corpus: Corpus, case: Case) -> None:
    check_case(corpus, case)


@pytest.mark.parametrize("case", DEVICE, ids=[c.name for c in DEVICE])
def test_a_device_sending_a_bad_document_is_refused_the_same_way(
    corpus: Corpus, case: Case
) -> None:
    body = json.dumps(case.body).replace("{bay}", corpus.watched.bay_id)
    before = corpus.snapshot()
    resp = corpus.service.client.post(
        CAPTURE, headers={**corpus.watched.device, "Content-Type": LD}, content=body.encode()
    )
    assert resp.status_code == case.status, resp.text
    assert resp.json()["code"] == case.code
    assert case.mention in resp.json()["detail"]
    assert corpus.snapshot() == before


def test_odd_but_valid_identifiers_and_old_times_are_stored_exactly(corpus: Corpus) -> None:
    client, wh = corpus.service.client, corpus.world.who.wh
    bay = corpus.world.site.bay["id"]
    odd = event(
        7,
        eventTime="1969-12-31T23:59:59Z",
        eventTimeZoneOffset="+00:00",
        eventID="urn:uuid:\U0001f4e6-\u202e-e\u0301",
        bizLocation={"id": f"urn:pledgewatch:bay:{bay}"},
        **{"pw:note": "\u0645\u0633\u062a\u0648\u062f\u0639 \U0001f3ed " + "e\u0301" * 50},
    )
    out = expect(client.post(CAPTURE, headers={**wh, "Content-Type": LD}, json=document(odd)), 201)
    assert out["captured"] == 1
    found = expect(
        client.get("/epcis/events", headers=wh, params={"MATCH_epc": odd["epcList"][0]}), 200
    )
    (stored,) = found["items"]
    assert stored["eventID"] == odd["eventID"] and stored["pw:note"] == odd["pw:note"]
    assert stored["eventTime"] == "1969-12-31T23:59:59+00:00"


def test_a_good_document_is_still_captured_after_the_corpus(corpus: Corpus) -> None:
    client, wh = corpus.service.client, corpus.world.who.wh
    bay = corpus.world.site.bay["id"]
    good = event(9, bizLocation={"id": f"urn:pledgewatch:bay:{bay}"})
    out = expect(client.post(CAPTURE, headers={**wh, "Content-Type": LD}, json=document(good)), 201)
    assert out["captured"] == 1 and out["duplicates"] == []
