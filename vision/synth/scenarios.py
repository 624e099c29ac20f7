"""The named scenarios: which goods stand where, and what forklifts, people and the camera do.

Every scenario is built from the seed alone, so the same name and seed give the same clip.
Forklifts work one slot at a time: they come along the aisle, drive up under the goods, and
back out with them (removal), or bring goods in the other way round (addition).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vision.synth.objects import GOODS, goods_look, vehicle_look
from vision.synth.scene import AISLE_Y, CARRY_Y, Layout, Slot, make_layout
from vision.synth.script import Actor, Path, Script, Shake, Tamper

SCENARIOS: dict[str, str] = {
    "static": "goods stand still; only noise and faint lighting drift",
    "removal": "a forklift takes one unit of goods out of a bay",
    "addition": "a forklift brings one unit of goods into a bay",
    "occlusion": "people and forklifts pass and stop in front of the bays; nothing changes",
    "lighting_drift": "strong slow lighting changes; nothing changes",
    "shake": "the camera vibrates in spells but stays put; nothing changes",
    "mixed": "several removals and additions in different bays, with people about",
    "covered": "the lens is covered for a while",
    "blinded": "a bright light floods the lens for a while",
    "defocused": "the lens goes out of focus for a while",
    "moved": "the camera is turned away from its reference view and stays there",
    "frozen": "the stream repeats the same picture for a while",
    "signal_loss": "the stream stops half way through",
}

DRIVE = 0.28  # forklift speed along the aisle, image widths per second
CREEP = 0.16  # speed into and out of a bay, image heights per second
LIFT = 0.8  # seconds spent lifting or setting down


class _Builder:
    """Collects actors for one script and keeps marker ids unique."""

    def __init__(self, name: str, seed: int) -> None:
        self.rng = np.random.default_rng([seed, sum(map(ord, name))])
        self.layout: Layout = make_layout(self.rng)
        self.actors: list[Actor] = []
        self.free_ids = [int(i) for i in self.rng.permutation(50)]
        self.stock: dict[Slot, Actor] = {}

    def new_goods(self, slot: Slot | None = None) -> Actor:
        """A unit of goods, with a marker about two times in three."""
        kind = GOODS[int(self.rng.integers(len(GOODS)))]
        marker = self.free_ids.pop() if self.rng.random() < 0.65 else None
        look = goods_look(kind, self.rng, marker)
        identity = f"aruco:{marker}" if marker is not None else None
        x, y = (slot.x, slot.y) if slot else (-1.0, -1.0)
        actor = Actor(look, Path([(0.0, x, y)]), identity)
        self.actors.append(actor)
        return actor

    def fill(self, share: float = 0.7) -> None:
        """Put goods in a share of the slots, leaving at least one slot free per clip."""
        slots = list(self.layout.slots)
        taken = [s for s in slots if self.rng.random() < share]
        if len(taken) < 2:
            taken = slots[:2]
        if len(taken) == len(slots):
            taken = taken[1:]
        for slot in taken:
            self.stock[slot] = self.new_goods(slot)

    def occupied(self) -> list[Slot]:
        """Slots that hold goods right now in the script."""
        return [s for s in self.layout.slots if s in self.stock]

    def empty(self) -> list[Slot]:
        """Slots with nothing in them."""
        return [s for s in self.layout.slots if s not in self.stock]

    def _side(self, x: float) -> float:
        # Forklifts mostly come from the nearer end of the aisle, now and then from the far one.
        return -0.12 if (x < 0.5) == (self.rng.random() < 0.8) else 1.12

    def remove(self, slot: Slot, t0: float) -> float:
        """A forklift fetches the goods in the slot and drives off; returns when it is gone."""
        goods = self.stock.pop(slot)
        side = self._side(slot.x)
        t1 = t0 + abs(slot.x - side) / DRIVE
        t2 = t1 + (AISLE_Y - slot.y) / CREEP
        t3 = t2 + LIFT
        t4 = t3 + (CARRY_Y - slot.y) / CREEP
        exit_x = -0.15 if self.rng.random() < 0.5 else 1.15
        t5 = t4 + abs(exit_x - slot.x) / DRIVE
        fork_path = [
            (t0, side, AISLE_Y),
            (t1, slot.x, AISLE_Y),
            (t2, slot.x, slot.y),
            (t3, slot.x, slot.y),
            (t4, slot.x, CARRY_Y),
            (t5, exit_x, CARRY_Y),
        ]
        self.actors.append(Actor(vehicle_look("forklift", self.rng), Path(fork_path)))
        goods.path = Path([(t3, slot.x, slot.y), *fork_path[4:]])
        goods.riding = (t3, math.inf)
        return t5

    def add(self, slot: Slot, t0: float) -> float:
        """A forklift brings new goods into the empty slot and leaves; returns when it is gone."""
        goods = self.new_goods()
        self.stock[slot] = goods
        side = self._side(slot.x)
        t1 = t0 + abs(slot.x - side) / DRIVE
        t2 = t1 + (CARRY_Y - slot.y) / CREEP
        t3 = t2 + LIFT
        t4 = t3 + (AISLE_Y - slot.y) / CREEP
        exit_x = -0.15 if self.rng.random() < 0.5 else 1.15
        t5 = t4 + abs(exit_x - slot.x) / DRIVE
        fork_path = [
            (t0, side, CARRY_Y),
            (t1, slot.x, CARRY_Y),
            (t2, slot.x, slot.y),
            (t3, slot.x, slot.y),
            (t4, slot.x, AISLE_Y),
            (t5, exit_x, AISLE_Y),
        ]
        self.actors.append(Actor(vehicle_look("forklift", self.rng), Path(fork_path)))
        goods.path = Path(fork_path[:3])
        goods.riding = (-math.inf, t2)
        return t5

    def pass_by(self, t0: float, loaded: bool) -> None:
        """A forklift drives along the aisle without stopping, maybe with goods aboard."""
        y = CARRY_Y if loaded else AISLE_Y
        a, b = (-0.15, 1.15) if self.rng.random() < 0.5 else (1.15, -0.15)
        path = Path([(t0, a, y), (t0 + 1.3 / DRIVE, b, y)])
        self.actors.append(Actor(vehicle_look("forklift", self.rng), path))
        if loaded:
            goods = self.new_goods()
            goods.path = path
            goods.riding = (-math.inf, math.inf)

    def walk(self, t0: float, stop: float = 0.0) -> None:
        """A person crosses in front of the bays, maybe stopping for a while half way."""
        a, b = (-0.05, 1.05) if self.rng.random() < 0.5 else (1.05, -0.05)
        y = float(self.rng.uniform(0.66, 0.9))
        speed = float(self.rng.uniform(0.1, 0.16))
        look = vehicle_look("person", self.rng)
        if stop > 0:
            mid = float(self.rng.uniform(0.25, 0.75))
            tm = t0 + abs(mid - a) / speed
            keys = [
                (t0, a, y),
                (tm, mid, y),
                (tm + stop, mid, y),
                (tm + stop + abs(b - mid) / speed, b, y),
            ]
        else:
            keys = [(t0, a, y), (t0 + abs(b - a) / speed, b, y)]
        self.actors.append(Actor(look, Path(keys)))

    def script(self, name: str, seed: int, seconds: float, **camera: object) -> Script:
        """The finished script."""
        return Script(name, seed, seconds, self.layout, self.actors, **camera)  # type: ignore[arg-type]

    def pick(self, slots: list[Slot]) -> Slot:
        """One of the slots, at random."""
        return slots[int(self.rng.integers(len(slots)))]


def _static(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    return b.script(name, seed, 10.0)


def _removal(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    marked = [s for s in b.occupied() if b.stock[s].identity]
    b.remove(b.pick(marked or b.occupied()), 3.0)
    b.walk(12.0)
    return b.script(name, seed, 20.0)


def _addition(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    b.add(b.pick(b.empty()), 3.0)
    b.walk(12.0)
    return b.script(name, seed, 20.0)


def _occlusion(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    b.walk(1.0)
    b.walk(4.0, stop=3.0)
    b.pass_by(6.0, loaded=False)
    b.walk(9.0)
    b.pass_by(12.0, loaded=True)
    b.walk(14.0, stop=2.0)
    return b.script(name, seed, 20.0)


def _lighting(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    b.walk(8.0)
    return b.script(
        name, seed, 20.0, drift=0.3, drift_period=16.0, drift_phase=float(b.rng.uniform(0, 6.28))
    )


def _shake(b: _Builder, name: str, seed: int) -> Script:
    b.fill()
    b.walk(5.0)
    shakes = [Shake(2.0, 5.0, 0.008), Shake(8.0, 12.0, 0.006)]
    return b.script(name, seed, 15.0, shakes=shakes)


def _mixed(b: _Builder, name: str, seed: int) -> Script:
    b.fill(0.6)
    t = 2.0
    for k in range(4):
        removing = (k % 2 == 0) if b.empty() and b.occupied() else bool(b.occupied())
        slot = b.pick(b.occupied() if removing else b.empty())
        done = b.remove(slot, t) if removing else b.add(slot, t)
        if k == 1:
            b.walk(t + 1.0)
        t = done + 3.0
    return b.script(name, seed, max(45.0, t + 2.0))


def _tamper(kind: str) -> Callable[[_Builder, str, int], Script]:
    def build(b: _Builder, name: str, seed: int) -> Script:
        b.fill()
        b.walk(2.0)
        b.walk(9.0)
        if kind == "signal_loss":
            return b.script(name, seed, 20.0, signal_end=10.0)
        if kind == "frozen":
            return b.script(name, seed, 20.0, tampers=[Tamper(kind, 8.0, 8.0, 14.0)])
        if kind == "moved":
            sign = 1 if b.rng.random() < 0.5 else -1
            to = (
                sign * float(b.rng.uniform(0.1, 0.14)),
                float(b.rng.uniform(0.03, 0.06)),
                sign * 2.0,
            )
            return b.script(name, seed, 20.0, tampers=[Tamper(kind, 8.0, 9.0, None)], moved_to=to)
        return b.script(name, seed, 20.0, tampers=[Tamper(kind, 8.0, 8.5, 15.0)])

    return build


_BUILDERS: dict[str, Callable[[_Builder, str, int], Script]] = {
    "static": _static,
    "removal": _removal,
    "addition": _addition,
    "occlusion": _occlusion,
    "lighting_drift": _lighting,
    "shake": _shake,
    "mixed": _mixed,
    **{
        k: _tamper(k) for k in ("covered", "blinded", "defocused", "moved", "frozen", "signal_loss")
    },
}


def build_script(name: str, seed: int = 0, seconds: float | None = None) -> Script:
    """The script of a named scenario for a seed; seconds overrides its natural length."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown synth scenario {name!r}; known: {', '.join(SCENARIOS)}")
    script = _BUILDERS[name](_Builder(name, seed), name, seed)
    if seconds is not None:
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        script.seconds = float(seconds)
    return script
