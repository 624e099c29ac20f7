"""Synthetic warehouse clips with ground truth: bays, goods, forklifts, people and tampering.

`render(name, out_dir, seed)` writes an mp4v video and a truth JSON for one of `SCENARIOS`;
`iter_frames` yields the frames with the exact boxes of everything drawn (for training sets).
"""

from vision.synth.render import SynthClip, SynthFrame, SynthObject, iter_frames, render
from vision.synth.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SynthClip", "SynthFrame", "SynthObject", "iter_frames", "render"]
