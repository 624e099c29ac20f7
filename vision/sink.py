"""Event sinks that carry the pipeline's findings, with signed evidence, to the service.

`EvidenceMaker` turns a finding and its frame into signed evidence (snapshot, clip from the
camera's recent frames). `InProcessSink` calls the service's use cases directly (for `run` and
tests); `ServiceSink` posts to the HTTP API with a camera device key, retrying, and spools each
report to disk first so nothing is lost while the API is down: spooled reports are sent, in
order, as soon as it answers again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from vision.evidence import DEFAULT_CLIP_SECONDS, EvidencePack, FrameRing, pack_for_frame
from vision.signing import WorkerKey
from vision.stages import BayChange, Frame, TamperFinding, TamperKind

if TYPE_CHECKING:
    from services.cameras.events import Outcome

log = logging.getLogger(__name__)


class EvidenceMaker:
    """Signed evidence for findings: one frame ring per camera, one worker key."""

    def __init__(
        self, key: WorkerKey, clip_seconds: float = DEFAULT_CLIP_SECONDS, fps: float = 2.0
    ) -> None:
        """Sign with `key`; clips hold about `clip_seconds` of frames at `fps`."""
        self.key = key
        self._seconds = clip_seconds
        self._fps = fps
        self._rings: dict[str, FrameRing] = {}
        self._lock = threading.Lock()

    def ring(self, camera_id: str, fps: float | None = None) -> FrameRing:
        """The camera's frame ring (made on first use)."""
        with self._lock:
            ring = self._rings.get(camera_id)
            if ring is None:
                ring = FrameRing(self._seconds, fps or self._fps)
                self._rings[camera_id] = ring
            return ring

    def observe(self, frame: Frame) -> None:
        """Remember an analysed frame for later clips."""
        self.ring(frame.camera_id).push(frame)

    def for_change(self, change: BayChange, frame: Frame) -> EvidencePack:
        """Evidence of a bay change: the settling frame and the seconds before it."""
        return pack_for_frame(
            self.key,
            self.ring(frame.camera_id),
            frame,
            kind="bay_change",
            bay_id=change.bay_id,
            extra={"delta": change.delta, "frame_index": change.frame_index},
        )

    def for_tamper(self, finding: TamperFinding, frame: Frame | None) -> EvidencePack | None:
        """Evidence of a tamper finding that fired; none on signal loss or when it clears."""
        if frame is None or not finding.active or finding.kind is TamperKind.SIGNAL_LOSS:
            return None
        return pack_for_frame(
            self.key,
            self.ring(frame.camera_id),
            frame,
            kind="tamper",
            bay_id=None,
            extra={"tamper": finding.kind.value, "measure": round(finding.measure, 6)},
        )


class InProcessSink:
    """Reports straight into the service's use cases, as the camera's warehouse device."""

    def __init__(self, container: Any, maker: EvidenceMaker) -> None:
        """Report into this container's database; registers the maker's key on first use."""
        self._container = container
        self.maker = maker
        self.outcomes: list[Outcome] = []
        self.errors: list[str] = []
        self._registered: set[str] = set()
        self._lock = threading.Lock()

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """Record a bay change with its evidence."""
        from services.cameras.reports import BayChangeReport

        self.maker.observe(frame)
        self._report(
            change.camera_id,
            "record_bay_change",
            lambda: BayChangeReport.of(change, self.maker.for_change(change, frame)),
        )

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """Record a tamper finding (raised or cleared) with its evidence."""
        from services.cameras.reports import TamperReport

        if frame is not None:
            self.maker.observe(frame)
        self._report(
            finding.camera_id,
            "record_tamper",
            lambda: TamperReport.of(finding, self.maker.for_tamper(finding, frame)),
        )
        from services.cameras.events import revalue_now

        revalue_now(self._container)

    def _report(self, camera_id: str, use_case: str, build: Callable[[], Any]) -> None:
        from services.cameras import events
        from services.cameras.tables import CameraRow
        from services.cameras.wiring import evidence_store
        from services.uow import SqlUnitOfWork

        # One report at a time: the worker threads of several cameras share this sink.
        with self._lock:
            try:
                actor = device_actor(self._container, camera_id)
                self._register(actor)
                report = build()
                with SqlUnitOfWork.start(self._container.session_factory) as uow:
                    # In process the worker is trusted with the camera's own warehouse.
                    camera = uow.session.get(CameraRow, camera_id)
                    outcome = getattr(events, use_case)(
                        uow,
                        actor,
                        evidence_store(self._container),
                        self._now(),
                        report,
                        None if camera is None else camera.warehouse_id,
                    )
                self.outcomes.append(outcome)
                self._container.pump()
            except Exception as exc:
                # A sink must never kill a camera's worker; the failure is logged and kept.
                log.exception("vision report for camera %s failed", camera_id)
                self.errors.append(f"{camera_id}: {exc}")

    def _register(self, actor: Any) -> None:
        if actor.org_id in self._registered:
            return
        from services.cameras.evidence_service import register_key
        from services.uow import SqlUnitOfWork

        with SqlUnitOfWork.start(self._container.session_factory) as uow:
            register_key(uow, actor, self._now(), self.maker.key.public_b64)
        self._registered.add(actor.org_id)

    def _now(self) -> Any:
        return self._container.context().now


