"""The bay evaluator: per-bay counts and identities, changes only once they hold steady.

A bay's belief changes only when what the detector sees in it has differed from that belief,
consistently, for `stable_seconds` of stream time. Detectors miss far more often than they
imagine goods, and people hide goods but never conjure them, so the evidence is weighed
unevenly: each observation is the most goods seen over a short peak hold; a person or
forklift in front of a bay pauses any decrease; a removal is not confirmed while every unit
it would remove was still seen, one frame or another, inside the window. Nothing decays with time:
goods that never move stay counted for as long as the camera runs. Because a motion gate can
miss a slow or hidden removal, each bay also keeps a reference picture (set by the baseline at
pledge time and refreshed whenever the detector confirms the bay unchanged) that the pipeline
compares against periodically, motion or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np

from vision.stages import BayChange, BayView, Box, Detection, Image, MovementKind
from vision.zones import box_in_bay, boxes_intersect, overlap_fraction, polygon_bounds

Polygon = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Observation:
    """What one detector run saw in a bay."""

    count: int
    identities: frozenset[str]
    confidences: tuple[float, ...]
    occluded: bool


@dataclass(frozen=True)
class Baseline:
    """A bay as it was when goods in it were pledged: count, identities and its picture."""

    bay_id: str
    at: datetime
    count: int
    identities: frozenset[str]
    picture: Image | None


@dataclass
class _Candidate:
    count: int
    since: datetime
    confidences: list[float]
    agree: int = 1
    seen: int = 1
    contrary_since: datetime | None = None
    # Every observation since the change began: (when, identities read, goods without one).
    seen_goods: list[tuple[datetime, frozenset[str], int, int]] = field(default_factory=list)

    def note(self, at: datetime, obs: Observation) -> None:
        """Remember which goods an observation showed."""
        unmarked = max(0, obs.count - len(obs.identities))
        self.seen_goods.append((at, obs.identities, unmarked, obs.count))

    def most_seen_since(self, start: datetime, below: int) -> int:
        """The highest count below `below` observed since `start`."""
        counts = [n for t, _, _, n in self.seen_goods if t >= start and n < below]
        return max(counts, default=self.count)

    def usual_since(self, start: datetime, above: int) -> int:
        """The count above `above` observed most often since `start` (the lower on a tie)."""
        counts = [n for t, _, _, n in self.seen_goods if t >= start and n > above]
        if not counts:
            return self.count
        return min(set(counts), key=lambda n: (-counts.count(n), n))

    def goods_seen_since(self, start: datetime) -> int:
        """Distinct goods seen since `start`: every identity read, plus the most unmarked."""
        recent = [(ids, unmarked) for t, ids, unmarked, _ in self.seen_goods if t >= start]
        identities = set().union(*(ids for ids, _ in recent)) if recent else set()
        return len(identities) + max((unmarked for _, unmarked in recent), default=0)


@dataclass
class _Bay:
    view: BayView
    bounds: Box
    initialised: bool = False
    warm_until: datetime | None = None
    candidate: _Candidate | None = None
    watch_until: datetime | None = None
    confidences: tuple[float, ...] = ()
    reference: Image | None = None
    mask: Image | None = None
    baseline: Baseline | None = None
    occluded: bool = False
    recent: list[tuple[datetime, Observation]] = field(default_factory=list)


def _shared_area(a: Box, b: Box) -> float:
    return max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1)) * max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))


def observe_bay(
    polygon: Polygon,
    detections: Iterable[Detection],
    goods_labels: Sequence[str],
    occluder_labels: Sequence[str],
    rule: str = "centre",
) -> Observation:
    """Count the goods of a bay among detections and tell whether something stands in front."""
    bounds = polygon_bounds(polygon)
    count = 0
    identities: set[str] = set()
    confidences: list[float] = []
    occluded = False
    for det in detections:
        if det.label in goods_labels and box_in_bay(det.box, polygon, rule):
            count += 1
            confidences.append(det.confidence)
            if det.identity:
                identities.add(det.identity)
        elif det.label in occluder_labels and boxes_intersect(det.box, bounds):
            # Anything in front of the bay hides what is behind it: pause rather than guess.
            occluded = occluded or overlap_fraction(det.box, polygon) > 0.02
    return Observation(count, frozenset(identities), tuple(confidences), occluded)


class BayEvaluator:
    """Keeps each bay's count and identities and emits a BayChange once a change is stable."""

    def __init__(
        self,
        camera_id: str,
        bays: dict[str, list[tuple[float, float]]],
        stable_seconds: float = 2.0,
        goods_labels: Sequence[str] = ("pallet", "coil", "box"),
        occluder_labels: Sequence[str] = ("forklift", "person"),
        rule: str = "centre",
        settle_seconds: float | None = None,
        peak_hold_seconds: float = 0.5,
    ) -> None:
        self.camera_id = camera_id
        self.stable = timedelta(seconds=stable_seconds)
        # After motion in a bay, look a little longer: a change that began shows up as a
        # candidate, and a candidate keeps the detector running until it settles.
        self.settle = timedelta(seconds=settle_seconds if settle_seconds is not None else 1.0)
        self.grace = min(self.stable / 2, timedelta(seconds=1.0))
        self.peak_hold = timedelta(seconds=peak_hold_seconds)
        self.goods_labels = tuple(goods_labels)
        self.occluder_labels = tuple(occluder_labels)
        self.rule = rule
        self._bays = {
            bay_id: _Bay(BayView(bay_id, list(poly)), polygon_bounds(poly))
            for bay_id, poly in bays.items()
        }

    @property
    def bay_ids(self) -> list[str]:
        """Every bay this evaluator watches."""
        return list(self._bays)

    def views(self) -> list[BayView]:
        """Copies of what is believed to be in each bay."""
        return [
            BayView(b.view.bay_id, list(b.view.polygon), b.view.count, set(b.view.identities))
            for b in self._bays.values()
        ]

    def bounds(self, bay_id: str) -> Box:
        """The box around a bay's polygon."""
        return self._bays[bay_id].bounds

    def touched_by(self, regions: Sequence[Box], min_area: float = 0.0015) -> set[str]:
        """Bays that changed regions reach into by more than `min_area` (share of the frame).

        A person walking along the aisle grazes the edge of a bay's box; that is no reason
        to look at the bay again.
        """
        return {
            bay_id
            for bay_id, bay in self._bays.items()
            if any(_shared_area(bay.bounds, r) >= min_area for r in regions)
        }

    def watch(self, bay_ids: Iterable[str], at: datetime) -> None:
        """Keep evaluating these bays until a change seen now could have settled."""
        until = at + self.settle
        for bay_id in bay_ids:
            bay = self._bays[bay_id]
            if bay.watch_until is None or bay.watch_until < until:
                bay.watch_until = until

    def needing_detection(self, at: datetime) -> set[str]:
        """Bays the detector must look at now: new, watched after motion, or mid-change."""
        return {
            bay_id
            for bay_id, bay in self._bays.items()
            if not bay.initialised
            or (bay.warm_until is not None and at <= bay.warm_until)
            or bay.candidate is not None
            or (bay.watch_until is not None and at <= bay.watch_until)
        }

    def pause(self) -> None:
        """Drop half-seen changes: the camera cannot be trusted right now (tamper)."""
        for bay in self._bays.values():
            bay.candidate = None

    def observe(
        self,
        at: datetime,
        frame_index: int,
        detections: Sequence[Detection],
        bay_ids: Iterable[str],
    ) -> list[BayChange]:
        """Feed one detector run for the given bays; return the changes that became stable."""
        changes = []
        for bay_id in bay_ids:
            bay = self._bays[bay_id]
            obs = observe_bay(
                bay.view.polygon, detections, self.goods_labels, self.occluder_labels, self.rule
            )
            bay.occluded = obs.occluded
            change = self._step(bay, self._peak(bay, obs, at), at, frame_index)
            if change is not None:
                changes.append(change)
        return changes

    def _peak(self, bay: _Bay, obs: Observation, at: datetime) -> Observation:
        """The most goods seen over the last `peak_hold` (a detector misses far more often
        than it imagines goods, so a unit missed for one frame is not yet gone)."""
        bay.recent = [(t, o) for t, o in bay.recent if at - t <= self.peak_hold]
        bay.recent.append((at, obs))
        best = max((o for _, o in bay.recent), key=lambda o: o.count)
        identities = frozenset().union(*(o.identities for _, o in bay.recent))
        return Observation(best.count, identities, best.confidences, obs.occluded)

    def _step(self, bay: _Bay, obs: Observation, at: datetime, index: int) -> BayChange | None:
        view = bay.view
        if obs.occluded and (not bay.initialised or obs.count < view.count):
            # Something in front can hide goods but never conjure them: fewer goods seen
            # behind a person or forklift is no evidence, more goods seen is.
            return None
        if not bay.initialised:
            bay.initialised = True
            bay.warm_until = at + self.stable
            view.count = obs.count
            view.identities = set(obs.identities)
            bay.confidences = obs.confidences
            return None
        if bay.warm_until is not None and at <= bay.warm_until:
            # The first look sets the count; for `stable_seconds` after it, more goods seen
            # only correct that first look (a unit missed on the first frame is no arrival).
            if obs.count > view.count:
                view.count, bay.confidences = obs.count, obs.confidences
            view.identities |= obs.identities
            return None
        cand = bay.candidate
        if obs.count == view.count:
            if cand is not None:
                cand.note(at, obs)
                # A glimpse of the old state does not undo a change under way at once. New
                # goods briefly hidden (by the forklift setting them down) are the usual
                # reason for an addition to flicker back, so additions get more grace than
                # removals, where seeing the goods again is real evidence they are there.
                cand.seen += 1
                cand.contrary_since = cand.contrary_since or at
                grace = self.stable if cand.count > view.count else self.grace
                if at - cand.contrary_since < grace:
                    return None
                bay.candidate = None
            # Markers read later on goods already counted teach us who they are.
            view.identities |= obs.identities
            if obs.confidences:
                bay.confidences = obs.confidences
            return None
        fewer = cand is not None and cand.count < view.count and obs.count < view.count
        more = cand is not None and cand.count > view.count and obs.count > view.count
        if cand is not None and (fewer or more) and obs.count != cand.count:
            # Still fewer (or more) goods than believed, only a different number of them: the
            # change goes on. A removal's size is the most goods seen lately (misses are the
            # usual error); an addition's is the count seen most often lately.
            cand.note(at, obs)
            cand.seen += 1
            cand.contrary_since = None
            start = at - self.stable
            cand.count = (
                cand.most_seen_since(start, below=view.count)
                if fewer
                else cand.usual_since(start, above=view.count)
            )
            return self._commit_if_stable(bay, at, index)
        if cand is None or cand.count != obs.count:
            bay.candidate = _Candidate(obs.count, at, list(obs.confidences))
            bay.candidate.note(at, obs)
            return self._commit_if_stable(bay, at, index)
        cand.note(at, obs)
        cand.confidences.extend(obs.confidences)
        cand.agree += 1
        cand.seen += 1
        cand.contrary_since = None
        return self._commit_if_stable(bay, at, index)

    def _commit_if_stable(self, bay: _Bay, at: datetime, index: int) -> BayChange | None:
        cand = bay.candidate
        if cand is None or at - cand.since < self.stable:
            return None
        view = bay.view
        before, after = view.count, cand.count
        if after < before and cand.goods_seen_since(at - self.stable) >= before:
            # Every unit was seen at some moment of the window, only never all at once: the
            # reader flickered (markers blurred by shake, say); nothing has left.
            return None
        # Who is there now: the identities read over the last stable window (earlier reads
        # may still show goods that have left since).
        recent = [ids for t, ids, _, _ in cand.seen_goods if t >= at - self.stable]
        before_ids, after_ids = set(view.identities), set().union(*recent)
        if after > before:
            kind, moved = MovementKind.ADDED, after_ids - before_ids
            seen = cand.confidences
        else:
            kind, moved = MovementKind.REMOVED, before_ids - after_ids
            seen = list(bay.confidences)  # how sure we were of the goods that left
        confidence = (sum(seen) / len(seen) if seen else 0.5) * (cand.agree / cand.seen)
        view.count, view.identities = after, after_ids
        bay.confidences = tuple(cand.confidences[-after:]) if after else ()
        bay.candidate = None
        return BayChange(
            camera_id=self.camera_id,
            bay_id=view.bay_id,
            at=at,
            kind=kind,
            delta=after - before,
            count_before=before,
            count_after=after,
            identities=tuple(sorted(moved)),
            confidence=round(min(1.0, confidence), 3),
            frame_index=index,
        )

    def settled(self, bay_id: str) -> bool:
        """Whether the bay's belief matches what was last seen and nothing stands in front."""
        bay = self._bays[bay_id]
        return bay.initialised and bay.candidate is None and not bay.occluded

    # --- reference pictures and baselines -------------------------------------------------

    def _crop(self, bay: _Bay, grey: Image) -> tuple[Image, Image]:
        h, w = grey.shape[:2]
        b = bay.bounds
        x1, y1 = int(b.x1 * w), int(b.y1 * h)
        x2, y2 = max(x1 + 1, int(np.ceil(b.x2 * w))), max(y1 + 1, int(np.ceil(b.y2 * h)))
        crop = grey[y1:y2, x1:x2]
        if bay.mask is None or bay.mask.shape != crop.shape:
            pts = np.array([[(x * w - x1), (y * h - y1)] for x, y in bay.view.polygon], np.int32)
            mask = np.zeros(crop.shape, np.uint8)
            cv2.fillPoly(mask, [pts], 255)
            bay.mask = mask
        return crop.copy(), bay.mask

    def set_reference(self, bay_id: str, grey: Image) -> None:
        """Remember how the bay looks now (a small grey picture of the whole frame)."""
        bay = self._bays[bay_id]
        bay.reference, _ = self._crop(bay, grey)

    def difference(self, bay_id: str, grey: Image, level: float = 25.0) -> float | None:
        """The share of the bay that no longer looks like its reference, lighting aside.

        The reference is first scaled by the bay's overall brightness ratio (light drifts
        multiply every pixel alike), then pixels further off than `level` grey steps count.
        """
        bay = self._bays[bay_id]
        if bay.reference is None:
            return None
        crop, mask = self._crop(bay, grey)
        if crop.shape != bay.reference.shape:
            return None
        inside = mask > 0
        if not inside.any():
            return None
        now = crop[inside].astype(np.float32)
        ref = bay.reference[inside].astype(np.float32)
        gain = float(np.median(now + 1.0) / np.median(ref + 1.0))
        off = np.abs(now - gain * ref) > level
        return float(np.count_nonzero(off)) / off.size

    def take_baseline(self, bay_id: str, at: datetime, grey: Image | None) -> Baseline:
        """Record the bay as it is now, at pledge time, and make it the reference picture."""
        bay = self._bays[bay_id]
        picture = None
        if grey is not None:
            picture, _ = self._crop(bay, grey)
            bay.reference = picture
        bay.baseline = Baseline(bay_id, at, bay.view.count, frozenset(bay.view.identities), picture)
        return bay.baseline

    def baseline(self, bay_id: str) -> Baseline | None:
        """The bay's pledge-time baseline, if one was taken."""
        return self._bays[bay_id].baseline
