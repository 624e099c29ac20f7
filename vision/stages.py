"""The camera pipeline's stages and the values that pass between them.

Each camera runs its own worker: source -> motion gate -> detector(s) -> tracker -> bay
evaluator -> event sink, with tamper checks on every analysed frame. Stages meet only through
the small protocols below, so a stage can be swapped (MOG2 for frame differencing, a marker
reader beside the YOLO detector) without the others noticing. Geometry is in normalised image
coordinates (0..1), the same as the bay polygons stored by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Frame:
    """One decoded picture of a camera, with when it was taken and its place in the stream."""

    camera_id: str
    index: int
    at: datetime
    image: Image  # BGR, H x W x 3


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in normalised image coordinates (x1 < x2, y1 < y2)."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def centre(self) -> tuple[float, float]:
        """The box's centre point."""
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)


@dataclass(frozen=True)
class Detection:
    """Something a detector saw: its class, box, confidence and, for markers, an identity."""

    label: str
    box: Box
    confidence: float
    identity: str | None = None


@dataclass(frozen=True)
class Track:
    """A detection followed across frames under a stable track id."""

    track_id: int
    detection: Detection
    age: int  # frames since the track was born


class MovementKind(StrEnum):
    """Whether goods came into a bay or left it."""

    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class BayChange:
    """A stable change of a bay's contents: the delta, who moved and how sure we are."""

    camera_id: str
    bay_id: str
    at: datetime
    kind: MovementKind
    delta: int  # signed: negative when goods left
    count_before: int
    count_after: int
    identities: tuple[str, ...]
    confidence: float
    frame_index: int


class TamperKind(StrEnum):
    """Ways a camera stops telling the truth about its bays."""

    COVERED = "covered"  # lens covered or scene dark
    BLINDED = "blinded"  # flooded with light
    DEFOCUSED = "defocused"
    MOVED = "moved"  # the scene shifted against its reference
    FROZEN = "frozen"  # the same picture over and over
    SIGNAL_LOSS = "signal_loss"  # no frames at all


@dataclass(frozen=True)
class TamperFinding:
    """A tamper check that has fired (or cleared) on a camera, with its measured value."""

    camera_id: str
    at: datetime
    kind: TamperKind
    active: bool  # True when it starts, False when the camera is back to normal
    measure: float
    frame_index: int | None = None


@dataclass
class BayView:
    """A bay as one camera sees it: its outline and what the evaluator believes is inside."""

    bay_id: str
    polygon: Sequence[tuple[float, float]]
    count: int = 0
    identities: set[str] = field(default_factory=set)


class FrameSource(Protocol):
    """Frames of one camera; reconnects on its own and yields None while the feed is down."""

    camera_id: str

    def read(self) -> Frame | None:
        """The next frame at the analysis rate, or None when none is available now."""
        ...

    def close(self) -> None:
        """Release the underlying stream."""
        ...


class MotionGate(Protocol):
    """A cheap test that tells where a frame changed since the last one."""

    def changed(self, frame: Frame) -> list[Box]:
        """Regions that changed; empty when the scene is still."""
        ...


class Detector(Protocol):
    """Finds objects of interest in a frame."""

    def detect(self, image: Image) -> list[Detection]:
        """Detections in the image, boxes normalised to its size."""
        ...


class Tracker(Protocol):
    """Keeps identities of detections across frames."""

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """The live tracks after this frame's detections."""
        ...


class EventSink(Protocol):
    """Where the pipeline's findings go: the service, a file, a test's list."""

    def bay_changed(self, change: BayChange, frame: Frame) -> None:
        """A stable change of a bay's contents, with the frame that settled it."""
        ...

    def tamper(self, finding: TamperFinding, frame: Frame | None) -> None:
        """A tamper check fired or cleared; frame is None on signal loss."""
        ...
