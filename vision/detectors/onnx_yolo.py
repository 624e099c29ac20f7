"""A YOLO detector for any ultralytics-exported ONNX detection model, on onnxruntime."""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from vision.detectors.letterbox import letterbox, unletterbox
from vision.detectors.nms import decode_end_to_end, decode_yolo
from vision.stages import Box, Detection, Image


def parse_names(raw: str | None) -> dict[int, str]:
    """Class names from the model's `names` metadata (a Python-literal dict or list)."""
    if not raw:
        return {}
    value = ast.literal_eval(raw)  # literal_eval evaluates literals only, never code
    if isinstance(value, dict):
        return {int(k): str(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return dict(enumerate(str(v) for v in value))
    raise ValueError(f"model metadata 'names' is neither a dict nor a list: {raw[:80]!r}")


def _parse_size(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    value = ast.literal_eval(raw)
    if isinstance(value, int):
        return value, value
    h, w = (int(v) for v in value)
    return w, h


class OnnxYoloDetector:
    """Runs an ultralytics ONNX export: our letterbox, decoding and class-wise NMS."""

    def __init__(
        self,
        model_path: Path | str,
        confidence: float = 0.35,
        iou: float = 0.5,
        threads: int = 1,
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"detector model not found: {path}")
        options = ort.SessionOptions()
        # Explicit thread counts: the default takes every core, and several camera workers
        # sharing a small machine then fight over them.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        cv2.setNumThreads(threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        fixed = all(isinstance(d, int) for d in shape[2:4])
        self.input_size: tuple[int, int] = (
            (int(shape[3]), int(shape[2]))
            if fixed
            else (_parse_size(meta.get("imgsz")) or (640, 640))
        )
        names = parse_names(meta.get("names"))
        out_shape = self.session.get_outputs()[0].shape
        if not names:
            channels = out_shape[1] if isinstance(out_shape[1], int) else 0
            names = {i: f"class{i}" for i in range(max(0, channels - 4))}
        self.names = names
        self.num_classes = max(names) + 1 if names else 0
        self.end_to_end = (
            len(out_shape) == 3 and out_shape[-1] == 6 and out_shape[1] != 4 + self.num_classes
        )
        self.confidence = confidence
        self.iou = iou

    def detect(self, image: Image) -> list[Detection]:
        """Detections in a BGR image, boxes normalised to its size."""
        padded, placement = letterbox(image, self.input_size)
        blob = cv2.cvtColor(padded, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None]
        blob = np.ascontiguousarray(blob, dtype=np.float32) / 255.0
        output = self.session.run(None, {self.input_name: blob})[0]
        if self.end_to_end:
            boxes, scores, classes = decode_end_to_end(output, self.confidence)
        else:
            boxes, scores, classes = decode_yolo(
                output, self.num_classes, self.confidence, self.iou
            )
        norm = unletterbox(boxes, placement)
        found: list[Detection] = []
        for (x1, y1, x2, y2), score, cls in zip(norm, scores, classes, strict=True):
            if x2 <= x1 or y2 <= y1:
                continue  # a box wholly in the padding
            label = self.names.get(int(cls), f"class{int(cls)}")
            found.append(
                Detection(label, Box(float(x1), float(y1), float(x2), float(y2)), float(score))
            )
        return found
