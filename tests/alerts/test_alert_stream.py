"""The live SSE stream, over a real HTTP server: each org hears its own alerts and can replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.alerts.alert_helpers import movement
from tests.api.conftest import Service
from tests.api.story_steps import parties


def next_event(lines: Iterator[str]) -> tuple[str, dict[str, Any]]:
    """The next SSE message's id and data; comments (keep-alives) are skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            continue
        if not line:
            if fields:
                return fields["id"], json.loads(fields["data"])
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    raise AssertionError("the stream ended before an event arrived")


def wait_connected(lines: Iterator[str]) -> None:
    """Skip replayed messages up to the marker that says live events follow."""
    for line in lines:
        if line == ": connected":
            return
    raise AssertionError("the stream ended before it was live")


def test_a_new_alert_reaches_the_stream_of_its_org_and_not_another(
    sqlite_service: Service, live_url: str
) -> None:
    who = parties(sqlite_service)
    with (
        httpx.Client(base_url=live_url, timeout=10) as http,
        http.stream("GET", "/alerts/stream", headers=who.bank1) as bank,
        http.stream("GET", "/alerts/stream", headers=who.wh) as warehouse,
    ):
        assert bank.headers["content-type"].startswith("text/event-stream")
        bank_lines, warehouse_lines = bank.iter_lines(), warehouse.iter_lines()
        wait_connected(bank_lines)
        wait_connected(warehouse_lines)

        to_bank = movement(sqlite_service, "bank1", lot_id="lot-bank")[0]
        to_warehouse = movement(sqlite_service, "northport", lot_id="lot-wh")[0]

        _, heard = next_event(bank_lines)
        assert heard["type"] == "alert.raised"
        assert heard["alert"]["id"] == to_bank.id
        # The warehouse's first event is its own alert, raised after the bank's: the bank's
        # alert never reached it.
        _, other = next_event(warehouse_lines)
        assert other["alert"]["id"] == to_warehouse.id


def test_a_reconnecting_subscriber_replays_what_it_missed_after_last_event_id(
    sqlite_service: Service, live_url: str
) -> None:
    who = parties(sqlite_service)
    first = movement(sqlite_service, "bank1", lot_id="lot-1")[0]
    second = movement(sqlite_service, "bank1", lot_id="lot-2")[0]
    movement(sqlite_service, "northport", lot_id="lot-3")
    with httpx.Client(base_url=live_url, timeout=10) as http:
        with http.stream(
            "GET", "/alerts/stream", headers={**who.bank1, "Last-Event-ID": "0"}
        ) as replay:
            lines = replay.iter_lines()
            seen_first, one = next_event(lines)
            _, two = next_event(lines)
        assert [one["alert"]["id"], two["alert"]["id"]] == [first.id, second.id]

        with http.stream(
            "GET", "/alerts/stream", headers=who.bank1, params={"since": seen_first}
        ) as resumed:
            lines = resumed.iter_lines()
            _, only = next_event(lines)
            assert only["alert"]["id"] == second.id
            wait_connected(lines)


def test_the_stream_needs_a_signed_in_person(live_url: str) -> None:
    resp = httpx.get(f"{live_url}/alerts/stream", timeout=10)
    assert resp.status_code == 401
