"""How one camera is watched: its stream, its bays, its detector and its tamper thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Polygon = list[tuple[float, float]]
# The goods detector that ships with the project (trained on vision.synth clips).
SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "goods-yolo-n-320.onnx"


def shipped_model() -> Path | None:
    """The shipped model's path, or None when this checkout has no model file."""
    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else None


@dataclass(frozen=True)
class TamperThresholds:
    """Limits of the tamper checks; each finding must hold `hold_seconds` to start or clear."""

    dark_mean: float = 35.0  # grey level 0..255 below which the picture counts as dark
    dark_std: float = 14.0  # ...and with so little texture left
    bright_mean: float = 225.0  # grey level above which the picture counts as washed out
    saturated_fraction: float = 0.6  # or this share of pixels clipped at white
    defocus_ratio: float = 0.35  # sharpness below this share of the reference
    moved_shift: float = 0.04  # scene shift as a share of the picture's width
    moved_check_seconds: float = 3.0  # how often the (dearer) scene-shift fit runs when calm
    moved_trigger: float = 6.0  # mean grey change between frames that runs the fit at once
    frozen_seconds: float = 3.0  # identical pictures for this long
    frozen_difference: float = 0.15  # mean absolute grey difference that counts as identical
    signal_loss_seconds: float = 5.0  # no picture at all for this long (wall time)
    hold_seconds: float = 1.0  # hysteresis of every finding
    reference_frames: int = 4  # healthy frames that make the sharpness and scene reference


@dataclass(frozen=True)
class CameraConfig:
    """One camera: where to read it, how often to analyse it, its bays and its checks."""

    camera_id: str
    url: str
    analysis_fps: float = 2.0
    bays: dict[str, Polygon] = field(default_factory=dict)
    model_path: Path | None = None
    stable_seconds: float = 2.0
    markers: bool = True
    loop: bool = False
    realtime: bool = True  # False: read files as fast as possible, timestamps in video time
    tamper: TamperThresholds = field(default_factory=TamperThresholds)
    confidence: float = 0.35  # detector score threshold
    iou: float = 0.5  # NMS overlap threshold
    goods_labels: tuple[str, ...] = ("pallet", "coil", "box")
    occluder_labels: tuple[str, ...] = ("forklift", "person")
    bay_rule: str = "centre"  # "centre" or "overlap": when a box belongs to a bay
    refresh_seconds: float = 30.0  # run the detector at least this often, motion or not
    absence_check_seconds: float = 3.0  # compare each bay with its reference this often
    absence_difference: float = 0.03  # share of a bay unlike its reference that is a change
    motion_width: int = 320  # the motion gate works on a copy this wide
    motion_threshold: int = 18  # grey difference that counts as a changed pixel
    motion_min_area: float = 0.0008  # smallest changed region, share of the picture
    threads: int = 1  # onnxruntime intra-op threads and OpenCV threads per worker
    reconnect_min_seconds: float = 0.5
    reconnect_max_seconds: float = 30.0
    jpeg_quality: int = 80
