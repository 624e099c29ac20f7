"""`python -m vision.synth OUT [NAME ...] --seed N`: render scenarios (all by default) to OUT."""

from __future__ import annotations

import argparse
from pathlib import Path

from vision.synth.render import render
from vision.synth.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and render each requested scenario, printing where it went."""
    parser = argparse.ArgumentParser(prog="python -m vision.synth", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--seconds", type=float)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    for name in args.names or list(SCENARIOS):
        clip = render(name, args.out, args.seed, args.width, args.height, args.fps, args.seconds)
        print(f"{name}: {clip.video} {clip.truth} ({clip.frames} frames)")


if __name__ == "__main__":
    main()