def device_actor(container: Any, camera_id: str) -> Any:
    """The device actor of the organisation running the camera (as its API key would be)."""
    from pledge.errors import NotFound
    from pledge.parties import Actor, OrgKind, Role
    from services.cameras.tables import CameraRow
    from services.identity.tables import Org

    with container.session_factory() as session:
        camera = session.get(CameraRow, camera_id)
        org = None if camera is None else session.get(Org, camera.org_id)
        if camera is None or org is None:
            raise NotFound("camera_not_found", f"no camera {camera_id}")
        return Actor(org.id, OrgKind(org.kind), org.msp_id, frozenset({Role.DEVICE}))


class ServiceSink:
    """Reports to the HTTP API with a camera device key; a disk spool bridges outages."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        maker: EvidenceMaker,
        spool_dir: Path,
        *,
        timeout: float = 10.0,
        retry_every: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Post to `api_url`; keep unsent reports in `spool_dir` and retry every few seconds."""
        self.maker = maker
        self._spool = spool_dir
        self._spool.mkdir(parents=True, exist_ok=True)
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"X-API-Key": api_key},
            timeout=timeout,
            transport=transport,
        )
        self._retry_every = retry_every
        self._registered = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="vision-spool", daemon=True)
        self._flusher.start()
        self.sent = 0

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """Spool and send a bay change with its evidence."""
        from services.cameras.reports import BayChangeReport, change_to_json

        self.maker.observe(frame)
        report = BayChangeReport.of(change, self.maker.for_change(change, frame))
        self._enqueue("/vision/events", change_to_json(report))

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """Spool and send a tamper finding with its evidence."""
        from services.cameras.reports import TamperReport, tamper_to_json

        if frame is not None:
            self.maker.observe(frame)
        report = TamperReport.of(finding, self.maker.for_tamper(finding, frame))
        self._enqueue("/vision/tamper", tamper_to_json(report))

    def pending(self) -> int:
        """How many reports wait in the spool."""
        return len(list(self._spool.glob("*.json")))

    def flush(self) -> int:
        """Send spooled reports oldest first, stopping at the first failure; returns how many."""
        sent = 0
        with self._lock:
            for path in sorted(self._spool.glob("*.json")):
                item = json.loads(path.read_text(encoding="utf-8"))
                verdict = self._send(item["path"], item["body"])
                if verdict == "retry":
                    break
                if verdict == "refused":
                    # Refused for good (bad evidence, unknown camera): kept aside for a person,
                    # since leaving it first in line would block every later report.
                    rejected = self._spool / "rejected"
                    rejected.mkdir(exist_ok=True)
                    path.replace(rejected / path.name)
                    continue
                path.unlink()
                sent += 1
        self.sent += sent
        return sent

    def close(self) -> None:
        """Stop retrying and close the connection; the spool keeps what was not sent."""
        self._stop.set()
        self._flusher.join(5)
        self._client.close()

    def _enqueue(self, path: str, body: dict[str, Any]) -> None:
        # Written to disk before the first attempt: a crash mid-send loses nothing.
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        tmp = self._spool / (name + ".tmp")
        tmp.write_text(json.dumps({"path": path, "body": body}), encoding="utf-8")
        tmp.replace(self._spool / name)
        self.flush()

    def _send(self, path: str, body: dict[str, Any]) -> str:
        """POST one report: "sent", "refused" (a 4xx, for good) or "retry" (try again later)."""
        try:
            if not self._registered:
                key = {"public_key": self.maker.key.public_b64}
                resp = self._client.post("/vision/keys", json=key)
                if resp.status_code != 201:
                    log.warning("worker key registration answered %s", resp.status_code)
                    return "retry"
                self._registered = True
            resp = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            log.warning("the API is unreachable (%s); the report stays spooled", exc)
            return "retry"
        # Overload and server errors pass; a revoked or wrong key waits until it is fixed.
        if resp.status_code >= 500 or resp.status_code in (401, 403, 408, 429):
            return "retry"
        if resp.status_code == 409 and _problem_code(resp) == "evidence_exists":
            return "sent"  # sent before, its answer lost: the service already holds it
        if resp.status_code >= 400:
            log.error("the API refused a vision report (%s): %s", resp.status_code, resp.text)
            return "refused"
        return "sent"

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._retry_every):
            try:
                self.flush()
            except Exception:
                log.exception("flushing the vision spool failed")


def _problem_code(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""
