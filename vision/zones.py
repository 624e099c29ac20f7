"""Bay geometry in normalised image coordinates: pure functions, no image library."""

from __future__ import annotations

from collections.abc import Sequence

from vision.stages import Box

Point = tuple[float, float]


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Whether a point lies inside a polygon (even-odd rule; edges count as inside)."""
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if _on_segment(point, (x1, y1), (x2, y2)):
            return True
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside


def _on_segment(p: Point, a: Point, b: Point, eps: float = 1e-12) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if abs(cross) > eps:
        return False
    return min(a[0], b[0]) - eps <= p[0] <= max(a[0], b[0]) + eps and (
        min(a[1], b[1]) - eps <= p[1] <= max(a[1], b[1]) + eps
    )


def polygon_area(polygon: Sequence[Point]) -> float:
    """The polygon's area (shoelace formula; orientation does not matter)."""
    n = len(polygon)
    twice = 0.0
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2


def polygon_bounds(polygon: Sequence[Point]) -> Box:
    """The smallest box around a polygon."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return Box(min(xs), min(ys), max(xs), max(ys))


def clip_to_box(polygon: Sequence[Point], box: Box) -> list[Point]:
    """The part of a polygon inside a box (Sutherland-Hodgman against the box's four edges)."""
    # Each edge of the box: which coordinate, the limit, and whether inside is above it.
    edges = ((0, box.x1, True), (0, box.x2, False), (1, box.y1, True), (1, box.y2, False))
    out = list(polygon)
    for axis, limit, above in edges:
        if not out:
            break
        src, out = out, []
        for i, cur in enumerate(src):
            prev = src[i - 1]
            cur_in = _inside(cur, axis, limit, above)
            prev_in = _inside(prev, axis, limit, above)
            if cur_in:
                if not prev_in:
                    out.append(_cross(prev, cur, axis, limit))
                out.append(cur)
            elif prev_in:
                out.append(_cross(prev, cur, axis, limit))
    return out


def _inside(p: Point, axis: int, limit: float, above: bool) -> bool:
    return p[axis] >= limit if above else p[axis] <= limit


def _cross(a: Point, b: Point, axis: int, limit: float) -> Point:
    """Where segment a-b crosses the line coordinate[axis] == limit."""
    t = (limit - a[axis]) / (b[axis] - a[axis])
    if axis == 0:
        return (limit, a[1] + t * (b[1] - a[1]))
    return (a[0] + t * (b[0] - a[0]), limit)


def box_area(box: Box) -> float:
    """A box's area (zero for a degenerate box)."""
    return max(0.0, box.x2 - box.x1) * max(0.0, box.y2 - box.y1)


def overlap_fraction(box: Box, polygon: Sequence[Point]) -> float:
    """The share of the box's area that lies inside the polygon."""
    area = box_area(box)
    if area <= 0:
        return 0.0
    return polygon_area(clip_to_box(polygon, box)) / area


def box_in_bay(
    box: Box, polygon: Sequence[Point], rule: str = "centre", min_overlap: float = 0.5
) -> bool:
    """Whether a box belongs to a bay: by its centre point, or by the share of it inside."""
    if rule == "centre":
        return point_in_polygon(box.centre, polygon)
    if rule == "overlap":
        return overlap_fraction(box, polygon) >= min_overlap
    raise ValueError(f"unknown bay rule {rule!r}: use 'centre' or 'overlap'")


def boxes_intersect(a: Box, b: Box) -> bool:
    """Whether two boxes share any area."""
    return a.x1 < b.x2 and b.x1 < a.x2 and a.y1 < b.y2 and b.y1 < a.y2


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0
