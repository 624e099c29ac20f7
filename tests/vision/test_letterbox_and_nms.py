"""Our letterbox and YOLO decoding: boxes land back where they were, NMS keeps one per object."""

from __future__ import annotations

import numpy as np
import pytest

from vision.detectors.letterbox import PAD_VALUE, letterbox, unletterbox
from vision.detectors.nms import classwise_nms, decode_end_to_end, decode_yolo, nms
from vision.detectors.onnx_yolo import parse_names


def test_a_wide_frame_is_scaled_to_fit_and_padded_top_and_bottom() -> None:
    image = np.full((360, 640, 3), 200, np.uint8)
    padded, placement = letterbox(image, (320, 320))
    assert padded.shape == (320, 320, 3)
    assert placement.scale == pytest.approx(0.5)
    assert placement.pad_x == 0 and placement.pad_y == 70
    assert (padded[:70] == PAD_VALUE).all() and (padded[250:] == PAD_VALUE).all()
    assert (padded[70:250] == 200).all()


def test_boxes_in_model_pixels_come_back_normalised_to_the_original_frame() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    _, placement = letterbox(image, (320, 320))
    # A box covering x 160..480, y 90..270 of the 640x360 frame sits at half size under the pad.
    model_box = np.array([[80, 70 + 45, 240, 70 + 135]], np.float32)
    back = unletterbox(model_box, placement)
    assert back[0] == pytest.approx([0.25, 0.25, 0.75, 0.75], abs=1e-6)


def test_boxes_reaching_into_the_padding_are_clipped_to_the_frame() -> None:
    _, placement = letterbox(np.zeros((360, 640, 3), np.uint8), (320, 320))
    back = unletterbox(np.array([[-10, 0, 330, 320]], np.float32), placement)
    assert back[0] == pytest.approx([0, 0, 1, 1])


def test_a_tall_frame_is_padded_left_and_right() -> None:
    _, placement = letterbox(np.zeros((400, 200, 3), np.uint8), (320, 320))
    assert placement.scale == pytest.approx(0.8)
    assert placement.pad_x == 80 and placement.pad_y == 0


def test_nms_keeps_the_best_of_overlapping_boxes_and_the_separate_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.8, 0.9, 0.7, 0.6], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_classwise_nms_never_lets_one_class_suppress_another() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 1, 0])
    assert classwise_nms(boxes, scores, classes, 0.5).tolist() == [0, 1]


def _head(rows: list[tuple[float, float, float, float, list[float]]], n: int = 20) -> np.ndarray:
    """A 1 x (4+nc) x n ultralytics head with the given candidates and empty filler anchors."""
    nc = len(rows[0][4])
    out = np.zeros((1, 4 + nc, n), np.float32)
    for j, (cx, cy, w, h, scores) in enumerate(rows):
        out[0, :4, j] = (cx, cy, w, h)
        out[0, 4:, j] = scores
    return out


def test_decoding_the_ultralytics_head_gives_corner_boxes_with_their_class() -> None:
    head = _head(
        [
            (100, 100, 40, 20, [0.1, 0.9, 0.0]),
            (102, 101, 40, 20, [0.1, 0.85, 0.0]),  # the same object again
            (200, 150, 30, 30, [0.6, 0.0, 0.2]),
            (50, 50, 10, 10, [0.1, 0.2, 0.1]),  # below the threshold
        ]
    )
    boxes, scores, classes = decode_yolo(head, 3, 0.35, 0.5)
    assert classes.tolist() == [1, 0]
    assert scores.tolist() == pytest.approx([0.9, 0.6])
    assert boxes[0].tolist() == pytest.approx([80, 90, 120, 110])
    assert boxes[1].tolist() == pytest.approx([185, 135, 215, 165])


def test_decoding_a_head_with_nothing_above_threshold_gives_nothing() -> None:
    boxes, scores, classes = decode_yolo(_head([(1, 1, 1, 1, [0.1, 0.1])]), 2, 0.35, 0.5)
    assert boxes.shape == (0, 4) and scores.size == 0 and classes.size == 0


def test_an_anchors_first_head_is_decoded_the_same() -> None:
    head = _head([(100, 100, 40, 20, [0.1, 0.9])])
    first = decode_yolo(head, 2, 0.35, 0.5)
    second = decode_yolo(head.transpose(0, 2, 1), 2, 0.35, 0.5)
    assert first[0].tolist() == second[0].tolist()


def test_an_end_to_end_export_is_filtered_by_score_only() -> None:
    out = np.array([[[1, 2, 3, 4, 0.9, 2], [5, 6, 7, 8, 0.2, 1]]], np.float32)
    boxes, _scores, classes = decode_end_to_end(out, 0.35)
    assert boxes.tolist() == [[1, 2, 3, 4]] and classes.tolist() == [2]


def test_class_names_are_read_from_the_python_literal_ultralytics_writes() -> None:
    names = "{0: 'pallet', 1: 'coil', 2: 'box', 3: 'forklift', 4: 'person'}"
    assert parse_names(names) == {0: "pallet", 1: "coil", 2: "box", 3: "forklift", 4: "person"}
    assert parse_names("['a', 'b']") == {0: "a", 1: "b"}


def test_class_names_that_are_code_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_names("__import__('os').system('true')")
