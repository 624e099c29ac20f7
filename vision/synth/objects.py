"""What moves and stands in the scene, drawn as sprites: goods, forklifts and people.

A Look says what an object is and how it is coloured, in normalised sizes; a Sprite is that
look drawn at one resolution, with a mask and an anchor point (the spot that follows a path).
Goods anchor at their bottom centre, forklifts at the centre of the mast line where the load
sits, people at their feet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

GOODS = ("pallet", "coil", "box")
MARKER_DICT = cv2.aruco.DICT_4X4_50
MARKER_SIZE = 0.06  # of the image width: ~38 px at 640, readable after noise and encoding
FORK_LEN = 0.07  # of the image height
FORKLIFT_BODY = 0.16


@dataclass(frozen=True)
class Look:
    """An object's kind, normalised size, colour and optional ArUco marker id."""

    kind: str
    w: float
    h: float
    colour: tuple[int, int, int]
    marker_id: int | None = None
    variant: int = 0


@dataclass(frozen=True)
class Sprite:
    """A drawn object: BGR pixels, where it is opaque, and its anchor inside the picture."""

    image: np.ndarray
    mask: np.ndarray
    ax: int
    ay: int


def goods_look(kind: str, rng: np.random.Generator, marker_id: int | None) -> Look:
    """A random but plausible look for goods of the given kind."""
    if kind == "pallet":
        w, h = rng.uniform(0.08, 0.088), rng.uniform(0.16, 0.185)
        colour = tuple(int(c) for c in rng.uniform([80, 140, 170], [130, 185, 215]))
    elif kind == "coil":
        w = rng.uniform(0.075, 0.086)
        h = w * 16 / 9 * rng.uniform(1.05, 1.15)
        grey = rng.uniform(120, 190)
        colour = (int(grey + 8), int(grey + 4), int(grey))
    else:
        w, h = rng.uniform(0.07, 0.076), rng.uniform(0.14, 0.155)
        colour = tuple(int(c) for c in rng.uniform([60, 110, 150], [100, 150, 200]))
    return Look(kind, float(w), float(h), colour, marker_id, int(rng.integers(1 << 16)))  # type: ignore[arg-type]


def vehicle_look(kind: str, rng: np.random.Generator) -> Look:
    """A forklift or a person in one of a few work colours."""
    if kind == "forklift":
        colour = [(0, 190, 240), (0, 120, 240), (40, 40, 200), (60, 160, 60)][int(rng.integers(4))]
        return Look(
            "forklift", 0.09, FORKLIFT_BODY + FORK_LEN, colour, None, int(rng.integers(1 << 16))
        )
    vest = [(0, 220, 255), (0, 140, 255), (60, 230, 160)][int(rng.integers(3))]
    return Look("person", 0.045, rng.uniform(0.24, 0.28), vest, None, int(rng.integers(1 << 16)))


@cache
def marker_image(marker_id: int, size: int) -> np.ndarray:
    """The ArUco marker with a white quiet zone, as a BGR square of the given size."""
    quiet = max(3, size // 10)
    inner = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(MARKER_DICT), marker_id, size - 2 * quiet
    )
    label = np.full((size, size), 250, np.uint8)
    label[quiet : size - quiet, quiet : size - quiet] = inner
    return cv2.cvtColor(label, cv2.COLOR_GRAY2BGR)


def _shade(colour: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * f))) for c in colour)  # type: ignore[return-value]


def _canvas(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8)


