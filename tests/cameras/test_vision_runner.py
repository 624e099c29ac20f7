"""The vision runner on a real camera worker: live checks within 10 s, frames, baselines, counts."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pledge.reconcile_service import CameraCounts
from services.cameras.counts import SqlCameraCounts
from services.cameras.runner import Cadence, VisionRunner
from services.cameras.tables import BayCountRow, LiveCheckRow
from tests.api.story_steps import COIL, expect, parties
from tests.cameras.camera_world import marker_scene, watched_deal, write_video
from vision.livecheck import stamp
from vision.signing import WorkerKey

LIVE_DEADLINE = 10.0


def _wait_for(check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


def test_a_live_check_is_answered_within_10_s_with_the_nonce_drawn_and_signed(
    sqlite_service: Any, tmp_path: Path
) -> None:
    service = sqlite_service
    who = parties(service)
    picture = marker_scene(3)
    video = write_video(tmp_path / "bay.mp4", [picture] * 20)
    world = watched_deal(service, who, url=video.as_uri())
    runner = VisionRunner(
        service.container,
        key=WorkerKey.generate(),
        cadence=Cadence(baselines=0.5),
        config_overrides={"loop": True, "analysis_fps": 5.0},
    ).start()
    try:
        assert _wait_for(lambda: runner.workers[0].latest_frame(), 10)
        asked = time.monotonic()
        check = expect(
            service.client.post(
                f"/bays/{world.bay_id}/live-checks", headers=who.bank1, json={"nonce": "Z9-qr77"}
            ),
            202,
        )
        assert check["status"] == "pending"

        def done() -> dict[str, Any] | None:
            body = expect(service.client.get(f"/live-checks/{check['id']}", headers=who.bank1), 200)
            return body if body["status"] != "pending" else None

        answer = _wait_for(done, LIVE_DEADLINE)
        took = time.monotonic() - asked
        frame = _wait_for(lambda: _frame(service, who, world.camera_id), 5)
        baseline = _wait_for(lambda: _baseline(service, world.bay_id), 10)
    finally:
        runner.stop()

    assert answer is not None and answer["status"] == "done", answer
    assert took < LIVE_DEADLINE
    evidence = expect(
        service.client.get(f"/evidence/{answer['evidence_id']}", headers=who.bank1), 200
    )
    assert evidence["kind"] == "live_check" and evidence["manifest"]["nonce"] == "Z9-qr77"
    snapshot = service.client.get(evidence["snapshot_url"], headers=who.bank1).content
    seen = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR).astype(int)
    height = seen.shape[0]
    band_top = height - int(height * 0.14)
    # The camera's picture above the band; the nonce drawn in the band (closer to it than to
    # a drawing of another nonce, where the two drawings differ).
    assert np.abs(seen[:band_top] - picture[:band_top].astype(int)).mean() < 8
    from datetime import datetime

    at = datetime.fromisoformat(evidence["manifest"]["at"])
    mine = stamp(picture, "Z9-qr77", at).image[band_top:].astype(int)
    theirs = stamp(picture, "Z9-qr78", at).image[band_top:].astype(int)
    where = np.any(mine != theirs, axis=2)
    band = seen[band_top:]
    assert np.abs(band - mine)[where].mean() * 3 < np.abs(band - theirs)[where].mean()
    verdict = expect(
        service.client.post(f"/evidence/{answer['evidence_id']}/verify", headers=who.bank1), 200
    )
    assert verdict["ok"], verdict
    # Meanwhile the runner showed the annotated frame and baselined the pledged bay.
    assert frame is not None and frame.content[:2] == b"\xff\xd8"
    assert baseline == 3


def _frame(service: Any, who: Any, camera_id: str) -> Any:
    resp = service.client.get(f"/cameras/{camera_id}/frame.jpg", headers=who.wh)
    return resp if resp.status_code == 200 else None


def _baseline(service: Any, bay_id: str) -> int | None:
    with service.container.session_factory() as session:
        row = session.get(BayCountRow, bay_id)
        return None if row is None or row.baseline_count is None else row.baseline_count


def test_camera_counts_turn_objects_into_the_commodity_quantity_from_the_baseline(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    counts: CameraCounts = SqlCameraCounts(service.container.session_factory)
    assert counts.count_in_bay(world.bay_id, COIL) is None

    from datetime import UTC, datetime

    from services.cameras.counts import record_baseline
    from services.uow import SqlUnitOfWork

    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        record_baseline(uow, world.bay_id, world.camera_id, 4, ["aruco:1"], datetime.now(UTC))
    assert counts.count_in_bay(world.bay_id, COIL) == Decimal(100)
    assert counts.count_in_bay(world.bay_id, "COPPER-CATHODE") is None
    with service.container.session_factory() as session:
        row = session.get(BayCountRow, world.bay_id)
        assert row is not None
        row.count = 3
        session.commit()
    assert counts.count_in_bay(world.bay_id, COIL) == Decimal(75)
    sensors = service.container.reconcile_sensors()
    assert sensors.camera.count_in_bay(world.bay_id, COIL) == Decimal(75)


def test_a_live_check_nobody_answers_is_reported_failed_after_its_deadline(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    check = expect(
        service.client.post(
            f"/bays/{world.bay_id}/live-checks", headers=who.bank1, json={"nonce": "late-1"}
        ),
        202,
    )
    url = f"/live-checks/{check['id']}"
    assert expect(service.client.get(url, headers=who.bank1), 200)["status"] == "pending"
    assert service.client.get(url, headers=who.bank2).status_code == 404
    # No runner watches this camera: move the request back past its deadline.
    with service.container.session_factory() as session:
        row = session.get(LiveCheckRow, check["id"])
        assert row is not None
        row.requested_at = row.requested_at - timedelta(seconds=30)
        session.commit()

    late = expect(service.client.get(url, headers=who.bank1), 200)

    assert late["status"] == "failed" and late["evidence_id"] is None
    assert "in time" in late["detail"]


def test_a_camera_registered_while_the_runner_runs_is_picked_up(
    sqlite_service: Any, tmp_path: Path
) -> None:
    service = sqlite_service
    who = parties(service)
    runner = VisionRunner(
        service.container,
        key=WorkerKey.generate(),
        cadence=Cadence(cameras=0.3),
        config_overrides={"loop": True},
        baselines=False,
    ).start()
    try:
        assert runner.workers == []
        video = write_video(tmp_path / "late.mp4", [marker_scene(1)] * 10)
        world = watched_deal(service, who, url=video.as_uri())
        started = _wait_for(lambda: [w.camera_id for w in runner.workers], 10)
        framed = _wait_for(lambda: _frame(service, who, world.camera_id), 10)
    finally:
        runner.stop()

    assert started == [world.camera_id]
    assert framed is not None
