"""`python -m vision.train`: export a synth dataset (or use yours), train, export ONNX, publish."""

from __future__ import annotations

import argparse
from pathlib import Path

from vision.train.dataset import export_dataset
from vision.train.fit import publish, train

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "goods-yolo-n-320.onnx"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the whole training recipe."""
    parser = argparse.ArgumentParser(prog="python -m vision.train", description=__doc__)
    parser.add_argument(
        "--work", type=Path, default=Path("var/train"), help="dataset and runs folder"
    )
    parser.add_argument(
        "--data", type=Path, help="an existing YOLO data.yaml instead of synth data"
    )
    parser.add_argument("--train-images", type=int, default=240)
    parser.add_argument("--val-images", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--weights", help="our own .pt to continue from (default: from scratch)")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="where the ONNX model goes")
    args = parser.parse_args(argv)

    if args.data is None:
        data = export_dataset(args.work / "data", args.train_images, args.val_images)
        recipe = {
            "source": "vision.synth",
            "train_images": args.train_images,
            "val_images": args.val_images,
        }
    else:
        data, recipe = args.data, {"source": args.data.name}
    arch, name = ("yolo11n.yaml", "goods") if args.weights is None else (args.weights, "goods-more")
    recipe["start"] = Path(arch).name  # a name, not a path: the card ships with the model
    result = train(
        data, args.work, args.epochs, args.imgsz, args.batch, args.workers, arch=arch, name=name
    )
    print(publish(result, args.out, recipe))
    print({k: v for k, v in result.items() if k != "onnx"})


if __name__ == "__main__":
    main()
