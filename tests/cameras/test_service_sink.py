"""The HTTP sink spools reports while the API is down and delivers them, in order, once it is up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from services.api.app import create_app
from tests.api.story_steps import parties
from tests.cameras.camera_world import alerts_of, removal, watched_deal
from vision.signing import WorkerKey
from vision.sink import EvidenceMaker, ServiceSink


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Api:
    """The service's API served by uvicorn on a port, started on demand."""

    def __init__(self, container: Any, port: int) -> None:
        config = uvicorn.Config(
            create_app(container), host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def api_later(sqlite_service: Any) -> Iterator[tuple[_Api, int]]:
    """An API that is not listening yet, and its port."""
    port = _free_port()
    api = _Api(sqlite_service.container, port)
    yield api, port
    if api.thread.is_alive():
        api.stop()


def sink_for(world: Any, port: int, spool: Path, **options: float) -> ServiceSink:
    """A sink posting as the world's camera device to the API on port, spooling to spool."""
    return ServiceSink(
        f"http://127.0.0.1:{port}",
        world.device["X-API-Key"],
        EvidenceMaker(WorkerKey.generate()),
        spool,
        **options,
    )


def test_reports_made_while_the_api_is_down_are_delivered_when_it_comes_back(
    sqlite_service: Any, api_later: tuple[_Api, int], tmp_path: Path
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    api, port = api_later
    sink = sink_for(world, port, tmp_path / "spool", timeout=2.0, retry_every=0.2)
    try:
        change, frame, ring = removal(world)
        for shot in ring.until(frame)[:-1]:
            sink.maker.observe(shot)

        sink.bay_changed(change, frame)

        assert sink.pending() == 1
        assert alerts_of(service, who.bank1, "unauthorised_movement") == []

        api.start()
        deadline = time.monotonic() + 15
        while sink.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sink.close()

    assert sink.pending() == 0 and sink.sent == 1
    [alert] = alerts_of(service, who.bank1, "unauthorised_movement")
    assert {e["kind"] for e in alert["evidence"]} == {"snapshot", "clip"}


def test_a_report_refused_for_good_is_set_aside_and_does_not_block_the_next(
    sqlite_service: Any, api_later: tuple[_Api, int], tmp_path: Path
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    api, port = api_later
    api.start()
    sink = sink_for(world, port, tmp_path / "spool", retry_every=60)
    try:
        change, frame, _ = removal(world)
        unknown_bay = type(change)(**{**change.__dict__, "bay_id": "0" * 32})
        sink.bay_changed(unknown_bay, frame)
        sink.bay_changed(change, frame)
    finally:
        sink.close()

    assert sink.pending() == 0 and sink.sent == 1
    assert len(list((tmp_path / "spool" / "rejected").glob("*.json"))) == 1
    assert len(alerts_of(service, who.bank1, "unauthorised_movement")) == 1


def test_a_report_sent_again_after_its_answer_was_lost_counts_as_sent_not_refused(
    sqlite_service: Any, api_later: tuple[_Api, int], tmp_path: Path
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    api, port = api_later
    spool = tmp_path / "spool"
    sink = sink_for(world, port, spool, timeout=2.0, retry_every=60)
    try:
        change, frame, _ = removal(world)
        sink.bay_changed(change, frame)
        [spooled] = list(spool.glob("*.json"))
        kept = spooled.read_bytes()
        api.start()
        assert sink.flush() == 1
        # The API stored it, but the worker never saw the answer: the spool still holds it.
        spooled.write_bytes(kept)

        assert sink.flush() == 1
    finally:
        sink.close()

    assert sink.pending() == 0 and sink.sent == 2
    assert not (spool / "rejected").exists()
    assert len(alerts_of(service, who.bank1, "unauthorised_movement")) == 1
