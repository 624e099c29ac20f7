"""The ONNX YOLO detector on the shipped model, with markers read inside the goods it finds."""

from __future__ import annotations

from vision.config import SHIPPED_MODEL
from vision.detectors.composite import CompositeDetector
from vision.detectors.markers import MarkerDetector
from vision.detectors.onnx_yolo import OnnxYoloDetector
from vision.stages import Box
from vision.synth import iter_frames
from vision.zones import iou

MODEL = SHIPPED_MODEL
GOODS = ("pallet", "coil", "box")


def test_the_model_declares_its_classes_and_input_size() -> None:
    detector = OnnxYoloDetector(MODEL)
    assert sorted(detector.names.values()) == ["box", "coil", "forklift", "pallet", "person"]
    assert detector.input_size == (320, 320)
    assert detector.session.get_session_options().intra_op_num_threads == 1


def test_goods_are_found_where_they_were_drawn_and_named_by_their_markers() -> None:
    frame = next(iter(iter_frames("static", seed=1003)))
    h, w = frame.image.shape[:2]
    drawn = [o for o in frame.objects if o.label in GOODS and o.visible > 0.9]
    assert drawn
    detector = CompositeDetector(OnnxYoloDetector(MODEL), MarkerDetector())
    found = [d for d in detector.detect(frame.image) if d.label in GOODS]
    matched = 0
    for obj in drawn:
        x1, y1, x2, y2 = obj.box
        truth = Box(x1 / w, y1 / h, x2 / w, y2 / h)
        best = max(found, key=lambda d: iou(d.box, truth), default=None)
        if best is not None and iou(best.box, truth) >= 0.5:
            matched += 1
            if obj.identity:
                assert best.identity == obj.identity
    # The model's own quality is tested with it (tests/vision_synth); here the point is that
    # our letterbox and decoding put its boxes back where the goods were drawn.
    assert matched >= 0.75 * len(drawn)
    assert len(found) <= len(drawn) + 1
