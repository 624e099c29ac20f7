"""Tamper checks: covered, blinded, defocused, moved, frozen and signal loss, with hysteresis.

Every check measures one number per analysed frame on a small grey copy and compares it with a
limit; a finding starts only after its condition has held for `hold_seconds` of stream time
and clears only after it has been false as long, so a passing shadow or a single shaken frame
never fires. Lighting drift is harmless by construction: sharpness is measured relative to
the picture's own contrast, scene shift by a feature fit that ignores what moves in part of
the picture, and
frozen frames by the difference between consecutive frames, which sensor noise keeps above
zero on a live camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import cv2
import numpy as np

from vision.config import TamperThresholds
from vision.motion import grey_copy
from vision.scene_shift import SceneShiftMeter, Shift
from vision.stages import Frame, Image, TamperFinding, TamperKind

WIDTH = 320  # pictures are measured at this width


@dataclass
class _State:
    active: bool = False
    since: datetime | None = None  # when the condition last flipped against `active`


@dataclass(frozen=True)
class Measures:
    """The numbers the checks look at, for one frame."""

    mean: float
    std: float
    saturated: float
    sharpness: float
    shift: float
    inliers: float  # share of reference features that agree with the scene fit
    still: float  # mean difference to the previous frame


def sharpness(grey: Image) -> float:
    """Laplacian variance relative to the picture's contrast: dims and brightens alike."""
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    _, lap_std = cv2.meanStdDev(lap)
    _, std = cv2.meanStdDev(grey)
    return float(lap_std[0, 0] ** 2 / (std[0, 0] ** 2 + 25.0))


class TamperMonitor:
    """Runs every tamper check on each analysed frame and reports starts and clears."""

    def __init__(self, camera_id: str, limits: TamperThresholds | None = None) -> None:
        self.camera_id = camera_id
        self.limits = limits or TamperThresholds()
        self._states = {kind: _State() for kind in TamperKind}
        self._hold = timedelta(seconds=self.limits.hold_seconds)
        self._previous: Image | None = None
        self._still_since: datetime | None = None
        self._ref_samples: list[float] = []
        self._ref_sharpness: float | None = None
        self._scene = SceneShiftMeter()
        self._last_fit = Shift(0.0, 1.0, True)
        self._last_fit_at: datetime | None = None
        self.last: Measures | None = None
        self._pending = False

    @property
    def active(self) -> set[TamperKind]:
        """The findings currently open."""
        return {kind for kind, s in self._states.items() if s.active}

    def suspect(self) -> bool:
        """Whether any picture check is open or about to open: bay counts cannot be trusted."""
        return bool(self.active - {TamperKind.SIGNAL_LOSS}) or self._pending

    def check(self, frame: Frame, grey: Image | None = None) -> list[TamperFinding]:
        """Measure a frame (or its grey copy WIDTH wide, if the caller has one) for findings."""
        if grey is None or grey.shape[1] != WIDTH:
            grey = grey_copy(frame.image, WIDTH)
        lim = self.limits
        means, stds = cv2.meanStdDev(grey)
        mean, std = float(means[0, 0]), float(stds[0, 0])
        saturated = float(np.count_nonzero(grey >= 250)) / grey.size
        sharp = sharpness(grey)
        still = (
            float(cv2.mean(cv2.absdiff(grey, self._previous))[0])
            if self._previous is not None and self._previous.shape == grey.shape
            else 255.0
        )
        self._previous = grey
        covered = mean < lim.dark_mean and std < lim.dark_std
        blinded = mean > lim.bright_mean or saturated > lim.saturated_fraction
        blind = covered or blinded  # nothing else can be judged on such a picture
        moved_state = self._states[TamperKind.MOVED]
        # The feature fit is the dearest check: run it every `moved_check_seconds`, and on
        # every frame only while a move is suspected or open.
        due = (
            self._last_fit_at is None
            or still > lim.moved_trigger  # the whole picture changed at once: look now
            or moved_state.active
            or moved_state.since is not None
            or frame.at - self._last_fit_at >= timedelta(seconds=lim.moved_check_seconds)
        )
        fit = Shift(0.0, 1.0, True)
        if self._scene.ready and not blind:
            if due:
                self._last_fit = self._scene.measure(grey)
                self._last_fit_at = frame.at
            fit = self._last_fit
        shift, response = fit.displacement, fit.inliers
        defocused = (
            not blind
            and self._ref_sharpness is not None
            and sharp < lim.defocus_ratio * self._ref_sharpness
        )
        moved = (
            not blind
            and self._scene.ready
            and (shift > lim.moved_shift or (not fit.recognised and not defocused))
        )
        if still < lim.frozen_difference and not blind:
            self._still_since = self._still_since or frame.at
        else:
            self._still_since = None
        frozen = self._still_since is not None and (
            frame.at - self._still_since
        ).total_seconds() >= max(0.0, lim.frozen_seconds - lim.hold_seconds)
        self.last = Measures(mean, std, saturated, sharp, shift, response, still)
        conditions = {
            TamperKind.COVERED: (covered, mean),
            TamperKind.BLINDED: (blinded, mean),
            TamperKind.DEFOCUSED: (
                defocused,
                sharp / self._ref_sharpness if self._ref_sharpness else 1.0,
            ),
            TamperKind.MOVED: (moved, shift),
            TamperKind.FROZEN: (frozen, still),
        }
        self._pending = any(c for c, _ in conditions.values())
        findings = []
        for kind, (cond, measure) in conditions.items():
            finding = self._step(kind, cond, measure, frame.at, frame.index)
            if finding is not None:
                findings.append(finding)
        if not self._pending and not self.active:
            self._learn_reference(grey, sharp)
        return findings

    def _learn_reference(self, grey: Image, sharp: float) -> None:
        # The reference is taken from the first few healthy frames, then it stays put:
        # a reference that followed the picture would follow a slow tamper too.
        if self._ref_sharpness is not None:
            return
        self._ref_samples.append(sharp)
        if len(self._ref_samples) >= self.limits.reference_frames:
            self._ref_sharpness = sorted(self._ref_samples)[len(self._ref_samples) // 2]
            self._scene.set_reference(grey)
            self._ref_samples.clear()

    def no_signal(self, at: datetime, seconds_without: float) -> list[TamperFinding]:
        """Report signal loss once no frame has come for `signal_loss_seconds`."""
        lost = seconds_without >= self.limits.signal_loss_seconds
        state = self._states[TamperKind.SIGNAL_LOSS]
        if lost and not state.active:
            state.active, state.since = True, at
            return [
                TamperFinding(self.camera_id, at, TamperKind.SIGNAL_LOSS, True, seconds_without)
            ]
        return []

    def signal_back(self, at: datetime) -> list[TamperFinding]:
        """Clear signal loss as soon as frames arrive again."""
        state = self._states[TamperKind.SIGNAL_LOSS]
        if state.active:
            state.active, state.since = False, None
            return [TamperFinding(self.camera_id, at, TamperKind.SIGNAL_LOSS, False, 0.0)]
        return []

    def _step(
        self, kind: TamperKind, condition: bool, measure: float, at: datetime, index: int
    ) -> TamperFinding | None:
        state = self._states[kind]
        if condition == state.active:
            state.since = None
            return None
        if state.since is None:
            state.since = at
        if at - state.since < self._hold:
            return None
        state.active, state.since = condition, None
        return TamperFinding(self.camera_id, at, kind, condition, round(measure, 4), index)
