"""Export synth frames as a YOLO-format detection dataset, labelled with the renderer's boxes.

Frames are sampled across every scenario and many seeds; frames with a tampered view (covered,
blinded, defocused, frozen, moved) are left out because their boxes no longer match what can be
seen. Validation uses seeds of its own, so no clip feeds both splits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from vision.synth.render import SynthFrame, frames
from vision.synth.scenarios import SCENARIOS, build_script
from vision.synth.script import Script
from vision.synth.truth import frame_count

CLASSES = ("pallet", "coil", "box", "forklift", "person")
MIN_VISIBLE = 0.4  # objects mostly outside the picture are not labelled
TRAIN_SEEDS = 100
VAL_SEEDS = 900


def yolo_lines(frame: SynthFrame, width: int, height: int) -> list[str]:
    """YOLO label lines (class cx cy w h, normalised) for the objects drawn in a frame."""
    lines = []
    for obj in frame.objects:
        if obj.visible < MIN_VISIBLE:
            continue
        x1, y1, x2, y2 = obj.box
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        w, h = (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{CLASSES.index(obj.label)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def _picks(script: Script, n: int, per_clip: int, rng: np.random.Generator) -> set[int]:
    """Frame indices to sample; half of them while a forklift (or else a person) is in view,
    since those are rarer than goods and the detector must learn them as well."""
    forklifts = [a for a in script.actors if a.look.kind == "forklift"]
    movers = forklifts or [a for a in script.actors if not a.is_goods]
    busy = [i for i in range(n) if any(0.0 <= a.path.at(i / 10)[0] <= 1.0 for a in movers)]
    if forklifts:
        per_clip *= 2  # forklifts show up in few scenarios, so those clips give more frames
    picks = {int(i) for i in rng.choice(n, size=min(n, per_clip - per_clip // 2), replace=False)}
    if busy:
        picks |= {
            int(i) for i in rng.choice(busy, size=min(len(busy), per_clip // 2), replace=False)
        }
    return picks


def _split(
    out: Path, split: str, count: int, first_seed: int, per_clip: int, size: tuple[int, int]
) -> int:
    width, height = size
    images, labels = out / "images" / split, out / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    names = list(SCENARIOS)
    written, clip = 0, 0
    while written < count:
        name, seed = names[clip % len(names)], first_seed + clip
        clip += 1
        script = build_script(name, seed)
        rng = np.random.default_rng([seed, 31])
        n = frame_count(script, 10)
        picks = _picks(script, n, per_clip, rng)
        for frame in frames(script, width, height, 10, only=picks):
            lines = yolo_lines(frame, width, height)
            if not frame.clear or not lines or written >= count:
                continue
            stem = f"{name}-{seed}-{frame.index:04d}"
            cv2.imwrite(str(images / f"{stem}.jpg"), frame.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            (labels / f"{stem}.txt").write_text("\n".join(lines) + "\n")
            written += 1
    return written


def export_dataset(
    out: Path,
    train: int = 300,
    val: int = 60,
    per_clip: int = 6,
    size: tuple[int, int] = (640, 360),
) -> Path:
    """Write images/, labels/ and data.yaml under out; returns the data.yaml path."""
    out = Path(out).resolve()
    _split(out, "train", train, TRAIN_SEEDS, per_clip, size)
    _split(out, "val", val, VAL_SEEDS, per_clip, size)
    data = out / "data.yaml"
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(CLASSES))
    data.write_text(f"path: {out}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data


def main(argv: list[str] | None = None) -> None:
    """Command line: export a synth dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--val", type=int, default=60)
    parser.add_argument("--per-clip", type=int, default=6)
    args = parser.parse_args(argv)
    print(export_dataset(args.out, args.train, args.val, args.per_clip))


if __name__ == "__main__":
    main()
