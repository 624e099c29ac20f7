"""Drawing a script into frames, and frames into an mp4v clip with its ground-truth JSON.

Each frame is composed on the painted background (goods, forklifts, people, nearest last),
then passes through the camera: pose (shake, a moved camera), optics (defocus), light (drift,
a covered or blinded lens) and sensor noise. A frozen stream repeats one picture exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.synth.objects import Sprite, draw, paste
from vision.synth.scenarios import build_script
from vision.synth.scene import paint_background
from vision.synth.script import Actor, Script
from vision.synth.truth import build_truth, frame_count

NOISE_SIGMA = 3.0
DARK_LEVEL = 8.0  # what a covered lens still shows: sensor noise on black


@dataclass(frozen=True)
class SynthObject:
    """An object as drawn in one frame: class, pixel box (clipped), marker identity, share seen."""

    label: str
    box: tuple[float, float, float, float]
    identity: str | None
    visible: float


@dataclass(frozen=True)
class SynthFrame:
    """One rendered frame with the exact boxes of what was drawn in it."""

    index: int
    t: float
    image: np.ndarray
    objects: tuple[SynthObject, ...]
    clear: bool  # no tampering: what the boxes say is really visible


@dataclass(frozen=True)
class SynthClip:
    """A rendered clip: its video, truth file, camera id, bay polygons and frame rate."""

    video: Path
    truth: Path
    camera_id: str
    bays: dict[str, list[tuple[float, float]]]
    fps: int
    frames: int = 0


class _Renderer:
    """Draws one script at one resolution; holds the background, sprites and noise."""

    def __init__(self, script: Script, width: int, height: int) -> None:
        self.script, self.w, self.h = script, width, height
        rng = np.random.default_rng([script.seed, 7919])
        self.background = paint_background(script.layout, width, height, rng)
        self.noise = rng.normal(0, NOISE_SIGMA, size=(4, height * width * 3)).astype(np.float32)
        self.sprites: dict[int, list[Sprite]] = {}
        fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        dist = np.hypot(xx / width - fx, yy / height - fy)
        self.flare = np.repeat((255 - 40 * dist)[..., None], 3, axis=2).astype(np.float32)

    def _sprite(self, actor: Actor, t: float) -> Sprite:
        sprites = self.sprites.get(id(actor))
        if sprites is None:
            phases = 4 if actor.look.kind == "person" else 1
            sprites = [draw(actor.look, self.w, self.h, p) for p in range(phases)]
            self.sprites[id(actor)] = sprites
        if len(sprites) == 1:
            return sprites[0]
        return sprites[int(t * 5) % 4] if actor.path.moving(t) else sprites[1]

    def _matrix(self, t: float) -> np.ndarray | None:
        dx, dy, angle = self.script.pose(t)
        if abs(dx * self.w) < 0.02 and abs(dy * self.h) < 0.02 and angle == 0:
            return None
        m = cv2.getRotationMatrix2D((self.w / 2, self.h / 2), angle, 1.0)
        m[0, 2] += dx * self.w
        m[1, 2] += dy * self.h
        return m

    def frame(self, index: int, fps: int) -> SynthFrame:
        """Frame number index of the clip at the given rate."""
        t = index / fps
        img = self.background.copy()
        drawn: list[tuple[Actor, tuple[int, int, int, int]]] = []
        for actor in sorted(self.script.actors, key=lambda a: a.depth(t)):
            x, y = actor.path.at(t)
            box = paste(img, self._sprite(actor, t), x * self.w, y * self.h)
            if box is not None:
                drawn.append((actor, box))
        m = self._matrix(t)
        if m is not None:
            img = cv2.warpAffine(
                img, m, (self.w, self.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        objects = tuple(o for a, b in drawn if (o := self._object(a, b, m)) is not None)
        clear = True
        blur = self._strength("defocused", t)
        if blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), max(0.3, blur * 0.012 * self.w))
            clear = False
        light = img.astype(np.float32) * np.array(self.script.gain(t), np.float32)
        for kind, target in (("covered", DARK_LEVEL), ("blinded", self.flare)):
            s = self._strength(kind, t)
            if s > 0:
                light = light * (1 - s) + np.asarray(target, np.float32) * s
                clear = clear and s < 0.2
        rng = np.random.default_rng([self.script.seed, index])
        noise = np.roll(self.noise[int(rng.integers(4))], int(rng.integers(self.noise.shape[1])))
        light += noise.reshape(light.shape)
        out = np.clip(light, 0, 255).astype(np.uint8)
        moved = self.script.tamper("moved")
        clear = clear and (moved is None or moved.strength(t) == 0)
        return SynthFrame(index, t, out, objects, clear)

    def _strength(self, kind: str, t: float) -> float:
        tamper = self.script.tamper(kind)
        return 0.0 if tamper is None else tamper.strength(t)

    def _object(
        self, actor: Actor, box: tuple[int, int, int, int], m: np.ndarray | None
    ) -> SynthObject | None:
        x1, y1, x2, y2 = (float(v) for v in box)
        if m is not None:
            corners = np.array([[x1, y1, 1], [x2, y1, 1], [x2, y2, 1], [x1, y2, 1]]) @ m.T
            x1, y1 = corners.min(axis=0)
            x2, y2 = corners.max(axis=0)
        full = (x2 - x1) * (y2 - y1)
        cx1, cy1 = max(0.0, x1), max(0.0, y1)
        cx2, cy2 = min(float(self.w), x2), min(float(self.h), y2)
        if cx2 <= cx1 or cy2 <= cy1 or full <= 0:
            return None
        visible = (cx2 - cx1) * (cy2 - cy1) / full
        return SynthObject(actor.look.kind, (cx1, cy1, cx2, cy2), actor.identity, visible)


def frames(
    script: Script, width: int = 640, height: int = 360, fps: int = 10, only: set[int] | None = None
) -> Iterator[SynthFrame]:
    """The script's frames in order (a frozen spell repeats the last good frame).

    With `only`, just those frame indices are drawn: a cheap way to sample a clip; a frozen
    frame sampled that way shows the live scene instead, and is marked not clear.
    """
    renderer = _Renderer(script, width, height)
    frozen = script.tamper("frozen")
    held: SynthFrame | None = None
    for i in range(frame_count(script, fps)):
        if only is not None:
            if i in only:
                live = renderer.frame(i, fps)
                stale = frozen is not None and frozen.strength(i / fps) > 0
                yield SynthFrame(i, live.t, live.image, live.objects, live.clear and not stale)
            continue
        if frozen is not None and held is not None and frozen.strength(i / fps) > 0:
            yield SynthFrame(i, i / fps, held.image, held.objects, False)
            continue
        held = renderer.frame(i, fps)
        yield held


def iter_frames(
    name: str,
    seed: int = 0,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    seconds: float | None = None,
) -> Iterator[SynthFrame]:
    """The frames of a named scenario, with exact object boxes, without writing a video."""
    return frames(build_script(name, seed, seconds), width, height, fps)


def render(
    name: str,
    out_dir: Path,
    seed: int = 0,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    seconds: float | None = None,
) -> SynthClip:
    """Render a named scenario to <out_dir>/<name>-<seed>.mp4 (mp4v) and its truth .json."""
    script = build_script(name, seed, seconds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{name}-{seed}.mp4"
    truth_path = out_dir / f"{name}-{seed}.json"
    camera_id = f"synth-{name}-{seed}"
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter.fourcc(*"mp4v"), float(fps), (width, height)
    )
    if not writer.isOpened():
        raise RuntimeError(f"cannot open a video writer for {video}")
    count = 0
    try:
        for frame in frames(script, width, height, fps):
            writer.write(frame.image)
            count += 1
    finally:
        writer.release()
    truth = build_truth(script, camera_id, fps, width, height)
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    bays = {b: [(float(x), float(y)) for x, y in p] for b, p in script.layout.bays.items()}
    return SynthClip(video, truth_path, camera_id, bays, fps, count)
