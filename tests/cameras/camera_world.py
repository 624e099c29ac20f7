"""A watched bay with pledged goods, a registered camera, a device key and real signed evidence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from services.cameras.reports import BayChangeReport, TamperReport, change_to_json, tamper_to_json
from tests.api.story_steps import COIL, Parties, Site, expect, key, price, product, receive
from vision.evidence import EvidencePack, FrameRing, pack_for_frame
from vision.signing import WorkerKey
from vision.stages import BayChange, Frame, MovementKind, TamperFinding, TamperKind

LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
RIGHT_HALF = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]


def scene(index: int, boxes: int, width: int = 320, height: int = 180) -> np.ndarray:
    """A warehouse-like picture: grey floor, `boxes` brown pallets in the left half, noise."""
    rng = np.random.default_rng(index)
    image = np.full((height, width, 3), 90, np.uint8)
    image += rng.integers(0, 12, image.shape, dtype=np.uint8)
    for n in range(boxes):
        x = 10 + n * 35
        cv2.rectangle(image, (x, 60), (x + 28, 120), (40, 70, 120), thickness=-1)
    return image


def marker_scene(markers: int, width: int = 640, height: int = 360) -> np.ndarray:
    """A floor with `markers` ArUco-tagged pallets (DICT_4X4_50 ids 1..n) in the left half."""
    image = np.full((height, width, 3), 120, np.uint8)
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    for n in range(markers):
        tile = cv2.aruco.generateImageMarker(dictionary, n + 1, 60)
        x, y = 20 + (n % 3) * 95, 60 + (n // 3) * 130
        cv2.rectangle(image, (x - 12, y - 12), (x + 72, y + 72), (255, 255, 255), -1)
        image[y : y + 60, x : x + 60] = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
    return image


def write_video(path: Path, images: list[np.ndarray], fps: int = 10) -> Path:
    """Write pictures as an mp4v video."""
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for image in images:
        writer.write(image)
    writer.release()
    return path


def frames(camera_id: str, boxes: int, count: int, start: int = 0) -> list[Frame]:
    """Consecutive frames of the scene, half a second apart."""
    t0 = datetime.now(UTC) - timedelta(seconds=count)
    return [
        Frame(camera_id, start + i, t0 + timedelta(seconds=i / 2), scene(start + i, boxes))
        for i in range(count)
    ]


@dataclass
class Watched:
    """A pledged lot in a bay a registered camera watches, and the keys to report on it."""

    site: Site
    camera_id: str
    device: dict[str, str]
    loan: dict[str, Any]
    goods: Any
    key: WorkerKey

    @property
    def bay_id(self) -> str:
        """The watched bay."""
        return str(self.site.bay["id"])


def device_key(
    client: Any, headers: dict[str, str], warehouse_id: str | None = None, name: str = "camera"
) -> dict[str, str]:
    """The X-API-Key header of a new camera key of the user's org, bound to a warehouse if given."""
    body = {"name": name, "purpose": "camera"}
    created = expect(client.post("/orgs/me/api-keys", headers=headers, json=body), 201)
    if warehouse_id is not None:
        expect(
            client.put(f"/warehouses/{warehouse_id}/device-keys/{created['id']}", headers=headers),
            200,
        )
    return {"X-API-Key": created["secret"]}


def watched_site(
    client: Any, who: Parties, camera_id: str, polygon: list[list[float]] = LEFT_HALF
) -> Site:
    """A warehouse whose bay A1 is outlined in the camera's view; commodities defined."""
    code = f"WH-{secrets.token_hex(3).upper()}"
    warehouse = expect(
        client.post("/warehouses", headers=who.wh, json={"code": code, "name": f"Shed {code}"}),
        201,
    )
    bay = expect(
        client.post(
            f"/warehouses/{warehouse['id']}/bays",
            headers=who.wh,
            json={"code": "A1", "name": "A1", "polygons": {camera_id: polygon}},
        ),
        201,
    )
    known = {c["code"] for c in expect(client.get("/commodities", headers=who.wh), 200)}
    if COIL not in known:
        body = {"code": COIL, "name": "Steel coil", "unit": "pcs", "step": "1"}
        expect(client.post("/commodities", headers=who.wh, json=body), 201)
    return Site(warehouse, bay)


