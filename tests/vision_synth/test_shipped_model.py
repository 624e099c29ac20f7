"""The shipped goods detector finds what the renderer drew in clips it never trained on."""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from vision.synth.render import SynthFrame, frames
from vision.synth.scenarios import build_script
from vision.train.dataset import CLASSES

MODEL = Path(__file__).resolve().parents[2] / "vision" / "models" / "goods-yolo-n-320.onnx"
SIZE = 320
HELD_OUT_SEEDS = (1000, 1001)  # training uses seeds from 100, validation from 900


@pytest.fixture(scope="module")
def session() -> ort.InferenceSession:
    """The shipped model on one CPU thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])


def _letterbox(image: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    h, w = image.shape[:2]
    scale = min(SIZE / w, SIZE / h)
    nw, nh = round(w * scale), round(h * scale)
    canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
    left, top = (SIZE - nw) // 2, (SIZE - nh) // 2
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + nh, left : left + nw] = resized
    return canvas, scale, left, top


def _detect(session: ort.InferenceSession, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    canvas, scale, left, top = _letterbox(image)
    blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
    (out,) = session.run(None, {session.get_inputs()[0].name: blob})
    preds = out[0].T  # N x (4 + classes)
    scores = preds[:, 4:].max(axis=1)
    keep = scores > 0.4
    preds, scores = preds[keep], scores[keep]
    classes = preds[:, 4:].argmax(axis=1)
    cx, cy, w, h = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
    x1, y1 = (cx - w / 2 - left) / scale, (cy - h / 2 - top) / scale
    boxes = np.stack([x1, y1, w / scale, h / scale], axis=1)
    picked = cv2.dnn.NMSBoxesBatched(boxes.tolist(), scores.tolist(), classes.tolist(), 0.4, 0.5)
    return [
        (CLASSES[int(classes[i])], np.array([*boxes[i, :2], *(boxes[i, :2] + boxes[i, 2:])]))
        for i in np.array(picked).ravel()
    ]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _held_out_frames() -> list[SynthFrame]:
    picked = []
    for seed in HELD_OUT_SEEDS:
        script = build_script("mixed", seed)
        picked += [f for f in frames(script, only={10, 60, 95, 140, 200, 300}) if f.clear]
    return picked


def test_the_model_declares_the_contract_classes_and_input(session: ort.InferenceSession) -> None:
    meta = session.get_modelmeta().custom_metadata_map
    names = ast.literal_eval(meta["names"])
    assert [names[i] for i in sorted(names)] == list(CLASSES)
    assert session.get_inputs()[0].shape == [1, 3, SIZE, SIZE]
    assert session.get_outputs()[0].shape[1] == 4 + len(CLASSES)
    assert MODEL.stat().st_size < 12 * 1024 * 1024


def test_the_model_finds_the_drawn_objects_in_held_out_clips(session: ort.InferenceSession) -> None:
    hits = truths = found = correct = 0
    for frame in _held_out_frames():
        wanted = [(o.label, np.array(o.box)) for o in frame.objects if o.visible > 0.9]
        got = _detect(session, frame.image)
        truths += len(wanted)
        found += len(got)
        hits += sum(any(lab == g and _iou(box, b) >= 0.5 for g, b in got) for lab, box in wanted)
        correct += sum(any(lab == g and _iou(box, b) >= 0.5 for lab, box in wanted) for g, b in got)
    assert truths > 40
    assert hits / truths >= 0.9, f"recall {hits}/{truths}"
    assert correct / found >= 0.9, f"precision {correct}/{found}"
