"""Drawing bays, counts, detections and identities onto a frame for people to look at."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vision.stages import BayView, Image, Track

GOODS = (60, 200, 60)
OTHER = (0, 160, 255)
BAY = (255, 200, 0)


def annotate(image: Image, bays: Sequence[BayView], tracks: Sequence[Track]) -> Image:
    """A copy of the image with bay outlines and counts, boxes, labels and ids."""
    out = image.copy()
    h, w = out.shape[:2]
    for bay in bays:
        pts = np.array([[round(x * w), round(y * h)] for x, y in bay.polygon], np.int32)
        cv2.polylines(out, [pts], True, BAY, 2)
        x, y = pts.min(axis=0)
        _label(out, f"{bay.bay_id}: {bay.count}", (int(x) + 3, int(y) + 16), BAY)
    for track in tracks:
        det = track.detection
        box = det.box
        p1 = (round(box.x1 * w), round(box.y1 * h))
        p2 = (round(box.x2 * w), round(box.y2 * h))
        colour = OTHER if det.label in ("person", "forklift") else GOODS
        cv2.rectangle(out, p1, p2, colour, 2)
        text = f"#{track.track_id} {det.label} {det.confidence:.2f}"
        if det.identity:
            text += f" {det.identity}"
        _label(out, text, (p1[0], max(12, p1[1] - 4)), colour)
    return out


def _label(image: Image, text: str, at: tuple[int, int], colour: tuple[int, int, int]) -> None:
    # A dark outline keeps the text readable on any background.
    cv2.putText(image, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
