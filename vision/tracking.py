"""A small IoU tracker that keeps ids (and marker identities) across detector runs.

Why our own: the maintained ByteTrack lives in Roboflow's `trackers` package, which declares
the OpenCV GUI wheel (it would clash with opencv-python-headless) and `supervision` pulls
scipy, PyAV and matplotlib (~360 MB) into the camera service. Our detector runs at most a few
times per second on goods that mostly stand still, so greedy IoU matching per class with a
short memory is enough, and it carries a marker identity over frames where the marker is not
readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.stages import Detection, Track


@dataclass
class _Live:
    track_id: int
    detection: Detection
    age: int
    missed: int
    identity: str | None


def iou_matrix(a: Sequence[Detection], b: Sequence[Detection]) -> np.ndarray:
    """Pairwise IoU of two lists of detections (len(a) x len(b))."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    ba = np.array([[d.box.x1, d.box.y1, d.box.x2, d.box.y2] for d in a], dtype=np.float32)
    bb = np.array([[d.box.x1, d.box.y1, d.box.x2, d.box.y2] for d in b], dtype=np.float32)
    ix1 = np.maximum(ba[:, None, 0], bb[None, :, 0])
    iy1 = np.maximum(ba[:, None, 1], bb[None, :, 1])
    ix2 = np.minimum(ba[:, None, 2], bb[None, :, 2])
    iy2 = np.minimum(ba[:, None, 3], bb[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (ba[:, 2] - ba[:, 0]) * (ba[:, 3] - ba[:, 1])
    area_b = (bb[:, 2] - bb[:, 0]) * (bb[:, 3] - bb[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


class IouTracker:
    """Greedy IoU association per label; tracks survive `max_missed` updates unmatched."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 3) -> None:
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self._live: list[_Live] = []
        self._next_id = 1

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """Match this run's detections to live tracks; return the tracks seen in this run."""
        prior = [t.detection for t in self._live]
        scores = iou_matrix(prior, detections)
        for i, t in enumerate(self._live):
            for j, d in enumerate(detections):
                if t.detection.label != d.label:
                    scores[i, j] = 0.0
        matched_tracks: set[int] = set()
        matched_dets: dict[int, _Live] = {}
        if scores.size:
            for flat in np.argsort(-scores, axis=None):
                i, j = divmod(int(flat), scores.shape[1])
                if scores[i, j] < self.iou_threshold:
                    break
                if i in matched_tracks or j in matched_dets:
                    continue
                matched_tracks.add(i)
                matched_dets[j] = self._live[i]
        out: list[Track] = []
        survivors: list[_Live] = []
        for i, t in enumerate(self._live):
            if i not in matched_tracks:
                t.missed += 1
                if t.missed <= self.max_missed:
                    survivors.append(t)
        for j, det in enumerate(detections):
            live = matched_dets.get(j)
            if live is None:
                live = _Live(self._next_id, det, 0, 0, det.identity)
                self._next_id += 1
            else:
                live.age += 1
                live.missed = 0
                live.identity = det.identity or live.identity
            identity = det.identity or live.identity
            live.detection = Detection(det.label, det.box, det.confidence, identity)
            survivors.append(live)
            out.append(Track(live.track_id, live.detection, live.age))
        self._live = survivors
        return out
