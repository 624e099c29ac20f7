"""Detectors behind the `vision.stages.Detector` protocol: ONNX YOLO, ArUco markers, both."""
