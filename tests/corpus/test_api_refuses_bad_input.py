"""The HTTP API refuses every case of the corpus with a 4xx problem+json and stores nothing.

Malformed and truncated JSON, wrong types, oversized values and bodies, hostile Unicode and
impossible timestamps, sent to the routes that write. Valid but unusual Unicode (right-to-left
override, combining marks, emoji) is taken and given back exactly as sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.story_steps import COIL, expect
from tests.corpus.conftest import Corpus
from tests.corpus.corpus_checks import Case, check_case, ids_of

LOT = {
    "bay_id": "{bay}",
    "commodity_code": COIL,
    "quantity": "2",
    "epcs": ["30340000000000000000AAA1", "30340000000000000000AAA2"],
    "depositor_org_id": "acme",
}
LOT_TEXT = json.dumps(LOT)
LOAN = {"product_id": "{product}", "receipt_ids": ["{receipt}"], "amount": "1000.00"}
PRICE = {"commodity_code": COIL, "currency": "USD", "price": "11000"}


def cut(fraction: float) -> Case:
    """The valid lot body cut short at a fraction of its length."""
    end = int(len(LOT_TEXT) * fraction)
    return Case(
        f"lot cut at {fraction:.0%}",
        "/lots",
        LOT_TEXT[:end].encode(),
        422,
        "validation_error",
        "json",
    )


def lot(**changes: Any) -> dict[str, Any]:
    """The valid lot body with some fields changed."""
    return {**LOT, **changes}


def price(**changes: Any) -> dict[str, Any]:
    """A valid price body (bank1) with some fields changed."""
    return {**PRICE, **changes}


MALFORMED = [
    *(cut(f) for f in (0.01, 0.25, 0.5, 0.75, 0.99)),
    Case("trailing garbage", "/lots", (LOT_TEXT + "}}").encode(), 422, "validation_error", "json"),
    Case("single quotes", "/warehouses", b"{'code': 'WH-Q', 'name': 'Q'}", 422, "validation_error"),
    Case("comment inside", "/warehouses", b'{"code": "WH-C" /* c */}', 422, "validation_error"),
    Case(
        "bare NaN",
        "/loans",
        b'{"product_id": "{product}", "receipt_ids": ["{receipt}"], "amount": NaN}',
        422,
        "validation_error",
        "amount",
        who="sme",
    ),
    Case("null body", "/warehouses", b"null", 422, "validation_error"),
    Case("array body", "/warehouses", b'[{"code": "WH-A", "name": "A"}]', 422, "validation_error"),
    Case("number body", "/warehouses", b"42", 422, "validation_error"),
    Case("empty body", "/lots", b"", 422, "validation_error"),
    Case(
        "JSON sent as text/plain",
        "/warehouses",
        b'{"code": "WH-P", "name": "P"}',
        422,
        "validation_error",
        content_type="text/plain",
    ),
    Case(
        "invalid UTF-8",
        "/warehouses",
        b'{"code": "WH-U", "name": "caf\xe9"}',
        400,
        "malformed_body",
        "utf-8",
    ),
    Case(
        "nested 100000 deep",
        "/warehouses",
        b"[" * 100_000 + b"]" * 100_000,
        400,
        "malformed_body",
        "nested",
    ),
]

WRONG_TYPES = [
    Case(
        "name as a number",
        "/warehouses",
        {"code": "WH-N1", "name": 123},
        422,
        "validation_error",
        "body.name",
    ),
    Case(
        "code as null",
        "/warehouses",
        {"code": None, "name": "x"},
        422,
        "validation_error",
        "body.code",
    ),
    Case("quantity as true", "/lots", lot(quantity=True), 422, "validation_error", "body.quantity"),
    Case(
        "quantity as a float", "/lots", lot(quantity=2.0), 422, "validation_error", "body.quantity"
    ),
    Case(
        "quantity as an object",
        "/lots",
        lot(quantity={"value": "2"}),
        422,
        "validation_error",
        "body.quantity",
    ),
    Case(
        "epcs as a string",
        "/lots",
        lot(epcs="30340000000000000000AAA1"),
        422,
        "validation_error",
        "body.epcs",
    ),
    Case("epcs of numbers", "/lots", lot(epcs=[1, 2]), 422, "validation_error", "body.epcs"),
    Case(
        "receipt ids as an object",
        "/loans",
        {**LOAN, "receipt_ids": {"a": 1}},
        422,
        "validation_error",
        "receipt_ids",
        who="sme",
    ),
    Case(
        "amount as a list",
        "/loans",
        {**LOAN, "amount": ["1000"]},
        422,
        "validation_error",
        "amount",
        who="sme",
    ),
    Case(
        "as_of as true", "/prices", price(as_of=True), 422, "validation_error", "as_of", who="bank1"
    ),
    Case(
        "as_of in words",
        "/prices",
        price(as_of="yesterday"),
        422,
        "validation_error",
        "as_of",
        who="bank1",
    ),
    Case(
        "polygon of words",
        "/warehouses/{warehouse}/bays",
        {"code": "B9", "polygons": {"cam": [["x", "y"]]}},
        422,
        "validation_error",
        "polygons",
    ),
    Case(
        "polygons as a string",
        "/warehouses/{warehouse}/bays",
        {"code": "B9", "polygons": "A"},
        422,
        "validation_error",
        "polygons",
    ),
    Case(
        "repayment amount as a number",
        "/loans/{loan}/repayments",
        {"amount": 100},
        422,
        "validation_error",
        "amount",
        who="sme",
        headers={"Idempotency-Key": "corpus-number"},
    ),
]

HUGE = [
    Case(
        "name of 100000 characters",
        "/warehouses",
        {"code": "WH-L", "name": "x" * 100_000},
        422,
        "validation_error",
        "at most 200",
    ),
    Case(
        "10001 tags",
        "/lots",
        lot(epcs=[f"{i:024X}" for i in range(10_001)]),
        422,
        "validation_error",
        "at most 10000",
    ),
    Case(
        "a 40-digit quantity", "/lots", lot(quantity="9" * 40), 422, "validation_error", "quantity"
    ),
    Case(
        "51 receipts",
        "/loans",
        {**LOAN, "receipt_ids": ["r"] * 51},
        422,
        "validation_error",
        "at most 50",
        who="sme",
    ),
    Case(
        "an integer of 5000 digits",
        "/warehouses",
        b'{"code": 1' + b"0" * 5000 + b', "name": "x"}',
        400,
        "malformed_body",
        "digits",
    ),
    Case(
        "1e400",
        "/lots",
        LOT_TEXT.replace('"2"', "1e400").encode(),
        422,
        "validation_error",
        "quantity",
    ),
    Case(
        "a body past the size limit",
        "/warehouses",
        b'{"code": "WH-B", "name": "' + b"x" * (5 * 1024 * 1024) + b'"}',
        413,
        "payload_too_large",
        "limit",
    ),
    Case(
        "a CSV import past its own limit",
        "/prices/import",
        b"commodity,currency,price,as_of\n" + b"X,USD,1,2026-01-01T00:00:00Z\n" * 40_000,
        422,
        "payload_too_large",
        who="bank1",
        content_type="text/csv",
    ),
]

UNICODE = [
    Case(
        "NUL in a name",
        "/warehouses",
        {"code": "WH-Z", "name": "a\x00b"},
        422,
        "validation_error",
        "NUL",
    ),
    Case(
        "NUL in an address",
        "/warehouses",
        {"code": "WH-Z", "name": "a", "address": "\x00"},
        422,
        "validation_error",
        "NUL",
    ),
    Case("NUL in a bay id", "/lots", lot(bay_id="{bay}\x00"), 422, "validation_error", "NUL"),
    Case(
        "NUL in a polygon's camera",
        "/warehouses/{warehouse}/bays",
        {"code": "B8", "polygons": {"c\x00": [[0, 0], [1, 0], [1, 1]]}},
        422,
        "validation_error",
        "NUL",
    ),
    Case(
        "NUL in a rejection reason",
        "/loans/{loan}/reject",
        {"reasons": ["no\x00"]},
        422,
        "validation_error",
        "NUL",
        who="bank1",
    ),
    Case(
        "NUL in a CSV import",
        "/prices/import",
        b"commodity,currency,price,as_of\nSTEEL\x00,USD,1,2026-01-01T00:00:00Z\n",
        400,
        "nul_character",
        who="bank1",
        content_type="text/csv",
    ),
    Case(
        "NUL in a sign-in form",
        "/auth/token",
        b"username=acme.clerk%00&password=x",
        400,
        "nul_character",
        "form",
        content_type="application/x-www-form-urlencoded",
    ),
    Case("NUL in a path", "/warehouses/%00", None, 400, "nul_character", "path", method="GET"),
    Case(
        "NUL in a query",
        "/prices?commodity=%00",
        None,
        400,
        "nul_character",
        "query",
        method="GET",
        who="bank1",
    ),
    Case(
        "lone high surrogate",
        "/warehouses",
        b'{"code": "WH-S", "name": "a\\ud800"}',
        422,
        "validation_error",
        "unicode",
    ),
    Case(
        "lone low surrogate",
        "/warehouses",
        b'{"code": "WH-S", "name": "\\udfff"}',
        422,
        "validation_error",
        "unicode",
    ),
    Case(
        "encoded surrogate bytes",
        "/warehouses",
        b'{"code": "WH-S", "name": "a\xed\xa0\x80"}',
        422,
        "validation_error",
        "unicode",
    ),
    Case(
        "emoji in a warehouse code",
        "/warehouses",
        {"code": "WH-\U0001f3ed", "name": "x"},
        422,
        "invalid_code",
        "letters",
    ),
    Case(
        "zero-width space in a code",
        "/warehouses",
        {"code": "WH\u200b1", "name": "x"},
        422,
        "invalid_code",
    ),
    Case(
        "RTL override in a commodity code",
        "/commodities",
        {"code": "\u202eLIOC", "unit": "pcs"},
        422,
        "invalid_code",
    ),
    Case(
        "combining mark in a bay code",
        "/warehouses/{warehouse}/bays",
        {"code": "A\u0301"},
        422,
        "invalid_code",
    ),
    Case("emoji as a bay id", "/lots", lot(bay_id="\U0001f4e6"), 404, "bay_not_found"),
    Case(
        "fullwidth digits as a quantity",
        "/lots",
        lot(quantity="\uff12"),
        422,
        "validation_error",
        "quantity",
    ),
    Case(
        "Arabic-Indic digits as an amount",
        "/loans",
        {**LOAN, "amount": "\u0661\u0660\u0660"},
        422,
        "validation_error",
        "amount",
        who="sme",
    ),
    Case(
        "a 10000-character id in the path",
        "/lots/" + "x" * 10_000,
        None,
        404,
        "lot_not_found",
        method="GET",
    ),
]

TIMESTAMPS = [
    Case(
        "year 1 east of UTC",
        "/prices",
        price(as_of="0001-01-01T00:00:00+05:00"),
        422,
        "validation_error",
        "outside the years",
        who="bank1",
    ),
    Case(
        "year 9999 west of UTC",
        "/prices",
        price(as_of="9999-12-31T23:59:59-05:00"),
        422,
        "validation_error",
        "outside the years",
        who="bank1",
    ),
    Case(
        "year 9999 in UTC",
        "/prices",
        price(as_of="9999-12-31T23:59:59Z"),
        422,
        "invalid_timestamp",
        "future",
        who="bank1",
    ),
    Case(
        "an hour ahead",
        "/prices",
        price(as_of="2999-01-01T00:00:00Z"),
        422,
        "invalid_timestamp",
        "future",
        who="bank1",
    ),
    Case(
        "year 0",
        "/prices",
        price(as_of="0000-01-01T00:00:00Z"),
        422,
        "validation_error",
        "as_of",
        who="bank1",
    ),
    Case(
        "year 10000",
        "/prices",
        price(as_of="10000-01-01T00:00:00Z"),
        422,
        "validation_error",
        "as_of",
        who="bank1",
    ),
    Case(
        "30 February",
        "/prices",
        price(as_of="2026-02-30T00:00:00Z"),
        422,
        "validation_error",
        "as_of",
        who="bank1",
    ),
    Case(
        "no time zone",
        "/prices",
        price(as_of="2026-01-01T00:00:00"),
        422,
        "invalid_timestamp",
        "time zone",
        who="bank1",
    ),
    Case("epoch 1e20", "/prices", price(as_of=1e20), 422, "validation_error", "as_of", who="bank1"),
    Case(
        "year 1 east of UTC in a CSV",
        "/prices/import",
        b"commodity,currency,price,as_of\nSTEEL-COIL,USD,1,0001-01-01T00:00:00+05:00\n",
        422,
        "invalid_csv",
        "line 2",
        who="bank1",
        content_type="text/csv",
    ),
    Case(
        "year 9999 in a CSV",
        "/prices/import",
        b"commodity,currency,price,as_of\nSTEEL-COIL,USD,1,9999-12-31T23:59:59Z\n",
        422,
        "invalid_csv",
        "future",
        who="bank1",
        content_type="text/csv",
    ),
]

CASES = [*MALFORMED, *WRONG_TYPES, *HUGE, *UNICODE, *TIMESTAMPS]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_request_gets_a_clear_problem_and_changes_nothing(corpus: Corpus, case: Case) -> None:
    check_case(corpus, case)


ODD_BUT_VALID = [
    ("right-to-left override", "\u202eesuoherawdeR"),
    ("combining marks", "Cafe\u0301 " + "e\u0301" * 20),
    ("emoji", "\U0001f3ed Shed \U0001f4e6\U0001f69a"),
    ("flag and skin-tone sequences", "\U0001f1f3\U0001f1f1 \U0001f44d\U0001f3fd"),
    ("200 emoji", "\U0001f4e6" * 200),
    ("mixed scripts", "\u0645\u0633\u062a\u0648\u062f\u0639 \u4ed3\u5e93 Lager"),
]


@pytest.mark.parametrize(("label", "name"), ODD_BUT_VALID, ids=[c[0] for c in ODD_BUT_VALID])
def test_unusual_but_valid_unicode_in_a_name_is_kept_exactly(
    corpus: Corpus, label: str, name: str
) -> None:
    client, wh = corpus.service.client, corpus.world.who.wh
    code = f"WH-U{ODD_BUT_VALID.index((label, name))}"
    created = expect(client.post("/warehouses", headers=wh, json={"code": code, "name": name}), 201)
    assert created["name"] == name
    fetched = expect(client.get(f"/warehouses/{created['id']}", headers=wh), 200)
    assert fetched["name"] == name


def test_a_negative_epoch_is_read_as_a_moment_of_1969(corpus: Corpus) -> None:
    client, bank = corpus.service.client, corpus.world.who.bank1
    created = expect(client.post("/prices", headers=bank, json=price(as_of=-1)), 201)
    assert created["as_of"] == "1969-12-31T23:59:59Z"


def test_the_service_still_takes_good_input_after_the_corpus(corpus: Corpus) -> None:
    client, who = corpus.service.client, corpus.world.who
    assert expect(client.get("/healthz"), 200) == {"status": "ok"}
    body = {**LOT, "bay_id": ids_of(corpus)["{bay}"]}
    received = expect(client.post("/lots", headers=who.wh, json=body), 202)
    assert received["receipt"]["status"] == "issued"
    assert sorted(received["lot"]["epcs"]) == sorted(LOT["epcs"])
