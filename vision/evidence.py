"""Evidence of what a camera saw: a JPEG snapshot and a short mp4v clip, hashed and signed.

The worker keeps a ring of recent frames per camera. When a bay changes or a tamper check
fires, the settling frame becomes the snapshot and the ring (ending at that frame) the clip.
Both are hashed with SHA-256; a manifest naming the hashes, the camera, the bay and the time is
signed with the worker's key. The manifest's own hash is what the service anchors on the ledger.

Stores keep the bytes: a folder, or an object store spoken to with plain HTTP PUT and GET.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import cv2
import httpx

from vision.signing import WorkerKey
from vision.stages import Frame, Image

CLIP_FOURCC = "mp4v"
DEFAULT_CLIP_SECONDS = 4.0
JPEG_QUALITY = 88


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of some bytes as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def encode_jpeg(image: Image, quality: int = JPEG_QUALITY) -> bytes:
    """A BGR image as JPEG bytes."""
    ok, buffer = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return bytes(buffer.tobytes())


def encode_clip(images: Iterable[Image], fps: float) -> bytes:
    """Frames as an mp4v-coded .mp4 (the codec every OpenCV wheel can write)."""
    frames = list(images)
    if not frames:
        raise ValueError("a clip needs at least one frame")
    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory(prefix="pw-clip-") as folder:
        path = Path(folder) / "clip.mp4"
        writer = cv2.VideoWriter(
            str(path), cv2.VideoWriter.fourcc(*CLIP_FOURCC), max(fps, 1.0), (width, height)
        )
        if not writer.isOpened():
            raise RuntimeError("OpenCV could not open an mp4v writer")
        try:
            for image in frames:
                same_size = image.shape[:2] == (height, width)
                writer.write(image if same_size else cv2.resize(image, (width, height)))
        finally:
            writer.release()
        return path.read_bytes()


class FrameRing:
    """The last few seconds of one camera's analysed frames, for clips."""

    def __init__(self, seconds: float = DEFAULT_CLIP_SECONDS, fps: float = 2.0) -> None:
        """Keep about `seconds` of frames at `fps` (at least two frames)."""
        self.fps = fps
        self._frames: deque[Frame] = deque(maxlen=max(2, round(seconds * fps)))
        self._lock = threading.Lock()

    def push(self, frame: Frame) -> None:
        """Remember a frame; a frame already held (same index) is not taken twice."""
        with self._lock:
            if self._frames and self._frames[-1].index >= frame.index:
                return
            self._frames.append(frame)

    def until(self, frame: Frame) -> list[Frame]:
        """The held frames up to and including `frame` (added if missing)."""
        self.push(frame)
        with self._lock:
            return [f for f in self._frames if f.index <= frame.index]


def canonical(document: Mapping[str, Any]) -> bytes:
    """Deterministic JSON bytes (sorted keys, compact): what is signed and hashed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class EvidencePack:
    """A signed snapshot and clip, ready to store: the bytes, the manifest and its signature."""

    manifest: dict[str, Any]
    signature: str
    key_id: str
    snapshot: bytes
    clip: bytes | None

    @property
    def sha256(self) -> str:
        """The manifest's hash: the evidence's identity on the ledger."""
        return sha256_hex(canonical(self.manifest))


def manifest_of(
    *,
    kind: str,
    camera_id: str,
    bay_id: str | None,
    at: datetime,
    snapshot: bytes,
    clip: bytes | None,
    key_id: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest that names the evidence's files by hash and says where and when."""
    return {
        "kind": kind,
        "camera_id": camera_id,
        "bay_id": bay_id,
        "at": at.isoformat(),
        "snapshot_sha256": sha256_hex(snapshot),
        "clip_sha256": None if clip is None else sha256_hex(clip),
        "key_id": key_id,
        **(dict(extra) if extra else {}),
    }


def seal(
    key: WorkerKey,
    *,
    kind: str,
    camera_id: str,
    bay_id: str | None,
    at: datetime,
    snapshot: bytes,
    clip: bytes | None,
    extra: Mapping[str, Any] | None = None,
) -> EvidencePack:
    """Hash the files, write the manifest and sign it with the worker's key."""
    manifest = manifest_of(
        kind=kind,
        camera_id=camera_id,
        bay_id=bay_id,
        at=at,
        snapshot=snapshot,
        clip=clip,
        key_id=key.key_id,
        extra=extra,
    )
    return EvidencePack(manifest, key.sign(canonical(manifest)), key.key_id, snapshot, clip)


def pack_for_frame(
    key: WorkerKey,
    ring: FrameRing | None,
    frame: Frame,
    *,
    kind: str,
    bay_id: str | None,
    extra: Mapping[str, Any] | None = None,
) -> EvidencePack:
    """Evidence of one moment: the frame as snapshot, the ring up to it as the clip."""
    frames = ring.until(frame) if ring is not None else [frame]
    fps = ring.fps if ring is not None else 1.0
    return seal(
        key,
        kind=kind,
        camera_id=frame.camera_id,
        bay_id=bay_id,
        at=frame.at,
        snapshot=encode_jpeg(frame.image),
        clip=encode_clip((f.image for f in frames), fps),
        extra=extra,
    )


class EvidenceStore(Protocol):
    """Where evidence bytes live: put under a name, read back by the returned URI."""

    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Store the bytes; returns the URI to read them back."""
        ...

    def get(self, uri: str) -> bytes | None:
        """The stored bytes, or None when they are gone."""
        ...


class FileStore:
    """Evidence in a folder on the local filesystem."""

    def __init__(self, root: Path) -> None:
        """Store under `root` (made on first write)."""
        self.root = root

    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Write the file (atomically) and return its file:// URI."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path.resolve().as_uri()

    def get(self, uri: str) -> bytes | None:
        """The file's bytes, or None when missing or outside the store."""
        if not uri.startswith("file://"):
            return None
        path = Path(uri.removeprefix("file://"))
        root = self.root.resolve()
        # Only files under our own root: a stored URI must never read elsewhere on the host.
        if root not in path.resolve().parents or not path.is_file():
            return None
        return path.read_bytes()

    def _path(self, name: str) -> Path:
        if not name or name.startswith("/") or ".." in Path(name).parts:
            raise ValueError(f"bad evidence name {name!r}")
        return self.root / name


class HttpObjectStore:
    """Evidence in an object store that takes HTTP PUT and serves GET (S3-style paths)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        """Store objects under `base_url` (e.g. http://minio:9000/evidence)."""
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def put(self, name: str, data: bytes, content_type: str) -> str:
        """PUT the object; returns its URL. Raises httpx.HTTPError on failure."""
        url = f"{self.base_url}/{name.lstrip('/')}"
        resp = httpx.put(
            url, content=data, headers={"Content-Type": content_type}, timeout=self._timeout
        )
        resp.raise_for_status()
        return url

    def get(self, uri: str) -> bytes | None:
        """GET the object, or None when the store does not have it."""
        if not uri.startswith(self.base_url + "/"):
            return None
        try:
            resp = httpx.get(uri, timeout=self._timeout)
        except httpx.HTTPError:
            return None
        return resp.content if resp.status_code == 200 else None


def store_for(location: str | Path) -> EvidenceStore:
    """An object store for an http(s):// URL, else a folder store for a path."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return HttpObjectStore(text)
    return FileStore(Path(text.removeprefix("file://")))
