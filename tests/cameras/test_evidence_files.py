"""Evidence files: real JPEG and mp4v bytes, SHA-256 and Ed25519 catch any change; two stores."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.cameras.camera_world import frames
from vision.evidence import (
    FileStore,
    FrameRing,
    HttpObjectStore,
    canonical,
    encode_clip,
    pack_for_frame,
    sha256_hex,
    store_for,
)
from vision.livecheck import live_snapshot, stamp
from vision.signing import KEY_FILE, WorkerKey, signature_valid


def test_a_clip_is_a_real_mp4v_video_of_the_ring_up_to_the_event(tmp_path: Path) -> None:
    ring = FrameRing(seconds=2, fps=3)
    shots = frames("cam-a", 3, 10)
    for frame in shots[:-1]:
        ring.push(frame)

    clip = encode_clip((f.image for f in ring.until(shots[-1])), ring.fps)

    path = tmp_path / "clip.mp4"
    path.write_bytes(clip)
    capture = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        decoded.append(image)
    capture.release()
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)) if capture.isOpened() else 0
    assert len(decoded) == 6  # two seconds at three frames a second, ending at the event
    assert decoded[0].shape == shots[0].image.shape
    assert fourcc in (0, cv2.VideoWriter.fourcc(*"mp4v"))
    # The last frame of the clip is the event's frame (lossy, so compared loosely).
    assert np.abs(decoded[-1].astype(int) - shots[-1].image.astype(int)).mean() < 8


def test_a_pack_signs_its_manifest_and_any_changed_byte_breaks_the_check() -> None:
    key = WorkerKey.generate()
    shot = frames("cam-b", 2, 1)[0]

    pack = pack_for_frame(key, None, shot, kind="bay_change", bay_id="bay-1")

    assert pack.manifest["snapshot_sha256"] == sha256_hex(pack.snapshot)
    assert pack.clip is not None and pack.manifest["clip_sha256"] == sha256_hex(pack.clip)
    assert pack.sha256 == hashlib.sha256(canonical(pack.manifest)).hexdigest()
    assert signature_valid(key.public_b64, canonical(pack.manifest), pack.signature)
    changed = {**pack.manifest, "bay_id": "bay-2"}
    assert not signature_valid(key.public_b64, canonical(changed), pack.signature)
    other = WorkerKey.generate()
    assert not signature_valid(other.public_b64, canonical(pack.manifest), pack.signature)
    flipped = bytearray(pack.snapshot)
    flipped[len(flipped) // 2] ^= 0x01
    assert sha256_hex(bytes(flipped)) != pack.manifest["snapshot_sha256"]


def test_the_worker_key_is_made_once_private_and_reloaded(tmp_path: Path) -> None:
    first = WorkerKey.load_or_create(tmp_path / "keys")
    again = WorkerKey.load_or_create(tmp_path / "keys")

    assert first.key_id == again.key_id and len(first.key_id) == 32
    assert os.stat(tmp_path / "keys" / KEY_FILE).st_mode & 0o777 == 0o600
    assert signature_valid(first.public_b64, b"data", again.sign(b"data"))


def test_the_file_store_reads_back_only_its_own_files(tmp_path: Path) -> None:
    store = store_for(tmp_path / "evidence")
    assert isinstance(store, FileStore)

    uri = store.put("cam/one.jpg", b"\xff\xd8abc", "image/jpeg")

    assert store.get(uri) == b"\xff\xd8abc"
    (tmp_path / "secret").write_bytes(b"not evidence")
    assert store.get((tmp_path / "secret").as_uri()) is None
    with pytest.raises(ValueError):
        store.put("../escape.jpg", b"x", "image/jpeg")


def test_the_object_store_puts_and_gets_over_http(bucket: str) -> None:
    store = store_for(bucket)
    assert isinstance(store, HttpObjectStore)
    pack = pack_for_frame(
        WorkerKey.generate(), None, frames("cam-c", 1, 1)[0], kind="tamper", bay_id=None
    )

    uri = store.put("cam-c/x.jpg", pack.snapshot, "image/jpeg")

    assert uri == bucket + "/cam-c/x.jpg"
    assert httpx.get(uri).headers["content-type"] == "image/jpeg"
    assert store.get(uri) == pack.snapshot
    assert store.get(bucket + "/cam-c/missing.jpg") is None
    assert store.get("http://elsewhere.example/evidence/x.jpg") is None


def test_the_live_snapshot_carries_the_nonce_in_its_band_and_nowhere_else() -> None:
    key = WorkerKey.generate()
    shot = frames("cam-d", 3, 1)[0]
    at = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)

    pack, stamped = live_snapshot(key, shot, nonce="N0nce-42", bay_id="b", check_id="c1", at=at)

    _, y1, _, y2 = stamped.band
    decoded = cv2.imdecode(np.frombuffer(pack.snapshot, np.uint8), cv2.IMREAD_COLOR)
    plain = shot.image.astype(int)
    # Above the band the picture is the camera's; inside it, text was drawn.
    assert np.abs(decoded[:y1].astype(int) - plain[:y1]).mean() < 6
    assert np.abs(decoded[y1:y2].astype(int) - plain[y1:y2]).mean() > 30
    # The band shows this nonce: it matches a fresh drawing of it far better than of another.
    same = stamp(shot.image, "N0nce-42", at).image[y1:y2].astype(int)
    other = stamp(shot.image, "N0nce-43", at).image[y1:y2].astype(int)
    seen = decoded[y1:y2].astype(int)
    # Where the two drawings differ (the last digit), the picture shows the real nonce's strokes.
    where = np.any(same != other, axis=2)
    assert where.sum() > 20
    assert np.abs(seen - same)[where].mean() * 3 < np.abs(seen - other)[where].mean()
    assert pack.manifest["nonce"] == "N0nce-42" and pack.clip is None
    assert signature_valid(key.public_b64, canonical(pack.manifest), pack.signature)
    assert pack.manifest["snapshot_sha256"] == sha256_hex(pack.snapshot)
