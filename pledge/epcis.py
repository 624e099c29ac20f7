"""GS1 EPCIS 2.0 ObjectEvents: the model, JSON-LD in and out, and the canonical event hash.

Canonical event hash (the dedup key, and the value anchored on the ledger):

1. Only what the event asserts counts: eventType, eventTime, action, bizStep, disposition,
   epcList, quantityList, readPoint, bizLocation, ilmd and extension fields. eventID,
   recordTime, eventTimeZoneOffset and @context are left out: they describe the message, not
   the fact, and a re-sent event must hash the same.
2. eventTime is converted to UTC and written as YYYY-MM-DDTHH:MM:SS.ffffffZ, so
   `10:00+02:00` and `08:00Z` are the same instant and the same hash.
3. bizStep and disposition given as bare CBV words are expanded to their CBV URNs
   (`receiving` -> `urn:epcglobal:cbv:bizstep:receiving`); other URIs are kept as written.
4. epcList is sorted (24-hex EPCs upper-cased first); quantityList elements are written as
   `epcClass|quantity|uom` with the quantity as a normalised decimal, then sorted.
5. ilmd and extensions keep their JSON values; absent and empty are the same.
6. The fields form a JSON object with sorted keys, no whitespace, UTF-8; its SHA-256 is written
   as an RFC 6920 name: `ni:///sha-256;<64 hex digits>`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pledge.errors import Invalid
from pledge.storable import time_problem

BIZSTEP_PREFIX = "urn:epcglobal:cbv:bizstep:"
DISPOSITION_PREFIX = "urn:epcglobal:cbv:disp:"
BAY_PREFIX = "urn:pledgewatch:bay:"
COMMODITY_PREFIX = "urn:pledgewatch:commodity:"
# JSON-LD context: the standard's context plus our prefix for extension fields.
EPCIS_CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    {"pw": "urn:pledgewatch:epcis:"},
]
# The event fields the model reads; any other key is an extension and must be namespaced.
STANDARD_FIELDS = frozenset(
    {
        "type",
        "@context",
        "eventID",
        "eventTime",
        "recordTime",
        "eventTimeZoneOffset",
        "action",
        "bizStep",
        "disposition",
        "epcList",
        "quantityList",
        "readPoint",
        "bizLocation",
        "ilmd",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "persistentDisposition",
        "certificationInfo",
        "errorDeclaration",
    }
)
_HEX_EPC = re.compile(r"^[0-9A-Fa-f]{24}$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class Action(StrEnum):
    """What an ObjectEvent says about its objects."""

    ADD = "ADD"
    OBSERVE = "OBSERVE"
    DELETE = "DELETE"


class BizStep(StrEnum):
    """CBV business steps pledgewatch emits itself."""

    RECEIVING = "receiving"
    STORING = "storing"
    STOCK_TAKING = "stock_taking"
    SHIPPING = "shipping"


class Disposition(StrEnum):
    """CBV dispositions pledgewatch emits itself."""

    IN_PROGRESS = "in_progress"
    ACTIVE = "active"
    MISMATCH_QUANTITY = "mismatch_quantity"


@dataclass(frozen=True)
class QuantityElement:
    """A quantity of a class of objects (a commodity) rather than individual tags."""

    epc_class: str
    quantity: Decimal
    uom: str | None = None


@dataclass(frozen=True)
class ObjectEvent:
    """An EPCIS 2.0 ObjectEvent, as much of it as pledgewatch reads."""

    event_time: datetime
    event_time_zone_offset: str
    action: Action
    biz_step: str | None = None
    disposition: str | None = None
    epc_list: tuple[str, ...] = ()
    quantity_list: tuple[QuantityElement, ...] = ()
    read_point: str | None = None
    biz_location: str | None = None
    ilmd: Mapping[str, Any] | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass
class EpcisRecord:
    """A captured event as stored: its hash, who captured it, the columns queries filter on."""

    id: str
    event_hash: str
    org_id: str
    warehouse_id: str | None
    event_type: str
    action: str
    biz_step: str | None
    disposition: str | None
    event_time: datetime
    record_time: datetime
    read_point: str | None
    biz_location: str | None
    epcs: list[str]
    document: dict[str, Any]


def biz_step_urn(value: str | None) -> str | None:
    """A bizStep as its full URN: bare CBV words get the CBV prefix, other URIs stay."""
    return _vocabulary_urn(value, BIZSTEP_PREFIX)


def disposition_urn(value: str | None) -> str | None:
    """A disposition as its full URN: bare CBV words get the CBV prefix, other URIs stay."""
    return _vocabulary_urn(value, DISPOSITION_PREFIX)


def _vocabulary_urn(value: str | None, prefix: str) -> str | None:
    if value is None or value == "":
        return None
    # A bare word has no scheme; anything with a colon is already a URI.
    return value if ":" in value else prefix + value


def bay_location(bay_id: str) -> str:
    """The bizLocation id pledgewatch uses for one of its bays."""
    return BAY_PREFIX + bay_id


def bay_of_location(location: str | None) -> str | None:
    """The bay id inside a pledgewatch bay location, or None for any other location."""
    if location and location.startswith(BAY_PREFIX) and len(location) > len(BAY_PREFIX):
        return location[len(BAY_PREFIX) :]
    return None


def commodity_class(commodity_code: str) -> str:
    """The epcClass pledgewatch uses for untagged quantities of a commodity."""
    return COMMODITY_PREFIX + commodity_code


def parse_time(text: str) -> datetime:
    """An EPCIS timestamp with an explicit offset (or Z) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("invalid_event_time", f"not an ISO 8601 timestamp: {text!r}") from exc
    if moment.tzinfo is None:
        raise Invalid("invalid_event_time", f"timestamp needs an offset or Z: {text!r}")
    problem = time_problem(moment)
    if problem:
        raise Invalid("invalid_event_time", problem)
    return moment


