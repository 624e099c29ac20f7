"""Reading synth clips back: truth documents, decoded frames and ArUco markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision.synth import SynthClip

SEED = 3


def load_truth(clip: SynthClip) -> dict[str, Any]:
    """The clip's truth document."""
    return json.loads(clip.truth.read_text())


def read_frames(video: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from the video."""
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened(), f"cannot open {video}"
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def decode_markers(image: np.ndarray) -> dict[str, tuple[float, float]]:
    """ArUco identities found in the image, with their centres normalised to its size."""
    detector = cv2.aruco.ArucoDetector(
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), cv2.aruco.DetectorParameters()
    )
    corners, ids, _ = detector.detectMarkers(image)
    h, w = image.shape[:2]
    found = {}
    for quad, marker in zip(corners, [] if ids is None else ids.ravel(), strict=True):
        cx, cy = quad.reshape(-1, 2).mean(axis=0)
        found[f"aruco:{int(marker)}"] = (float(cx) / w, float(cy) / h)
    return found


def inside(point: tuple[float, float], polygon: list[list[float]]) -> bool:
    """Whether a normalised point lies inside a normalised polygon."""
    contour = np.array(polygon, np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, point, False) >= 0
