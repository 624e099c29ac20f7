"""A cheap motion gate: frame differencing on a small grey copy, giving the changed regions."""

from __future__ import annotations

import cv2
import numpy as np

from vision.stages import Box, Frame, Image


def grey_copy(image: Image, width: int) -> Image:
    """A grey copy `width` pixels wide, area-averaged (shrunk first: converting is then cheap)."""
    h, w = image.shape[:2]
    height = max(1, round(h * width / w))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return np.asarray(grey, dtype=np.uint8)


def blurred(grey: Image) -> Image:
    """The grey copy softened, so sensor noise does not pass for change."""
    return np.asarray(cv2.GaussianBlur(grey, (5, 5), 0), dtype=np.uint8)


def small_grey(image: Image, width: int) -> Image:
    """A blurred grey copy `width` pixels wide: what the cheap checks look at."""
    return blurred(grey_copy(image, width))


class FrameDifferenceGate:
    """Changed regions between consecutive analysed frames, blind to uniform lighting drift."""

    def __init__(self, width: int = 320, threshold: int = 18, min_area: float = 0.0008) -> None:
        self.width = width
        self.threshold = threshold
        self.min_area = min_area
        self._previous: Image | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))

    def reset(self) -> None:
        """Forget the previous frame (after a reconnect the next frame is a new scene)."""
        self._previous = None

    def changed(self, frame: Frame) -> list[Box]:
        """Regions that changed since the previous call; the whole frame on the first call."""
        return self.changed_in(small_grey(frame.image, self.width))

    def changed_in(self, grey: Image) -> list[Box]:
        """The same, for a frame already made small, grey and blurred by the caller."""
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return [Box(0.0, 0.0, 1.0, 1.0)]
        # Slow lighting drift shifts every pixel alike: take the overall shift out first.
        shift = cv2.mean(grey)[0] - cv2.mean(previous)[0]
        level = np.full_like(previous, round(abs(shift)))
        adjusted = cv2.add(previous, level) if shift > 0 else cv2.subtract(previous, level)
        diff = cv2.absdiff(grey, adjusted)
        _, mask = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        if not cv2.countNonZero(mask):
            return []  # the usual case on a quiet bay: no need to look for regions
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask)
        h, w = grey.shape
        min_pixels = self.min_area * w * h
        regions = []
        for x, y, bw, bh, area in stats[1:count]:
            if area < min_pixels:
                continue
            regions.append(Box(x / w, y / h, (x + bw) / w, (y + bh) / h))
        return regions
