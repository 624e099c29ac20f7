"""The warehouse operator's pages show its own floor, cameras, readers, counts and releases."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import cv2
import numpy as np
from sqlalchemy import func, select

from pledge.alert_service import raise_alert
from pledge.alerts import AlertDraft, AlertState, AlertType, Severity
from pledge.model import Movement
from pledge.reconcile_service import InMemoryCounts, Sensors
from services.bootstrap import SENSORS_KEY
from services.cameras import registry
from services.ingest.readers import register_reader
from services.ingest.tables import Reader
from services.uow import SqlUnitOfWork
from tests.api.story_steps import COIL, expect
from tests.dashboards.conftest import Town


def tile_of(html: str, bay_id: str) -> str:
    """The floor tile of one bay."""
    match = re.search(rf'<a class="bay-tile[^>]*id="bay-{bay_id}".*?</a>', html, re.S)
    assert match, f"no tile for bay {bay_id}"
    return match.group(0)


def movements(town: Town) -> int:
    """Book movements recorded so far."""
    with SqlUnitOfWork.start(town.service.container.session_factory) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Movement)) or 0)


def test_the_floor_shows_the_pledged_bay_and_its_stock(town: Town) -> None:
    page = town.warehouse.get("/ui/warehouse/floor")
    assert page.status_code == 200
    tile = tile_of(page.text, town.world.site.bay["id"])
    assert 'data-state="pledged"' in tile
    assert "110 pcs STEEL-COIL · 100 pledged" in tile
    assert town.world.site.warehouse["code"] in page.text
    # The rival operator's bay is not on this floor, and this floor is not on the rival's.
    assert town.rival_bay["id"] not in page.text
    rival = town.rival_warehouse.get("/ui/warehouse/floor")
    assert town.world.site.bay["id"] not in rival.text
    assert 'data-state="empty"' in rival.text


def test_another_operators_bay_answers_not_found(town: Town) -> None:
    assert town.warehouse.get(f"/ui/warehouse/floor/bays/{town.rival_bay['id']}").status_code == 404
    assert (
        town.rival_warehouse.get(f"/ui/warehouse/bays/{town.world.site.bay['id']}").status_code
        == 404
    )
    short = town.warehouse.get(f"/ui/warehouse/bays/{town.world.site.bay['id']}")
    assert short.status_code == 303
    own = town.warehouse.get(short.headers["location"])
    assert own.status_code == 200
    assert 'id="bay-state">pledged<' in own.text
    lots = re.findall(r'<tr id="lot-\w+" data-receipt-status="(\w+)">', own.text)
    assert sorted(lots) == ["issued", "pledged"]
    assert town.world.deal.goods.receipt["number"] in own.text
    assert "Acme Steel Trading" in own.text


def test_the_menu_marks_the_page_being_shown(town: Town) -> None:
    start = town.warehouse.get("/ui/warehouse")
    assert start.status_code == 303 and start.headers["location"] == "/ui/warehouse/floor"
    for path, label in (
        ("/ui/warehouse/floor", "Floor"),
        (f"/ui/warehouse/floor/bays/{town.world.site.bay['id']}", "Floor"),
        ("/ui/warehouse/releases", "Releases"),
        ("/ui/warehouse/reconciliation", "Reconciliation"),
    ):
        current = re.findall(r'aria-current="page">([^<]+)<', town.warehouse.get(path).text)
        assert current == [label], (path, current)


def test_other_kinds_of_organisation_cannot_open_warehouse_pages(town: Town) -> None:
    assert town.sme.get("/ui/warehouse/floor").status_code == 403
    assert town.bank.get("/ui/warehouse/releases").status_code == 403


def test_readers_show_their_status_heartbeat_and_placement(town: Town) -> None:
    service, world = town.service, town.world
    code = world.site.warehouse["code"]
    now = service.container.context().now
    with service.container.session_factory() as session:
        for reader_id in ("dock-1", "dock-2"):
            register_reader(session, code, reader_id)
        session.commit()
        session.get(Reader, "dock-1").last_seen_at = now
        session.get(Reader, "dock-1").status = "online"
        session.get(Reader, "dock-2").last_seen_at = now - timedelta(minutes=10)
        session.commit()
    body = {"kind": "bay", "bay_id": world.site.bay["id"]}
    expect(service.client.put("/readers/dock-1/placement", headers=world.who.wh, json=body), 200)
    page = town.warehouse.get("/ui/warehouse/readers")
    assert page.status_code == 200
    online = re.search(r'<tr id="reader-dock-1".*?</tr>', page.text, re.S)
    offline = re.search(r'<tr id="reader-dock-2".*?</tr>', page.text, re.S)
    assert online and 'data-online="true"' in online.group(0) and "bay A1" in online.group(0)
    assert offline and 'data-online="false"' in offline.group(0)
    assert "not placed" in offline.group(0)
    assert "1 of 2 online" in page.text
    assert "dock-1" not in town.rival_warehouse.get("/ui/warehouse/readers").text


def test_the_floor_and_the_offers_follow_the_bays_monitoring(town: Town) -> None:
    service, world = town.service, town.world
    bay, free = world.site.bay["id"], world.free_goods.receipt["id"]
    offers = town.sme.get("/ui/sme/receipts").text
    assert "67,200.00 USD" in offers
    # The only reader placed on the bay goes silent: the bay is unmonitored, its goods count 80 %.
    with service.container.session_factory() as session:
        reader = session.get(Reader, "dock-1")
        reader.status = "offline"
        session.commit()
    assert 'data-state="unmonitored"' in tile_of(
        town.warehouse.get("/ui/warehouse/floor").text, bay
    )
    card = re.search(
        rf'id="receipt-{free}".*?</section>', town.sme.get("/ui/sme/receipts").text, re.S
    )
    assert card and "unmonitored" in card.group(0) and "53,760.00 USD" in card.group(0)
    # A camera tamper alert on the bay outranks everything: nothing in it counts.
    draft = AlertDraft(
        org_id="northport",
        type=AlertType.CAMERA_TAMPER,
        severity=Severity.CRITICAL,
        title="Camera covered",
        dedup_key=f"tamper:{bay}",
        subject={"bay_id": bay},
    )
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        alert = raise_alert(uow, service.container.context().now, draft)
    assert 'data-state="tampered"' in tile_of(town.warehouse.get("/ui/warehouse/floor").text, bay)
    card = re.search(
        rf'id="receipt-{free}".*?</section>', town.sme.get("/ui/sme/receipts").text, re.S
    )
    assert card and "tampered" in card.group(0) and "<strong>0.00 USD</strong>" in card.group(0)
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        stored = uow.alerts.get(alert.id)
        stored.state = AlertState.RESOLVED
        uow.session.get(Reader, "dock-1").status = "online"
        uow.commit()
    assert 'data-state="pledged"' in tile_of(town.warehouse.get("/ui/warehouse/floor").text, bay)


def test_a_mismatch_found_by_reconcile_now_freezes_the_bay_until_it_is_resolved(
    town: Town,
) -> None:
    service, world = town.service, town.world
    bay, warehouse = world.site.bay["id"], world.site.warehouse["id"]
    service.container.extras[SENSORS_KEY] = Sensors(
        tags=InMemoryCounts({(bay, COIL): Decimal(96)}),
        camera=InMemoryCounts({(bay, COIL): Decimal(110)}),
    )
    try:
        page = town.warehouse.get(f"/ui/warehouse/reconciliation?warehouse_id={warehouse}")
        row = re.search(r'<tr id="recon-A1-STEEL-COIL".*?</tr>', page.text, re.S)
        assert row, page.text
        cells = dict(
            re.findall(r'data-source="(\w+)"[^>]*>\s*(?:<span[^>]*>)?([\w ]+)', row.group(0))
        )
        assert cells == {"pledged": "100", "book": "110", "tags": "96", "camera": "110"}
        assert "count-mismatch" in row.group(0) and "mismatch" in row.group(0)
        assert "frozen" not in row.group(0)

        ran = town.warehouse.post(f"/ui/warehouse/reconciliation/{warehouse}/run")
        assert ran.status_code == 303
        after = town.warehouse.get(ran.headers["location"])
        assert "1 bay disagree" in after.text
        assert 'id="freeze-A1"' in after.text and "tags disagree with 110" in after.text
        floor = town.warehouse.get("/ui/warehouse/floor").text
        assert 'data-state="frozen"' in tile_of(floor, bay)

        # Releases from a frozen bay wait: the order is listed but cannot be executed.
        releases = town.warehouse.get("/ui/warehouse/releases").text
        assert f'id="execute-{world.order["id"]}"' not in releases
        assert "bay frozen" in releases

        refused = town.warehouse.post(f"/ui/warehouse/bays/{bay}/resolve-freeze", {"note": " "})
        assert refused.status_code == 422 and "say how the mismatch was cleared" in refused.text
        rival = town.rival_warehouse.post(
            f"/ui/warehouse/bays/{bay}/resolve-freeze", {"note": "not mine"}
        )
        assert rival.status_code == 404
        lifted = town.warehouse.post(
            f"/ui/warehouse/bays/{bay}/resolve-freeze", {"note": "recounted: 110 on the floor"}
        )
        assert lifted.status_code == 303
        done = town.warehouse.get(lifted.headers["location"]).text
        assert "recounted: 110 on the floor" in done
        assert 'data-state="pledged"' in tile_of(
            town.warehouse.get("/ui/warehouse/floor").text, bay
        )
    finally:
        del service.container.extras[SENSORS_KEY]


def test_a_release_is_confirmed_then_executed_once_per_form(town: Town) -> None:
    order = town.world.order["id"]
    listing = town.warehouse.get("/ui/warehouse/releases").text
    assert f'id="order-{order}" data-status="open"' in listing
    assert town.rival_warehouse.get(f"/ui/warehouse/releases/{order}").status_code == 404
    assert order not in town.rival_warehouse.get("/ui/warehouse/releases").text
    assert f'id="order-{order}"' in town.warehouse.get("/ui/warehouse/releases-table").text
    assert order not in town.rival_warehouse.get("/ui/warehouse/releases-table").text

    confirm = town.warehouse.get(f"/ui/warehouse/releases/{order}")
    assert confirm.status_code == 200
    assert 'id="release-goods">1 pcs STEEL-COIL<' in confirm.text
    key = re.search(r'name="idempotency_key" value="(\w+)"', confirm.text)
    assert key
    before = movements(town)
    first = town.warehouse.post(
        f"/ui/warehouse/releases/{order}/execute", {"idempotency_key": key.group(1)}
    )
    assert first.status_code == 303
    again = town.warehouse.post(
        f"/ui/warehouse/releases/{order}/execute", {"idempotency_key": key.group(1)}
    )
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert movements(town) == before + 1
    done = town.warehouse.get(first.headers["location"]).text
    assert 'id="release-done"' in done and "Released 1 pcs STEEL-COIL" in done
    assert f'id="order-{order}" data-status="executed"' in done

    # A fresh form on an executed order is refused by the use case, with its reason in place.
    stale = town.warehouse.post(
        f"/ui/warehouse/releases/{order}/execute",
        {"idempotency_key": "another-key"},
        headers={"HX-Request": "true"},
    )
    assert stale.status_code == 409
    assert 'data-code="order_not_open"' in stale.text
    assert movements(town) == before + 1


def test_executing_without_the_csrf_token_is_refused(town: Town) -> None:
    order = town.world.order["id"]
    resp = town.warehouse.client.post(
        f"/ui/warehouse/releases/{order}/execute",
        data={"idempotency_key": "k1"},
        follow_redirects=False,
    )
    assert resp.status_code == 403


def jpeg(width: int = 320, height: int = 180) -> bytes:
    """A real JPEG: a grey picture with a green bay outline."""
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    cv2.rectangle(image, (20, 20), (width - 20, height - 20), (0, 200, 0), 3)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def test_camera_tiles_show_the_latest_frame_or_say_there_is_none(town: Town) -> None:
    service, world = town.service, town.world
    warehouse = world.site.warehouse["id"]
    outline = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    body = {
        "code": "B2",
        "name": "Dock bay",
        "polygons": {"dock-cam": outline, "roof-cam": outline},
    }
    expect(
        service.client.post(f"/warehouses/{warehouse}/bays", headers=world.who.wh, json=body), 201
    )
    camera = {"camera_id": "dock-cam", "name": "Dock camera", "url": "file:///clips/dock.mp4"}
    expect(
        service.client.post(f"/warehouses/{warehouse}/cameras", headers=world.who.wh, json=camera),
        201,
    )
    page = town.warehouse.get("/ui/warehouse/cameras").text
    dock = re.search(r'<li class="camera-tile" id="camera-dock-cam".*?</li>', page, re.S)
    roof = re.search(r'<li class="camera-tile" id="camera-roof-cam".*?</li>', page, re.S)
    assert dock and "The camera has sent no frame yet" in dock.group(0)
    assert roof and "This camera is not registered" in roof.group(0)
    assert town.warehouse.get("/ui/warehouse/cameras/dock-cam/frame.jpg").status_code == 404

    picture = jpeg()
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        registry.store_frame(uow, "dock-cam", picture, service.container.context().now)
    tile = town.warehouse.get("/ui/warehouse/cameras/dock-cam/tile").text
    src = re.search(r'<img src="(/ui/warehouse/cameras/dock-cam/frame\.jpg\?at=\d+)"', tile)
    assert src, tile
    assert "Latest frame of camera Dock camera, watching bays B2" in tile
    frame = town.warehouse.get(src.group(1))
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    assert frame.content == picture
    decoded = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (180, 320, 3)

    assert town.rival_warehouse.get("/ui/warehouse/cameras/dock-cam/frame.jpg").status_code == 404
    assert town.rival_warehouse.get("/ui/warehouse/cameras/dock-cam/tile").status_code == 404
    assert "dock-cam" not in town.rival_warehouse.get("/ui/warehouse/cameras").text


def test_signed_out_visitors_are_sent_to_sign_in(town: Town) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(town.service.client.app)
    for path in (
        "/ui/warehouse/floor",
        "/ui/warehouse/releases",
        "/ui/warehouse/cameras/x/frame.jpg",
    ):
        resp = anonymous.get(path, follow_redirects=False)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/ui/login?next=")
