"""Letterboxing: fit an image into the model's square input without distorting it, and back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.stages import Image

PAD_VALUE = 114  # the grey ultralytics trains with, so padding looks like what the model saw


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed in the model input: scale, then padding left and top."""

    scale: float
    pad_x: float
    pad_y: float
    width: int  # original image size
    height: int


def letterbox(image: Image, size: tuple[int, int]) -> tuple[Image, Letterbox]:
    """Resize keeping aspect ratio and pad to `size` (width, height), centred."""
    out_w, out_h = size
    h, w = image.shape[:2]
    scale = min(out_w / w, out_h / h)
    new_w, new_h = round(w * scale), round(h * scale)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = (
        image
        if (new_w, new_h) == (w, h)
        else cv2.resize(image, (new_w, new_h), interpolation=interp)
    )
    pad_x = (out_w - new_w) / 2
    pad_y = (out_h - new_h) / 2
    left, top = round(pad_x - 0.1), round(pad_y - 0.1)
    right, bottom = out_w - new_w - left, out_h - new_h - top
    padded = cv2.copyMakeBorder(
        resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    return np.asarray(padded, dtype=np.uint8), Letterbox(scale, float(left), float(top), w, h)


def unletterbox(
    boxes_xyxy: npt.NDArray[np.float32], placement: Letterbox
) -> npt.NDArray[np.float32]:
    """Model-input pixel boxes (N x 4, x1 y1 x2 y2) to normalised boxes of the original image."""
    out = boxes_xyxy.astype(np.float32, copy=True)
    out[:, [0, 2]] = (out[:, [0, 2]] - placement.pad_x) / placement.scale / placement.width
    out[:, [1, 3]] = (out[:, [1, 3]] - placement.pad_y) / placement.scale / placement.height
    return np.clip(out, 0.0, 1.0)
