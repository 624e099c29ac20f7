"""Live checks: a fresh snapshot with the bank's nonce drawn into it, signed by the worker.

A replayed recording cannot show a nonce the bank chose a moment ago, so a signed picture
carrying it proves the camera is live now. The nonce and the time are drawn on a dark band at the
bottom of the latest frame; the band is returned so a checker can look at exactly that region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from vision.evidence import EvidencePack, encode_jpeg, seal
from vision.signing import WorkerKey
from vision.stages import Frame, Image

# Nonces are drawn as text: keep them to characters the Hershey font draws.
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{4,64}$")
BAND_SHARE = 0.14  # of the picture's height


@dataclass(frozen=True)
class Stamped:
    """A frame with the nonce drawn in, and where (pixel rows/columns of the band)."""

    image: Image
    band: tuple[int, int, int, int]  # x1, y1, x2, y2


def valid_nonce(nonce: str) -> bool:
    """Whether a nonce can be drawn legibly: 4-64 letters, digits or . _ : -."""
    return bool(NONCE_PATTERN.match(nonce))


def stamp(image: Image, nonce: str, at: datetime) -> Stamped:
    """Draw the nonce and the UTC time on a dark band along the bottom of a copy of `image`."""
    if not valid_nonce(nonce):
        raise ValueError("a nonce is 4-64 letters, digits, '.', '_', ':' or '-'")
    out = np.ascontiguousarray(image.copy())
    height, width = out.shape[:2]
    band_h = max(24, int(height * BAND_SHARE))
    y1 = height - band_h
    cv2.rectangle(out, (0, y1), (width - 1, height - 1), (16, 16, 16), thickness=-1)
    text = f"LIVE {nonce}  {at.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    # Scale the text to the band and the width, so a long nonce still fits on one line.
    scale = band_h / 40.0
    (text_w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if text_w > width - 8:
        scale *= (width - 8) / text_w
    thickness = max(1, round(scale * 1.5))
    baseline_y = height - max(6, band_h // 3)
    cv2.putText(
        out,
        text,
        (4, baseline_y),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return Stamped(out, (0, y1, width, height))


def live_snapshot(
    key: WorkerKey, frame: Frame, *, nonce: str, bay_id: str, check_id: str, at: datetime
) -> tuple[EvidencePack, Stamped]:
    """The signed evidence of a live check: the stamped frame as snapshot (no clip)."""
    stamped = stamp(frame.image, nonce, at)
    pack = seal(
        key,
        kind="live_check",
        camera_id=frame.camera_id,
        bay_id=bay_id,
        at=at,
        snapshot=encode_jpeg(stamped.image),
        clip=None,
        extra={
            "nonce": nonce,
            "live_check_id": check_id,
            "frame_at": frame.at.isoformat(),
            "frame_index": frame.index,
        },
    )
    return pack, stamped
