"""Runs the object detector and the marker reader together and marries their results."""

from __future__ import annotations

from collections.abc import Sequence

from vision.stages import Box, Detection, Detector, Image
from vision.zones import box_area, iou, point_in_polygon


def _box_corners(box: Box) -> list[tuple[float, float]]:
    return [(box.x1, box.y1), (box.x2, box.y1), (box.x2, box.y2), (box.x1, box.y2)]


def attach_identities(
    objects: Sequence[Detection], markers: Sequence[Detection], goods_labels: Sequence[str]
) -> list[Detection]:
    """Give each goods box the identity of the marker whose centre it holds (smallest box wins).

    Markers inside no goods box are kept as detections of their own, so goods carrying a marker
    are still counted when the object detector misses them.
    """
    out = list(objects)
    for marker in markers:
        holders = [
            i
            for i, det in enumerate(out)
            if det.label in goods_labels
            and det.identity is None
            and point_in_polygon(marker.box.centre, _box_corners(det.box))
        ]
        if not holders:
            out.append(marker)
            continue
        best = min(holders, key=lambda i: box_area(out[i].box))
        held = out[best]
        out[best] = Detection(held.label, held.box, held.confidence, marker.identity)
    return out


def merge_goods(
    detections: Sequence[Detection], goods_labels: Sequence[str], iou_threshold: float = 0.6
) -> list[Detection]:
    """One detection per physical unit: goods boxes of different classes over the same spot
    (a crate seen as both "box" and "pallet") collapse into the most confident one."""
    goods = sorted((d for d in detections if d.label in goods_labels), key=lambda d: -d.confidence)
    kept: list[Detection] = []
    for det in goods:
        if all(iou(det.box, k.box) <= iou_threshold for k in kept):
            kept.append(det)
    return kept + [d for d in detections if d.label not in goods_labels]


class CompositeDetector:
    """An object detector (optional) plus a marker reader (optional), as one detector.

    Markers are read over the whole frame: one inside a goods box names it, and one on
    goods the object detector missed still stands for a unit (a printed marker is firmer
    evidence of goods than a low score), so the two readers cover for each other.
    """

    def __init__(
        self,
        objects: Detector | None,
        markers: Detector | None,
        goods_labels: Sequence[str] = ("pallet", "coil", "box"),
    ) -> None:
        self.objects = objects
        self.markers = markers
        self.goods_labels = tuple(goods_labels)

    def detect(self, image: Image) -> list[Detection]:
        """Object detections with marker identities attached, plus markers found on nothing."""
        objects = self.objects.detect(image) if self.objects else []
        objects = merge_goods(objects, self.goods_labels)
        markers = self.markers.detect(image) if self.markers else []
        return attach_identities(objects, markers, self.goods_labels)
