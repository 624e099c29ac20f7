"""A bank asks for a live check of a bay; the real vision runner answers; the page shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from services.cameras.runner import Cadence, VisionRunner
from tests.api.story_steps import expect as answered
from tests.api.story_steps import key, parties, price, product, receive
from tests.browser.harness import ApiDriver, LiveServer, screenshot
from tests.cameras.camera_world import marker_scene, register_camera, watched_site, write_video


@pytest.fixture
def api(server: LiveServer) -> Iterator[ApiDriver]:
    """The live server's API, for set-up steps."""
    driver = ApiDriver(server)
    yield driver
    driver.close()


def _camera_loan(api: ApiDriver, video: Path) -> str:
    """A paid-out Bank 1 loan on coils in a bay a camera films (a looping video file)."""
    who = parties(api)
    camera_id = "cam-live"
    site = watched_site(api.client, who, camera_id)
    register_camera(api.client, who, site, camera_id, url=video.as_uri())
    stock = receive(api.client, who.wh, site, 40)
    offer = product(api.client, who.bank1)
    price(api.client, who.bank1)
    body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": "200000"}
    loan = answered(api.client.post("/loans", headers=who.sme, json=body), 201)
    answered(api.client.post(f"/loans/{loan['id']}/approve", headers=who.bank1), 202)
    answered(api.client.post(f"/loans/{loan['id']}/disburse", headers={**who.bank1, **key()}), 202)
    return str(site.bay["id"])


def test_a_live_check_comes_back_with_the_bank_s_nonce_drawn_in(
    open_as: Any, server: LiveServer, api: ApiDriver, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "bay.mp4", [marker_scene(3) for _ in range(20)], fps=10)
    bay_id = _camera_loan(api, video)
    runner = VisionRunner(
        server.container,
        cadence=Cadence(live_checks=0.3, frames=1.0),
        config_overrides={"loop": True, "analysis_fps": 2.0},
        baselines=False,
    ).start()
    try:
        bank = open_as("bank1.officer")
        bank.goto("/ui/bank/live-checks")
        row = bank.locator(f"#bay-{bay_id}")
        row.get_by_role("button", name="Request live check").click()
        state = bank.locator(f"#check-{bay_id} .livecheck-state")
        expect(state).to_have_attribute("data-status", re.compile("pending|done"))
        expect(state).to_have_attribute("data-status", "done", timeout=15_000)
        snapshot = state.locator("img")
        expect(snapshot).to_be_visible()
        bank.wait_for_function(
            f"document.querySelector('#check-{bay_id} img').naturalWidth > 0", timeout=5_000
        )
        screenshot(bank, "bank-live-check")
        # The warehouse's camera tiles show the same camera's annotated frames.
        warehouse = open_as("warehouse.operator")
        warehouse.goto("/ui/warehouse/cameras")
        screenshot(warehouse, "warehouse-cameras-live")
    finally:
        runner.stop()
