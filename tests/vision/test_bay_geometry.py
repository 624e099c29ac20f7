"""Bay geometry: points and boxes against polygons, in normalised coordinates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.stages import Box
from vision.zones import (
    box_in_bay,
    clip_to_box,
    iou,
    overlap_fraction,
    point_in_polygon,
    polygon_area,
    polygon_bounds,
)

SQUARE = [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]
L_SHAPE = [(0.0, 0.0), (0.6, 0.0), (0.6, 0.2), (0.2, 0.2), (0.2, 0.6), (0.0, 0.6)]


def test_points_inside_outside_and_on_the_edge() -> None:
    assert point_in_polygon((0.4, 0.4), SQUARE)
    assert not point_in_polygon((0.7, 0.4), SQUARE)
    assert point_in_polygon((0.2, 0.4), SQUARE)  # on an edge counts as inside
    assert point_in_polygon((0.1, 0.5), L_SHAPE)
    assert not point_in_polygon((0.4, 0.4), L_SHAPE)  # in the notch of a concave bay


def test_area_and_bounds() -> None:
    assert polygon_area(SQUARE) == pytest.approx(0.16)
    assert polygon_area(L_SHAPE) == pytest.approx(0.6 * 0.2 + 0.2 * 0.4)
    assert polygon_bounds(L_SHAPE) == Box(0.0, 0.0, 0.6, 0.6)


def test_a_box_belongs_to_a_bay_by_its_centre_or_by_its_share_inside() -> None:
    straddling = Box(0.5, 0.3, 0.8, 0.5)  # centre (0.65, 0.4) is outside, a third is inside
    assert not box_in_bay(straddling, SQUARE, "centre")
    assert overlap_fraction(straddling, SQUARE) == pytest.approx(1 / 3)
    assert box_in_bay(straddling, SQUARE, "overlap", min_overlap=0.3)
    assert not box_in_bay(straddling, SQUARE, "overlap", min_overlap=0.5)
    with pytest.raises(ValueError):
        box_in_bay(straddling, SQUARE, "nearest")


def test_clipping_a_concave_bay_to_a_box_keeps_only_the_part_inside() -> None:
    part = clip_to_box(L_SHAPE, Box(0.1, 0.1, 0.3, 0.3))
    # Inside the box the L covers everything but the quarter x>0.2, y>0.2.
    assert polygon_area(part) == pytest.approx(0.04 - 0.01)


def test_iou_of_identical_disjoint_and_half_shifted_boxes() -> None:
    a = Box(0, 0, 0.2, 0.2)
    assert iou(a, a) == pytest.approx(1.0)
    assert iou(a, Box(0.5, 0.5, 0.6, 0.6)) == 0.0
    assert iou(a, Box(0.1, 0, 0.3, 0.2)) == pytest.approx(1 / 3)


coords = st.floats(0.0, 1.0, allow_nan=False)


@given(coords, coords, coords, coords)
def test_the_share_of_a_box_inside_a_bay_is_between_zero_and_one(
    x1: float, y1: float, w: float, h: float
) -> None:
    box = Box(x1 * 0.8, y1 * 0.8, x1 * 0.8 + 0.01 + w * 0.19, y1 * 0.8 + 0.01 + h * 0.19)
    share = overlap_fraction(box, L_SHAPE)
    assert -1e-9 <= share <= 1 + 1e-9
    if share == pytest.approx(1.0):
        assert point_in_polygon(box.centre, L_SHAPE)