def register_camera(
    client: Any, who: Parties, site: Site, camera_id: str, url: str = "file:///dev/null"
) -> dict[str, Any]:
    """Register the camera in the site's warehouse."""
    body = {"camera_id": camera_id, "name": f"Camera {camera_id}", "url": url}
    return expect(
        client.post(f"/warehouses/{site.warehouse['id']}/cameras", headers=who.wh, json=body), 201
    )


def watched_deal(
    service: Any,
    who: Parties,
    quantity: int = 100,
    amount: str = "300000.00",
    url: str = "file:///dev/null",
    camera_id: str | None = None,
    polygon: list[list[float]] | None = None,
) -> Watched:
    """Bank1 lends against coils in a camera-watched bay; the loan is paid out."""
    client = service.client
    camera_id = camera_id or f"cam-{secrets.token_hex(4)}"
    site = watched_site(client, who, camera_id, polygon or LEFT_HALF)
    register_camera(client, who, site, camera_id, url)
    stock = receive(client, who.wh, site, quantity)
    offer = product(client, who.bank1)
    price(client, who.bank1)
    body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": amount}
    loan = expect(client.post("/loans", headers=who.sme, json=body), 201)
    expect(client.post(f"/loans/{loan['id']}/approve", headers=who.bank1), 202)
    out = expect(client.post(f"/loans/{loan['id']}/disburse", headers={**who.bank1, **key()}), 202)
    device = device_key(client, who.wh, site.warehouse["id"])
    worker_key = WorkerKey.generate()
    expect(
        client.post("/vision/keys", headers=device, json={"public_key": worker_key.public_b64}),
        201,
    )
    return Watched(site, camera_id, device, out["loan"], stock, worker_key)


def removal(world: Watched, before: int = 4, gone: int = 1) -> tuple[BayChange, Frame, FrameRing]:
    """A bay change of `gone` pallets leaving, the frame that settled it, and the frames before."""
    ring = FrameRing(seconds=3, fps=2)
    history = frames(world.camera_id, before, 6)
    for frame in history:
        ring.push(frame)
    after = frames(world.camera_id, before - gone, 1, start=len(history))[0]
    change = BayChange(
        camera_id=world.camera_id,
        bay_id=world.bay_id,
        at=after.at,
        kind=MovementKind.REMOVED,
        delta=-gone,
        count_before=before,
        count_after=before - gone,
        identities=("aruco:7",),
        confidence=0.93,
        frame_index=after.index,
    )
    return change, after, ring


def change_body(world: Watched, before: int = 4, gone: int = 1) -> dict[str, Any]:
    """The JSON of POST /vision/events for a removal, with real signed evidence."""
    change, frame, ring = removal(world, before, gone)
    pack = pack_for_frame(world.key, ring, frame, kind="bay_change", bay_id=world.bay_id)
    return change_to_json(BayChangeReport.of(change, pack))


def tamper_body(world: Watched, kind: TamperKind, active: bool = True) -> dict[str, Any]:
    """The JSON of POST /vision/tamper; evidence unless the signal is lost or the finding clears."""
    frame = frames(world.camera_id, 4, 1)[0]
    dark = Frame(frame.camera_id, frame.index, frame.at, (frame.image // 10).astype(np.uint8))
    finding = TamperFinding(world.camera_id, dark.at, kind, active, 4.2, dark.index)
    pack: EvidencePack | None = None
    if active and kind is not TamperKind.SIGNAL_LOSS:
        pack = pack_for_frame(world.key, None, dark, kind="tamper", bay_id=None)
    return tamper_to_json(TamperReport.of(finding, pack))


def release_order(service: Any, who: Parties, world: Watched, quantity: str) -> dict[str, Any]:
    """Bank1 orders the release of some coils of the watched lot."""
    body = {"receipt_id": world.goods.receipt["id"], "quantity": quantity}
    out = expect(
        service.client.post(
            f"/loans/{world.loan['id']}/release-orders", headers={**who.bank1, **key()}, json=body
        ),
        202,
    )
    assert out["order"]["status"] == "open", out
    return dict(out["order"])


def alerts_of(service: Any, headers: dict[str, str], type: str) -> list[dict[str, Any]]:
    """The organisation's alerts of one type."""
    page = expect(service.client.get("/alerts", headers=headers, params={"type": type}), 200)
    return list(page["items"])
