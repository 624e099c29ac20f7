"""ArUco marker reader: finds DICT_4X4_50 markers and names them "aruco:<id>"."""

from __future__ import annotations

import cv2
import numpy as np

from vision.stages import Box, Detection, Image

MARKER_LABEL = "marker"


def marker_identity(marker_id: int) -> str:
    """The identity string a marker gives the goods it is stuck on."""
    return f"aruco:{marker_id}"


class MarkerDetector:
    """Reads ArUco markers (DICT_4X4_50) as detections carrying an identity."""

    def __init__(self, label: str = MARKER_LABEL) -> None:
        dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
        params = cv2.aruco.DetectorParameters()
        self._detector = cv2.aruco.ArucoDetector(dictionary, params)
        self.label = label

    def detect(self, image: Image) -> list[Detection]:
        """One detection per marker read, boxed around its corners."""
        h, w = image.shape[:2]
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        corners, ids, _rejected = self._detector.detectMarkers(grey)
        if ids is None:
            return []
        found = []
        for quad, marker_id in zip(corners, ids.flatten(), strict=True):
            pts = np.asarray(quad, dtype=np.float32).reshape(-1, 2)
            x1, y1 = pts.min(axis=0)
            x2, y2 = pts.max(axis=0)
            box = Box(float(x1) / w, float(y1) / h, float(x2) / w, float(y2) / h)
            found.append(Detection(self.label, box, 1.0, marker_identity(int(marker_id))))
        return found
