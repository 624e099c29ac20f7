"""Ground truth of a clip, read from its script at the clip's frame times.

A removal becomes a fact at the first frame in which the goods have fully left their bay's
polygon; an addition at the first frame in which they lie fully inside it. A tamper episode
becomes a fact when it is fully in place; signal loss at the first frame that never comes.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from vision.synth.script import Actor, Script

INSIDE, OUTSIDE, PARTLY = "inside", "outside", "partly"


def goods_rect(actor: Actor, t: float) -> tuple[float, float, float, float]:
    """The goods' footprint at t, normalised: x1, y1, x2, y2 (anchored at the bottom centre)."""
    x, y = actor.path.at(t)
    return x - actor.look.w / 2, y - actor.look.h, x + actor.look.w / 2, y


def placement(
    rect: tuple[float, float, float, float], polygon: tuple[tuple[float, float], ...]
) -> str:
    """Whether a rectangle lies inside, outside or across a convex polygon."""
    x1, y1, x2, y2 = rect
    box = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
    area, _ = cv2.intersectConvexConvex(box, np.array(polygon, np.float32))
    full = (x2 - x1) * (y2 - y1)
    if area <= 1e-9:
        return OUTSIDE
    return INSIDE if area >= full * (1 - 1e-5) else PARTLY


def frame_count(script: Script, fps: int) -> int:
    """How many frames the clip holds (fewer when the signal is lost)."""
    end = script.signal_end if script.signal_end is not None else script.seconds
    return max(1, round(min(end, script.seconds) * fps))


def _first_frame_at(t: float, fps: int) -> int:
    return math.ceil(t * fps - 1e-9)


def build_truth(
    script: Script, camera_id: str, fps: int, width: int, height: int
) -> dict[str, Any]:
    """The truth document for the script rendered at this size and rate."""
    n = frame_count(script, fps)
    goods = [a for a in script.actors if a.is_goods]
    bays = script.layout.bays
    state = {id(a): {b: placement(goods_rect(a, 0.0), p) for b, p in bays.items()} for a in goods}
    initial = {
        b: {
            "count": sum(1 for a in goods if state[id(a)][b] == INSIDE),
            "identities": sorted(
                a.identity for a in goods if state[id(a)][b] == INSIDE and a.identity
            ),
        }
        for b in bays
    }
    events: list[dict[str, Any]] = []
    # Last clear placement (inside/outside) per goods and bay: crossing from one to the other
    # is a fact.
    settled = {key: dict(v) for key, v in state.items()}
    for i in range(1, n):
        t = i / fps
        for a in goods:
            for b, poly in bays.items():
                now = placement(goods_rect(a, t), poly)
                before = settled[id(a)][b]
                if now in (PARTLY, before):
                    continue
                settled[id(a)][b] = now
                if before == PARTLY:  # goods that started across a line have no fact to report
                    continue
                added = now == INSIDE
                events.append(
                    _event(i, fps, "added" if added else "removed", b, 1 if added else -1, a)
                )
    for tamper in script.tampers:
        i = _first_frame_at(tamper.full, fps)
        if i >= n:
            continue
        until = None
        if tamper.end is not None and _first_frame_at(tamper.end, fps) < n:
            until = round(_first_frame_at(tamper.end, fps) / fps, 3)
        events.append(_tamper_event(i, fps, tamper.kind, until))
    if script.signal_end is not None and script.signal_end < script.seconds:
        events.append(_tamper_event(n, fps, "signal_loss", None))
    events.sort(key=lambda e: (e["frame"], e["type"], e["bay"] or ""))
    return {
        "scenario": script.name,
        "seed": script.seed,
        "camera_id": camera_id,
        "fps": fps,
        "width": width,
        "height": height,
        "frames": n,
        "seconds": round(n / fps, 3),
        "bays": {b: [[x, y] for x, y in p] for b, p in bays.items()},
        "initial": initial,
        "events": events,
    }


def _event(i: int, fps: int, kind: str, bay: str, delta: int, actor: Actor) -> dict[str, Any]:
    return {
        "t": round(i / fps, 3),
        "frame": i,
        "type": kind,
        "bay": bay,
        "delta": delta,
        "identities": [actor.identity] if actor.identity else [],
        "tamper": None,
        "until": None,
    }


def _tamper_event(i: int, fps: int, kind: str, until: float | None) -> dict[str, Any]:
    return {
        "t": round(i / fps, 3),
        "frame": i,
        "type": "tamper",
        "bay": None,
        "delta": 0,
        "identities": [],
        "tamper": kind,
        "until": until,
    }