def parse_offset(text: str) -> timezone:
    """An eventTimeZoneOffset such as +02:00 as a timezone."""
    match = _OFFSET.match(text)
    if not match:
        raise Invalid("invalid_time_zone_offset", f"offset must look like +02:00, not {text!r}")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def format_offset(moment: datetime) -> str:
    """The eventTimeZoneOffset of an aware datetime."""
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc_text(moment: datetime) -> str:
    """A UTC timestamp with microseconds and Z, the one spelling the hash uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_event(doc: Mapping[str, Any]) -> ObjectEvent:
    """Read a schema-valid JSON-LD ObjectEvent into the model."""
    if doc.get("type") != "ObjectEvent":
        raise Invalid("unsupported_event_type", f"only ObjectEvent is supported: {doc.get('type')}")
    zone = parse_offset(str(doc["eventTimeZoneOffset"]))
    event_time = parse_time(str(doc["eventTime"]))
    try:
        # The event is shown in its own offset: that time must exist too (not past 9999).
        event_time.astimezone(zone)
    except OverflowError as exc:
        detail = f"{doc['eventTime']} at offset {doc['eventTimeZoneOffset']} is past year 9999"
        raise Invalid("invalid_event_time", detail) from exc
    quantities = tuple(
        QuantityElement(str(q["epcClass"]), Decimal(str(q["quantity"])), q.get("uom"))
        for q in doc.get("quantityList", ())
    )
    return ObjectEvent(
        event_time=event_time,
        event_time_zone_offset=str(doc["eventTimeZoneOffset"]),
        action=Action(doc["action"]),
        biz_step=doc.get("bizStep"),
        disposition=doc.get("disposition"),
        epc_list=tuple(doc.get("epcList", ())),
        quantity_list=quantities,
        read_point=(doc.get("readPoint") or {}).get("id"),
        biz_location=(doc.get("bizLocation") or {}).get("id"),
        ilmd=doc.get("ilmd"),
        extensions={k: v for k, v in doc.items() if k not in STANDARD_FIELDS},
        event_id=doc.get("eventID"),
    )


def to_json_ld(event: ObjectEvent) -> dict[str, Any]:
    """The event as a JSON-LD ObjectEvent, its time shown in its own offset."""
    zone = parse_offset(event.event_time_zone_offset)
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": event.event_time.astimezone(zone).isoformat(),
        "eventTimeZoneOffset": event.event_time_zone_offset,
        "action": event.action.value,
    }
    optional: dict[str, Any] = {
        "eventID": event.event_id,
        "bizStep": event.biz_step,
        "disposition": event.disposition,
        "epcList": list(event.epc_list) or None,
        "quantityList": [_quantity_json(q) for q in event.quantity_list] or None,
        "readPoint": {"id": event.read_point} if event.read_point else None,
        "bizLocation": {"id": event.biz_location} if event.biz_location else None,
        "ilmd": dict(event.ilmd) if event.ilmd else None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    out.update(event.extensions)
    return out


def _quantity_json(element: QuantityElement) -> dict[str, Any]:
    # JSON numbers: integral quantities as ints, others as floats is what EPCIS clients expect;
    # the exact decimal stays in the hash and the model.
    number: int | float = (
        int(element.quantity)
        if element.quantity == element.quantity.to_integral()
        else float(element.quantity)
    )
    out: dict[str, Any] = {"epcClass": element.epc_class, "quantity": number}
    if element.uom:
        out["uom"] = element.uom
    return out


def canonical_epc(epc: str) -> str:
    """An EPC in the one spelling stored and hashed: 24-hex EPCs upper-cased."""
    return epc.upper() if _HEX_EPC.match(epc) else epc


def _canonical_quantity(element: QuantityElement) -> str:
    amount = element.quantity.normalize()
    # normalize() writes 100 as 1E+2; fixed-point keeps one spelling per value.
    text = format(amount, "f")
    return f"{element.epc_class}|{text}|{element.uom or ''}"


def canonical_form(event: ObjectEvent) -> str:
    """The one text every equivalent spelling of the event reduces to (see the module rules)."""
    fields: dict[str, Any] = {
        "eventType": "ObjectEvent",
        "eventTime": utc_text(event.event_time),
        "action": event.action.value,
        "bizStep": biz_step_urn(event.biz_step),
        "disposition": disposition_urn(event.disposition),
        "epcList": sorted(canonical_epc(e) for e in event.epc_list),
        "quantityList": sorted(_canonical_quantity(q) for q in event.quantity_list),
        "readPoint": event.read_point,
        "bizLocation": event.biz_location,
        "ilmd": dict(event.ilmd) if event.ilmd else None,
        "extensions": dict(event.extensions),
    }
    present = {k: v for k, v in fields.items() if v not in (None, [], {})}
    return json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: ObjectEvent) -> str:
    """The canonical event hash: SHA-256 of the canonical form, as an RFC 6920 name."""
    digest = hashlib.sha256(canonical_form(event).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}"
