"""The canonical event hash: one value per fact, whatever the spelling of the document."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pledge.epcis import event_hash, parse_event

EPC = st.text("0123456789ABCDEF", min_size=24, max_size=24)
OFFSETS = st.sampled_from(["+00:00", "+02:00", "-05:00", "+05:30", "+14:00"])
MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON-LD ObjectEvent with tags, a quantity, locations and an extension."""
    return {
        "type": "ObjectEvent",
        "eventTime": draw(MOMENTS).isoformat(),
        "eventTimeZoneOffset": draw(OFFSETS),
        "action": draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])),
        "bizStep": draw(st.sampled_from(["receiving", "storing", "stock_taking", "shipping"])),
        "disposition": draw(st.sampled_from(["in_progress", "active", "mismatch_quantity"])),
        "epcList": draw(st.lists(EPC, min_size=1, max_size=6, unique=True)),
        "quantityList": [
            {"epcClass": "urn:pledgewatch:commodity:COIL", "quantity": draw(st.integers(1, 999))}
        ],
        "bizLocation": {"id": f"urn:pledgewatch:bay:{draw(st.integers(1, 50))}"},
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        "pw:lotId": draw(st.text("abcdef0123456789", min_size=4, max_size=8)),
    }


def respelled(doc: dict[str, Any], offset: timezone, seed: int) -> dict[str, Any]:
    """The same event with shuffled keys, another time-zone spelling and shuffled EPCs."""
    rng = random.Random(seed)
    moment = datetime.fromisoformat(doc["eventTime"]).astimezone(offset)
    changed = {
        **doc,
        "eventTime": moment.isoformat(),
        "epcList": rng.sample(doc["epcList"], len(doc["epcList"])),
        "bizStep": f"urn:epcglobal:cbv:bizstep:{doc['bizStep']}",
    }
    keys = list(changed)
    rng.shuffle(keys)
    return {key: changed[key] for key in keys}


@settings(max_examples=200)
@given(events(), st.integers(-12 * 60, 14 * 60), st.integers(0, 10**6))
def test_the_hash_ignores_field_order_time_zone_spelling_and_epc_order(
    doc: dict[str, Any], offset_minutes: int, seed: int
) -> None:
    offset = timezone(timedelta(minutes=offset_minutes))
    assert event_hash(parse_event(doc)) == event_hash(parse_event(respelled(doc, offset, seed)))


MEANINGFUL_CHANGES = {
    "eventTime": lambda d: (
        datetime.fromisoformat(d["eventTime"]) + timedelta(seconds=1)
    ).isoformat(),
    "action": lambda d: "OBSERVE" if d["action"] != "OBSERVE" else "ADD",
    "bizStep": lambda d: "inspecting",
    "disposition": lambda d: "damaged",
    "epcList": lambda d: (
        [*d["epcList"], "F" * 24] if "F" * 24 not in d["epcList"] else d["epcList"][1:]
    ),
    "quantityList": lambda d: [{**d["quantityList"][0], "quantity": 1000}],
    "bizLocation": lambda d: {"id": "urn:pledgewatch:bay:elsewhere"},
    "readPoint": lambda d: {"id": "urn:epc:id:sgln:0614141.00777.1"},
    "pw:lotId": lambda d: d["pw:lotId"] + "x",
}


@settings(max_examples=200)
@given(events(), st.sampled_from(sorted(MEANINGFUL_CHANGES)))
def test_the_hash_changes_when_a_meaningful_field_changes(doc: dict[str, Any], name: str) -> None:
    changed = {**doc, name: MEANINGFUL_CHANGES[name](doc)}
    if name == "epcList" and not changed["epcList"]:
        changed["epcList"] = ["E" * 24]
    assert event_hash(parse_event(changed)) != event_hash(parse_event(doc))


def test_event_id_and_record_time_do_not_change_the_hash() -> None:
    doc = {
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T10:00:00+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "epcList": ["0" * 24],
    }
    resent = {**doc, "eventID": "urn:uuid:1", "recordTime": "2026-03-02T00:00:00Z"}
    assert event_hash(parse_event(doc)) == event_hash(parse_event(resent))


def test_hex_epcs_hash_the_same_in_either_case_and_quantities_in_any_decimal_spelling() -> None:
    base = {
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": ["ABCDEF0123456789ABCDEF01"],
        "quantityList": [{"epcClass": "urn:pledgewatch:commodity:CU", "quantity": 2}],
    }
    other = {
        **base,
        "epcList": ["abcdef0123456789abcdef01"],
        "quantityList": [{"epcClass": "urn:pledgewatch:commodity:CU", "quantity": 2.0}],
    }
    assert event_hash(parse_event(base)) == event_hash(parse_event(other))
    assert parse_event(other).quantity_list[0].quantity == Decimal("2.0")


def test_the_hash_is_a_named_sha256() -> None:
    doc = {
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
    }
    digest = event_hash(parse_event(doc))
    assert digest.startswith("ni:///sha-256;")
    assert len(digest.removeprefix("ni:///sha-256;")) == 64
