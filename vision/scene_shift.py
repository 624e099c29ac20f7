"""How far the scene has shifted against a reference view: ORB features and a RANSAC fit.

Features matched between the reference and the current picture vote for one similarity
transform (shift, rotation, scale); RANSAC keeps the majority, so goods or a forklift moving
in part of the picture do not pass for a camera that moved, while a turned camera shifts
every feature alike. Brightness changes leave ORB's binary tests largely intact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.stages import Image

MIN_MATCHES = 12


@dataclass(frozen=True)
class Shift:
    """The fitted motion: centre displacement as a share of the width, and the inlier share."""

    displacement: float
    inliers: float  # share of the reference's features that agree with the fit
    recognised: bool  # enough features agreed to trust the fit at all


class SceneShiftMeter:
    """Compares pictures of one size with a reference picture taken once."""

    def __init__(self, features: int = 200) -> None:
        # Three pyramid levels: a moved camera shifts, it does not zoom much.
        self._orb = cv2.ORB.create(nfeatures=features, nlevels=3, fastThreshold=12)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self._ref_points: np.ndarray | None = None
        self._ref_desc: np.ndarray | None = None
        self._shape: tuple[int, ...] = ()

    @property
    def ready(self) -> bool:
        """Whether a reference with enough features has been set."""
        return self._ref_desc is not None

    def set_reference(self, grey: Image) -> bool:
        """Take this picture as the reference; False when it has too few features to use."""
        keypoints, desc = self._orb.detectAndCompute(grey, None)
        if desc is None or len(keypoints) < MIN_MATCHES:
            return False
        self._ref_points = np.array([k.pt for k in keypoints], dtype=np.float32)
        self._ref_desc = desc
        self._shape = grey.shape
        return True

    def measure(self, grey: Image) -> Shift:
        """The scene's shift against the reference."""
        if self._ref_desc is None or self._ref_points is None or grey.shape != self._shape:
            return Shift(0.0, 1.0, True)
        keypoints, desc = self._orb.detectAndCompute(grey, None)
        if desc is None or len(keypoints) < MIN_MATCHES:
            return Shift(0.0, 0.0, False)
        matches = self._matcher.match(self._ref_desc, desc)
        if len(matches) < MIN_MATCHES:
            return Shift(0.0, 0.0, False)
        src = self._ref_points[[m.queryIdx for m in matches]]
        dst = np.array([keypoints[m.trainIdx].pt for m in matches], dtype=np.float32)
        fit, mask = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        if fit is None or mask is None:
            return Shift(0.0, 0.0, False)
        agree = int(mask.sum())
        share = agree / len(self._ref_points)
        h, w = self._shape[:2]
        centre = np.array([w / 2, h / 2, 1.0])
        moved_to = fit @ centre
        displacement = float(np.hypot(moved_to[0] - w / 2, moved_to[1] - h / 2)) / w
        return Shift(displacement, share, agree >= MIN_MATCHES)
