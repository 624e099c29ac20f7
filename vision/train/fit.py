"""Train a YOLO detector with ultralytics, offline, and export it to ONNX for the service.

ultralytics (AGPL-3.0) and torch live only in the optional training extra: they are imported
inside `train`, never at module import, and the service runtime never imports this module.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def offline(config_dir: Path) -> None:
    """Keep ultralytics off the network: no downloads, no installs, no telemetry, a local font."""
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    # Its font check reaches for the network even offline unless Arial.ttf is already there.
    font = next((Path(f) for f in FONT_CANDIDATES if Path(f).exists()), None)
    if font is not None:
        for folder in (config_dir, config_dir / "Ultralytics"):
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / "Arial.ttf").exists():
                shutil.copyfile(font, folder / "Arial.ttf")


def train(
    data: Path,
    work: Path,
    epochs: int = 20,
    imgsz: int = 320,
    batch: int = 16,
    workers: int = 0,
    seed: int = 0,
    arch: str = "yolo11n.yaml",
    name: str = "goods",
) -> dict[str, Any]:
    """Train on a YOLO data.yaml, from scratch (an architecture .yaml) or on from our own .pt
    weights; returns the ONNX path and validation metrics."""
    offline(work / "config")
    from ultralytics import YOLO, settings  # the training extra only

    settings.update({"sync": False})
    started = time.monotonic()
    # An architecture file builds a fresh model; a .pt continues from weights we trained
    # ourselves. Either way nothing is fetched.
    model = YOLO(arch)
    model.train(
        data=str(data),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        workers=workers,
        device="cpu",
        project=str(work.resolve() / "runs"),
        name=name,
        exist_ok=True,
        seed=seed,
        deterministic=True,
        pretrained=arch.endswith(".pt"),
        amp=False,
        plots=False,
        val=False,  # one validation at the end: per-epoch validation costs a CPU a lot
    )
    trained = time.monotonic() - started
    metrics = model.val(
        data=str(data), imgsz=imgsz, batch=batch, workers=workers, device="cpu", plots=False
    )
    onnx = Path(model.export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False))
    describe(onnx, f"YOLO11n goods detector ({', '.join(model.names.values())}), {imgsz} px")
    return {
        "onnx": str(onnx),
        "epochs": epochs,
        "imgsz": imgsz,
        "arch": Path(arch).name,
        "train_seconds": round(trained, 1),
        "map50": round(float(metrics.box.map50), 4),
        "map50_95": round(float(metrics.box.map), 4),
        "per_class_map50": {
            model.names[int(c)]: round(float(v), 4)
            for c, v in zip(metrics.box.ap_class_index, metrics.box.ap50, strict=False)
        },
    }


def describe(onnx_path: Path, description: str) -> None:
    """Replace the exporter's description, which names the local dataset path, with our own."""
    import onnx  # the training extra only

    model = onnx.load(str(onnx_path))
    for prop in model.metadata_props:
        if prop.key == "description":
            prop.value = description
    onnx.save(model, str(onnx_path))


def publish(result: dict[str, Any], target: Path, recipe: dict[str, Any]) -> Path:
    """Copy the exported model to target and record its recipe and metrics beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result["onnx"], target)
    card = {k: v for k, v in result.items() if k != "onnx"} | {"data": recipe}
    target.with_suffix(".json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    return target
