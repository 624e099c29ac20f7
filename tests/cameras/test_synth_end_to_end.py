"""A rendered removal clip through a real camera worker into the service, with and without order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.cameras.runner import VisionRunner
from services.cameras.tables import EvidenceRow
from tests.api.story_steps import COIL, Site, expect, key, parties, price, product, receive
from tests.cameras.camera_world import alerts_of, register_camera
from vision.signing import WorkerKey
from vision.synth import SynthClip, render

# Seed 3 removes a marked unit from bay-2: visible to the marker reader without the ONNX model.
SEED = 3


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SynthClip:
    """The rendered removal scenario and its ground truth."""
    return render("removal", tmp_path_factory.mktemp("synth"), seed=SEED)


def _synth_site(service: Any, who: Any, clip: SynthClip) -> dict[str, Site]:
    """A warehouse whose bays are the clip's bays, outlined in the clip's camera."""
    client = service.client
    code = f"WH-SYN-{time.monotonic_ns() % 100000}"
    warehouse = expect(
        client.post("/warehouses", headers=who.wh, json={"code": code, "name": "Synth shed"}), 201
    )
    sites = {}
    for name, polygon in sorted(clip.bays.items()):
        bay = expect(
            client.post(
                f"/warehouses/{warehouse['id']}/bays",
                headers=who.wh,
                json={"code": name, "name": name, "polygons": {clip.camera_id: polygon}},
            ),
            201,
        )
        sites[name] = Site(warehouse, bay)
    known = {c["code"] for c in expect(client.get("/commodities", headers=who.wh), 200)}
    if COIL not in known:
        body = {"code": COIL, "name": "Steel coil", "unit": "pcs", "step": "1"}
        expect(client.post("/commodities", headers=who.wh, json=body), 201)
    register_camera(client, who, sites["bay-1"], clip.camera_id, clip.video.as_uri())
    return sites


def _pledge(service: Any, who: Any, site: Site) -> tuple[Any, dict[str, Any]]:
    client = service.client
    stock = receive(client, who.wh, site, 100)
    offer = product(client, who.bank1)
    price(client, who.bank1)
    body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": "300000.00"}
    loan = expect(client.post("/loans", headers=who.sme, json=body), 201)
    expect(client.post(f"/loans/{loan['id']}/approve", headers=who.bank1), 202)
    out = expect(client.post(f"/loans/{loan['id']}/disburse", headers={**who.bank1, **key()}), 202)
    return stock, out["loan"]


def _watch_to_the_end(service: Any) -> VisionRunner:
    runner = VisionRunner(
        service.container,
        key=WorkerKey.generate(),
        config_overrides={"realtime": False},
        baselines=False,
    ).start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(
            str(w.status).startswith("ended") for w in runner.workers
        ):
            time.sleep(0.2)
    finally:
        runner.stop()
    return runner


@pytest.fixture
def synth_world(sqlite_service: Any, clip: SynthClip) -> Iterator[tuple[Any, Any, Any, Any]]:
    """The service with the clip's warehouse, and the lot pledged in the bay the clip empties."""
    who = parties(sqlite_service)
    sites = _synth_site(sqlite_service, who, clip)
    truth = json.loads(clip.truth.read_text())
    [event] = [e for e in truth["events"] if e["type"] == "removed"]
    stock, loan = _pledge(sqlite_service, who, sites[event["bay"]])
    yield sqlite_service, who, stock, loan


def test_a_rendered_removal_without_a_release_order_alerts_the_bank_with_evidence(
    synth_world: Any,
) -> None:
    service, who, stock, _ = synth_world

    runner = _watch_to_the_end(service)

    sink = runner.sink
    removals = [o for o in sink.outcomes if o.covered is not None]  # type: ignore[attr-defined]
    assert [o.covered for o in removals] == [False], sink.errors  # type: ignore[attr-defined]
    [alert] = alerts_of(service, who.bank1, "unauthorised_movement")
    assert alert["subject"]["lot_id"] == stock.lot["id"]
    links = {e["kind"]: e["uri"] for e in alert["evidence"]}
    assert set(links) == {"snapshot", "clip"}
    evidence_id = links["snapshot"].split("/")[2]
    verdict = expect(service.client.post(f"/evidence/{evidence_id}/verify", headers=who.bank1), 200)
    assert verdict["ok"], verdict
    with service.container.session_factory() as session:
        row = session.get(EvidenceRow, evidence_id)
        assert row is not None and row.manifest["delta"] == -1


def test_the_same_removal_under_a_release_order_raises_no_alert(synth_world: Any) -> None:
    service, who, stock, loan = synth_world
    body = {"receipt_id": stock.receipt["id"], "quantity": "50"}
    expect(
        service.client.post(
            f"/loans/{loan['id']}/release-orders", headers={**who.bank1, **key()}, json=body
        ),
        202,
    )

    runner = _watch_to_the_end(service)

    removals = [o for o in runner.sink.outcomes if o.covered is not None]  # type: ignore[attr-defined]
    assert [o.covered for o in removals] == [True]
    assert alerts_of(service, who.bank1, "unauthorised_movement") == []
    assert alerts_of(service, who.wh, "unauthorised_movement") == []
