"""A clip's script: who is where at every moment, and what happens to the camera.

Scripts are pure data in normalised coordinates and seconds. The renderer draws them, the truth
module reads the facts (goods leaving or entering bays, tampering) straight from them, so the
video and its ground truth cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

from vision.synth.objects import FORK_LEN, FORKLIFT_BODY, Look
from vision.synth.scene import Layout

RIDE = FORK_LEN + FORKLIFT_BODY + 0.001


@dataclass
class Path:
    """Piecewise-linear motion through keyframes (t, x, y); holds still before and after."""

    keys: list[tuple[float, float, float]]

    def at(self, t: float) -> tuple[float, float]:
        """The position at time t."""
        keys = self.keys
        if t <= keys[0][0]:
            return keys[0][1], keys[0][2]
        for (t0, x0, y0), (t1, x1, y1) in pairwise(keys):
            if t <= t1:
                f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
        return keys[-1][1], keys[-1][2]

    def moving(self, t: float) -> bool:
        """Whether the position changes around time t."""
        a, b = self.at(t - 0.05), self.at(t + 0.05)
        return math.dist(a, b) > 1e-6


@dataclass
class Actor:
    """One object of the scene with its look, path and, for goods, identity."""

    look: Look
    path: Path
    identity: str | None = None
    riding: tuple[float, float] | None = None  # while goods sit on a forklift's forks

    @property
    def is_goods(self) -> bool:
        """Whether this actor counts as goods in a bay."""
        return self.look.kind in ("pallet", "coil", "box")

    def depth(self, t: float) -> float:
        """Drawing order: things lower in the picture are nearer the camera and drawn later."""
        _, y = self.path.at(t)
        if self.look.kind == "forklift":
            y += self.look.h  # the mast line is its anchor; its body reaches below
        if self.riding is not None and self.riding[0] <= t <= self.riding[1]:
            y += RIDE  # goods on the forks cover them, so they draw just after the forklift
        return y


@dataclass(frozen=True)
class Tamper:
    """A tamper episode: it ramps in from start, is fully in place at full, and clears at end."""

    kind: str
    start: float
    full: float
    end: float | None = None

    def strength(self, t: float) -> float:
        """0 when absent, 1 when fully in place."""
        if t < self.start or (self.end is not None and t >= self.end):
            return 0.0
        if t >= self.full:
            return 1.0
        return (t - self.start) / max(1e-9, self.full - self.start)


@dataclass(frozen=True)
class Shake:
    """A spell of camera vibration with its amplitude in image widths."""

    start: float
    end: float
    amplitude: float


@dataclass
class Script:
    """Everything a clip shows: layout, actors, lighting, shake and tampering."""

    name: str
    seed: int
    seconds: float
    layout: Layout
    actors: list[Actor]
    tampers: list[Tamper] = field(default_factory=list)
    shakes: list[Shake] = field(default_factory=list)
    drift: float = 0.04  # lighting gain swing, fraction of the mean
    drift_period: float = 30.0
    drift_phase: float = 0.0
    jitter: float = 0.0006  # constant tiny camera tremble, image widths
    moved_to: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dx, dy (image sizes), degrees
    signal_end: float | None = None

    def tamper(self, kind: str) -> Tamper | None:
        """The episode of that kind, if the script has one."""
        return next((x for x in self.tampers if x.kind == kind), None)

    def gain(self, t: float) -> tuple[float, float, float]:
        """Per-channel (BGR) lighting gain: overall drift plus a slow warm-cool shift."""
        phase = 2 * math.pi * t / self.drift_period + self.drift_phase
        g = 1.0 + self.drift * math.sin(phase)
        warm = 0.25 * self.drift * math.cos(phase)
        return g * (1 - warm), g, g * (1 + warm)

    def pose(self, t: float) -> tuple[float, float, float]:
        """Camera offset from its reference pose at t: dx, dy (image widths/heights), degrees."""
        dx = self.jitter * math.sin(2 * math.pi * 7.3 * t + self.seed)
        dy = self.jitter * math.sin(2 * math.pi * 5.1 * t + 2 * self.seed)
        for s in self.shakes:
            if s.start <= t < s.end:
                env = min(1.0, (t - s.start) / 0.3, (s.end - t) / 0.3)
                dx += env * s.amplitude * math.sin(2 * math.pi * 3.7 * t)
                dy += env * s.amplitude * 0.7 * math.sin(2 * math.pi * 4.9 * t + 1.0)
        moved = self.tamper("moved")
        if moved is not None:
            f = moved.strength(t)
            dx += f * self.moved_to[0]
            dy += f * self.moved_to[1]
            return dx, dy, f * self.moved_to[2]
        return dx, dy, 0.0