def _stick_marker(img: np.ndarray, look: Look, width: int, cx: int, cy: int) -> None:
    if look.marker_id is None:
        return
    m = marker_image(look.marker_id, max(16, round(MARKER_SIZE * width)))
    s = m.shape[0]
    x0 = min(max(0, cx - s // 2), img.shape[1] - s)
    y0 = min(max(0, cy - s // 2), img.shape[0] - s)
    img[y0 : y0 + s, x0 : x0 + s] = m


def _pallet(look: Look, w: int, h: int, width: int) -> Sprite:
    img, mask = _canvas(w, h)
    rng = np.random.default_rng(look.variant)
    base_h = max(4, h // 6)
    wood = (60, 105, 150)
    cv2.rectangle(img, (0, h - base_h), (w - 1, h - 1), wood, -1)
    for bx in (0, w // 2 - base_h // 2, w - base_h):  # the dark gaps between the pallet blocks
        gap_x = bx + base_h
        cv2.rectangle(
            img, (gap_x, h - base_h + 2), (gap_x + max(2, w // 6), h - 2), (30, 45, 60), -1
        )
    load = look.colour
    inset = max(1, w // 20)
    cv2.rectangle(img, (inset, 0), (w - 1 - inset, h - base_h), load, -1)
    top_h = h // 5
    cv2.rectangle(img, (inset, 0), (w - 1 - inset, top_h), _shade(load, 1.15), -1)
    cols, rows = 2, int(rng.integers(2, 4))
    for c in range(1, cols):
        x = inset + c * (w - 2 * inset) // cols
        cv2.line(img, (x, top_h), (x, h - base_h), _shade(load, 0.7), 1)
    for r in range(1, rows):
        y = top_h + r * (h - base_h - top_h) // rows
        cv2.line(img, (inset, y), (w - 1 - inset, y), _shade(load, 0.7), 1)
    # Shrink wrap: pale diagonal glints across the load.
    for _ in range(3):
        x = int(rng.integers(0, w))
        cv2.line(img, (x, 0), (x - w // 2, h - base_h), _shade(load, 1.3), 1, cv2.LINE_AA)
    cv2.rectangle(img, (inset, 0), (w - 1 - inset, h - base_h), _shade(load, 0.55), 1)
    mask[: h - base_h + 1, inset : w - inset] = 255
    mask[h - base_h :, :] = 255
    _stick_marker(img, look, width, w // 2, (top_h + h - base_h) // 2)
    return Sprite(img, mask, w // 2, h - 1)


def _coil(look: Look, w: int, h: int, width: int) -> Sprite:
    img, mask = _canvas(w, h)
    chock_h = max(4, h // 8)
    r = min(w // 2, (h - chock_h) // 2)
    cx, cy = w // 2, h - chock_h - r
    steel = look.colour
    cv2.rectangle(img, (w // 8, h - chock_h), (w - 1 - w // 8, h - 1), (40, 70, 110), -1)
    cv2.rectangle(mask, (w // 8, h - chock_h), (w - 1 - w // 8, h - 1), 255, -1)
    cv2.circle(img, (cx, cy), r, _shade(steel, 0.75), -1, cv2.LINE_AA)
    cv2.circle(mask, (cx, cy), r, 255, -1)
    for k, ring in enumerate(np.linspace(r * 0.92, r * 0.42, 6)):
        cv2.circle(img, (cx, cy), int(ring), _shade(steel, 0.9 + 0.1 * (k % 2)), 1, cv2.LINE_AA)
    cv2.circle(img, (cx, cy), int(r * 0.35), (35, 35, 40), -1, cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy), (int(r * 0.8), int(r * 0.8)), 0, 200, 250, _shade(steel, 1.4), 2)
    cv2.line(img, (cx - r // 3, cy - r), (cx - r // 3, cy + r), (30, 90, 200), 2)  # strapping
    _stick_marker(img, look, width, cx, cy)
    return Sprite(img, mask, w // 2, h - 1)


def _box(look: Look, w: int, h: int, width: int) -> Sprite:
    img, mask = _canvas(w, h)
    card = look.colour
    top_h = h // 3
    img[:, :] = card
    mask[:, :] = 255
    cv2.rectangle(img, (0, 0), (w - 1, top_h), _shade(card, 1.18), -1)
    cv2.rectangle(
        img, (w // 2 - max(2, w // 12), 0), (w // 2 + max(2, w // 12), h - 1), (150, 175, 190), -1
    )
    cv2.line(img, (0, top_h), (w - 1, top_h), _shade(card, 0.6), 1)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), _shade(card, 0.5), 1)
    # "This way up" arrows on the front face.
    for ax in (w // 5, w - w // 5):
        cv2.arrowedLine(img, (ax, h - 4), (ax, h - max(8, h // 4)), (20, 20, 20), 1, tipLength=0.4)
    _stick_marker(img, look, width, w // 2, (top_h + h) // 2)
    return Sprite(img, mask, w // 2, h - 1)


def _forklift(look: Look, w: int, h: int, width: int, height: int) -> Sprite:
    img, mask = _canvas(w, h)
    fork = round(FORK_LEN * height)
    body = look.colour
    tine_w = max(3, w // 9)
    for tx in (w // 4, 3 * w // 4 - tine_w):
        cv2.rectangle(img, (tx, 0), (tx + tine_w, fork), (70, 70, 75), -1)
        cv2.rectangle(mask, (tx, 0), (tx + tine_w, fork), 255, -1)
    wheel_w, wheel_h = max(4, w // 8), max(8, (h - fork) // 4)
    for wy in (fork + 4, h - wheel_h - 4):
        for wx in (0, w - wheel_w):
            cv2.rectangle(img, (wx, wy), (wx + wheel_w, wy + wheel_h), (20, 20, 20), -1)
            cv2.rectangle(mask, (wx, wy), (wx + wheel_w, wy + wheel_h), 255, -1)
    cv2.rectangle(img, (wheel_w // 2, fork), (w - 1 - wheel_w // 2, h - 1), body, -1)
    cv2.rectangle(mask, (wheel_w // 2, fork), (w - 1 - wheel_w // 2, h - 1), 255, -1)
    cv2.rectangle(
        img, (wheel_w // 2, fork), (w - 1 - wheel_w // 2, fork + max(4, h // 16)), (40, 40, 45), -1
    )
    guard = (w // 4, fork + (h - fork) // 4, 3 * w // 4, fork + 3 * (h - fork) // 4)
    cv2.rectangle(img, guard[:2], guard[2:], (35, 35, 35), 2)
    cv2.line(img, guard[:2], guard[2:], (35, 35, 35), 1)
    cv2.line(img, (guard[0], guard[3]), (guard[2], guard[1]), (35, 35, 35), 1)
    head = ((guard[0] + guard[2]) // 2, (guard[1] + guard[3]) // 2)
    cv2.circle(img, head, max(3, w // 9), (0, 220, 250), -1, cv2.LINE_AA)
    cv2.rectangle(
        img,
        (wheel_w // 2, h - (h - fork) // 5),
        (w - 1 - wheel_w // 2, h - 1),
        _shade(body, 0.55),
        -1,
    )
    return Sprite(img, mask, w // 2, fork)


def _person(look: Look, w: int, h: int, phase: int) -> Sprite:
    img, mask = _canvas(w, h)
    rng = np.random.default_rng(look.variant)
    skin = [(90, 130, 190), (60, 90, 140), (150, 180, 220)][int(rng.integers(3))]
    trousers = [(60, 40, 30), (40, 40, 40), (110, 80, 40)][int(rng.integers(3))]
    helmet = [(250, 250, 250), (0, 210, 255), (200, 120, 30)][int(rng.integers(3))]
    cx = w // 2
    head_r = max(3, h // 14)
    leg_top = int(h * 0.55)
    swing = [-1, 0, 1, 0][phase % 4] * (w // 4)
    for sign in (-1, 1):
        foot = (cx + sign * swing, h - 2)
        cv2.line(img, (cx + sign * (w // 8), leg_top), foot, trousers, max(3, w // 5))
        cv2.line(mask, (cx + sign * (w // 8), leg_top), foot, 255, max(3, w // 5))
    torso = (cx - w // 3, int(h * 0.2), cx + w // 3, leg_top + 2)
    cv2.rectangle(img, torso[:2], torso[2:], look.colour, -1)
    cv2.rectangle(mask, torso[:2], torso[2:], 255, -1)
    for y in (int(h * 0.33), int(h * 0.45)):
        cv2.line(img, (torso[0], y), (torso[2], y), (190, 190, 190), 2)
    for sign in (-1, 1):
        hand = (cx + sign * (w // 2 - 1), int(h * 0.5) - sign * swing // 2)
        cv2.line(img, (cx + sign * (w // 3), int(h * 0.22)), hand, look.colour, max(2, w // 8))
        cv2.line(mask, (cx + sign * (w // 3), int(h * 0.22)), hand, 255, max(2, w // 8))
    cv2.circle(img, (cx, int(h * 0.2) - head_r), head_r, skin, -1, cv2.LINE_AA)
    cv2.circle(mask, (cx, int(h * 0.2) - head_r), head_r, 255, -1)
    cv2.ellipse(img, (cx, int(h * 0.2) - head_r - 1), (head_r + 1, head_r), 0, 180, 360, helmet, -1)
    cv2.ellipse(mask, (cx, int(h * 0.2) - head_r - 1), (head_r + 1, head_r), 0, 180, 360, 255, -1)
    return Sprite(img, mask, cx, h - 1)


def draw(look: Look, width: int, height: int, phase: int = 0) -> Sprite:
    """The look drawn for an image of the given size; phase animates a person's stride."""
    w = max(6, round(look.w * width))
    h = max(6, round(look.h * height))
    if look.kind == "pallet":
        return _pallet(look, w, h, width)
    if look.kind == "coil":
        return _coil(look, w, h, width)
    if look.kind == "box":
        return _box(look, w, h, width)
    if look.kind == "forklift":
        return _forklift(look, w, h, width, height)
    return _person(look, w, h, phase)


def paste(
    frame: np.ndarray, sprite: Sprite, x: float, y: float
) -> tuple[int, int, int, int] | None:
    """Draw the sprite with its anchor at pixel (x, y); its pixel box, or None when off-frame."""
    sh, sw = sprite.mask.shape
    x0, y0 = round(x) - sprite.ax, round(y) - sprite.ay
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + sw), min(frame.shape[0], y0 + sh)
    if fx0 >= fx1 or fy0 >= fy1:
        return None
    roi = frame[fy0:fy1, fx0:fx1]
    m = sprite.mask[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(bool)
    roi[m] = sprite.image[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0][m]
    return (x0, y0, x0 + sw, y0 + sh)
