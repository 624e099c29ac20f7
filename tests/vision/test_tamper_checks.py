"""Tamper checks on generated pictures: each kind fires; drift, noise and shake do not."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np

from tests.vision.scenery import T0, frame, noisy, scene
from vision.config import TamperThresholds
from vision.stages import TamperFinding, TamperKind
from vision.tamper import TamperMonitor

FPS = 2.0


def play(monitor: TamperMonitor, images: list[np.ndarray]) -> list[TamperFinding]:
    """Run the monitor over pictures at 2 fps; return all findings."""
    out: list[TamperFinding] = []
    for i, img in enumerate(images):
        out += monitor.check(frame(img, i, FPS))
    return out


def healthy(n: int, seed: int = 3) -> list[np.ndarray]:
    """n frames of a live camera: the same scene under fresh noise (seeded)."""
    rng = np.random.default_rng(seed)
    base = scene(3)
    return [noisy(base, rng) for _ in range(n)]


def episode(tampered: list[np.ndarray], before: int = 8, after: int = 8) -> list[np.ndarray]:
    """Healthy frames, the tampered ones, then healthy again."""
    return healthy(before) + tampered + healthy(after, seed=3)[:after]


def kinds(findings: list[TamperFinding], active: bool = True) -> list[TamperKind]:
    """The kinds that started (or cleared)."""
    return [f.kind for f in findings if f.active is active]


def test_a_covered_lens_fires_and_clears() -> None:
    rng = np.random.default_rng(0)
    dark = [noisy(np.full((360, 640, 3), 12, np.uint8), rng, 2) for _ in range(8)]
    findings = play(TamperMonitor("cam"), episode(dark))
    assert kinds(findings) == [TamperKind.COVERED]
    assert kinds(findings, active=False) == [TamperKind.COVERED]


def test_a_blinding_light_fires() -> None:
    base = scene(3).astype(np.float32)
    bright = [np.clip(base * 0.2 + 240, 0, 255).astype(np.uint8) for _ in range(8)]
    assert kinds(play(TamperMonitor("cam"), episode(bright))) == [TamperKind.BLINDED]


def test_a_defocused_lens_fires() -> None:
    rng = np.random.default_rng(1)
    blurred = [noisy(cv2.GaussianBlur(scene(3), (0, 0), 6), rng, 1) for _ in range(8)]
    assert kinds(play(TamperMonitor("cam"), episode(blurred))) == [TamperKind.DEFOCUSED]


def test_a_camera_turned_away_fires_moved_and_stays_moved() -> None:
    rng = np.random.default_rng(2)
    shift = np.array(
        [[1, 0, 70], [0, 1, 20]], dtype=np.float32
    )  # 11% of the width across, a bit down
    turned = cv2.warpAffine(scene(3), shift, (640, 360), borderMode=cv2.BORDER_REFLECT)
    findings = play(TamperMonitor("cam"), healthy(8) + [noisy(turned, rng) for _ in range(10)])
    assert kinds(findings) == [TamperKind.MOVED]
    assert kinds(findings, active=False) == []


def test_a_frozen_stream_fires_after_frozen_seconds() -> None:
    stuck = healthy(1, seed=9)[0]
    limits = TamperThresholds(frozen_seconds=3.0)
    findings = play(TamperMonitor("cam", limits), episode([stuck] * 10))
    assert kinds(findings) == [TamperKind.FROZEN]
    started = next(f for f in findings if f.active)
    assert started.at - (T0 + timedelta(seconds=8 / FPS)) >= timedelta(seconds=2.5)


def test_signal_loss_fires_after_its_time_and_clears_on_the_next_frame() -> None:
    monitor = TamperMonitor("cam", TamperThresholds(signal_loss_seconds=5.0))
    assert monitor.no_signal(T0, 4.0) == []
    lost = monitor.no_signal(T0, 5.5)
    assert [(f.kind, f.active) for f in lost] == [(TamperKind.SIGNAL_LOSS, True)]
    assert monitor.no_signal(T0, 9.0) == []  # reported once
    back = monitor.signal_back(T0)
    assert [(f.kind, f.active) for f in back] == [(TamperKind.SIGNAL_LOSS, False)]


def test_lighting_drift_noise_and_small_shake_fire_nothing() -> None:
    rng = np.random.default_rng(4)
    base = scene(3).astype(np.float32)
    images = []
    for i in range(60):
        gain = 1.0 + 0.35 * np.sin(i / 60 * 2 * np.pi)  # strong slow drift
        dx, dy = rng.uniform(-4, 4, size=2)  # shake of a few pixels
        moved = cv2.warpAffine(
            base,
            np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32),
            (640, 360),
            borderMode=cv2.BORDER_REFLECT,
        )
        images.append(noisy(np.clip(moved * gain, 0, 255).astype(np.uint8), rng, 4))
    assert play(TamperMonitor("cam"), images) == []


def test_a_short_spell_of_darkness_below_the_hold_time_fires_nothing() -> None:
    dark = [np.full((360, 640, 3), 10, np.uint8)]  # one frame: 0.5 s, hold is 1 s
    assert play(TamperMonitor("cam"), episode(dark)) == []
