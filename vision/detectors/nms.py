"""Non-maximum suppression in numpy, per class, and the YOLO output decoding that needs it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def box_iou_one_to_many(box: Floats, others: Floats) -> Floats:
    """IoU of one x1y1x2y2 box against N others."""
    ix1 = np.maximum(box[0], others[:, 0])
    iy1 = np.maximum(box[1], others[:, 1])
    ix2 = np.minimum(box[2], others[:, 2])
    iy2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(boxes: Floats, scores: Floats, iou_threshold: float) -> Ints:
    """Indices of the boxes kept by greedy NMS, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        overlaps = box_iou_one_to_many(boxes[best], boxes[rest])
        order = rest[overlaps <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def classwise_nms(boxes: Floats, scores: Floats, classes: Ints, iou_threshold: float) -> Ints:
    """NMS run separately per class: a box never suppresses one of another class."""
    keep: list[Ints] = []
    for cls in np.unique(classes):
        idx = np.flatnonzero(classes == cls)
        keep.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    if not keep:
        return np.zeros(0, dtype=np.int64)
    merged = np.concatenate(keep)
    return merged[np.argsort(-scores[merged], kind="stable")]


def decode_yolo(
    output: Floats, num_classes: int, conf_threshold: float, iou_threshold: float
) -> tuple[Floats, Floats, Ints]:
    """Decode an ultralytics detect head, 1 x (4+nc) x N (cx, cy, w, h, class scores).

    Returns x1y1x2y2 boxes in model-input pixels, scores and class ids after class-wise NMS.
    """
    pred = output[0]
    if pred.shape[0] != 4 + num_classes and pred.shape[1] == 4 + num_classes:
        pred = pred.T  # some exports put anchors first
    class_scores = pred[4 : 4 + num_classes].T  # N x nc
    classes = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(class_scores.shape[0]), classes]
    mask = scores >= conf_threshold
    if not np.any(mask):
        empty = np.zeros((0, 4), dtype=np.float32)
        return empty, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    cx, cy, w, h = (pred[i][mask] for i in range(4))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    scores, classes = scores[mask].astype(np.float32), classes[mask].astype(np.int64)
    keep = classwise_nms(boxes, scores, classes, iou_threshold)
    return boxes[keep], scores[keep], classes[keep]


def decode_end_to_end(output: Floats, conf_threshold: float) -> tuple[Floats, Floats, Ints]:
    """Decode an NMS-free export, 1 x N x 6 (x1, y1, x2, y2, score, class), already suppressed."""
    pred = output[0]
    pred = pred[pred[:, 4] >= conf_threshold]
    return (
        pred[:, :4].astype(np.float32),
        pred[:, 4].astype(np.float32),
        pred[:, 5].astype(np.int64),
    )
