"""The fixed camera's view of a warehouse floor: bays, their slots and the painted background.

All geometry is normalised (0..1 of the image width and height) so one script renders at any
resolution. The camera looks down the floor from a high mount: bays are painted rectangles,
goods stand in one row of slots per bay, and forklifts and people move along the aisle below.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Point = tuple[float, float]

BAY_TOP = 0.22
BAY_BOTTOM = 0.62
SLOT_BOTTOM = 0.505  # where the bottom edge of goods standing in a slot lies
AISLE_Y = 0.70  # forklift mast line when it drives empty along the aisle
CARRY_Y = 0.82  # mast line when it carries goods: low enough that the load clears every bay
WALL_BOTTOM = 0.14


@dataclass(frozen=True)
class Slot:
    """A place for one unit of goods inside a bay, by the bottom-centre of the goods."""

    bay_id: str
    x: float
    y: float


@dataclass(frozen=True)
class Layout:
    """The bays of one camera view and the slots inside them."""

    bays: dict[str, tuple[Point, ...]]
    slots: tuple[Slot, ...]


def make_layout(rng: np.random.Generator) -> Layout:
    """Two or three bays side by side, with one row of slots each."""
    n_bays = 3 if rng.random() < 0.7 else 2
    per_bay = 3 if n_bays == 3 else 4
    slot_w, pad, gap = 0.095, 0.01, 0.03
    bay_w = per_bay * slot_w + pad
    total = n_bays * bay_w + (n_bays - 1) * gap
    left = (1 - total) / 2 + float(rng.uniform(-0.01, 0.01))
    bays: dict[str, tuple[Point, ...]] = {}
    slots: list[Slot] = []
    for b in range(n_bays):
        bay_id = f"bay-{b + 1}"
        # Rounded so the polygons in the truth file and in memory are the very same numbers.
        x0 = round(left + b * (bay_w + gap), 5)
        x1 = round(x0 + bay_w, 5)
        bays[bay_id] = ((x0, BAY_TOP), (x1, BAY_TOP), (x1, BAY_BOTTOM), (x0, BAY_BOTTOM))
        for s in range(per_bay):
            x = x0 + pad / 2 + (s + 0.5) * slot_w + float(rng.uniform(-0.004, 0.004))
            slots.append(Slot(bay_id, x, SLOT_BOTTOM + float(rng.uniform(-0.015, 0.015))))
    return Layout(bays, tuple(slots))


def paint_background(
    layout: Layout, width: int, height: int, rng: np.random.Generator
) -> np.ndarray:
    """Concrete floor, racking on the back wall, painted bay outlines and aisle lines."""
    base = rng.uniform(105, 150)
    tint = rng.uniform(-8, 8, size=3)
    # Low-frequency blotches make the floor look like worn concrete rather than flat paint.
    coarse = rng.normal(0, 9, size=(max(2, height // 40), max(2, width // 40)))
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    fine = rng.normal(0, 3, size=(height, width, 1))
    floor = np.clip(base + tint + texture + fine, 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(floor)

    wall_h = int(WALL_BOTTOM * height)
    wall = rng.uniform(150, 200)
    img[:wall_h] = np.array([wall * 0.95, wall, wall * 1.02]).clip(0, 255).astype(np.uint8)
    upright = (150, 90, 30)
    beam = (20, 110, 230)
    for x in np.linspace(0.02, 0.98, 7):
        px = int(x * width)
        cv2.rectangle(img, (px - 3, 0), (px + 3, wall_h), upright, -1)
    for y in (0.04, 0.1):
        py = int(y * height)
        cv2.rectangle(img, (0, py - 2), (width, py + 2), beam, -1)
    cv2.line(img, (0, wall_h), (width, wall_h), (60, 60, 60), 2)

    line = max(2, round(width / 240))
    paint = (30, 200, 230)
    for bay_id, poly in layout.bays.items():
        pts = np.array([(x * width, y * height) for x, y in poly], dtype=np.int32)
        cv2.polylines(img, [pts], True, paint, line, cv2.LINE_AA)
        x0, y0 = pts[0]
        cv2.putText(
            img,
            bay_id.upper(),
            (int(x0) + 4, int(y0) + 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * width / 640,
            paint,
            1,
            cv2.LINE_AA,
        )
    walkway = (90, 170, 90)
    for y in (0.655, 0.985):
        py = int(y * height)
        for x in range(0, width, 24):
            cv2.line(img, (x, py), (x + 14, py), walkway, line)
    return img
