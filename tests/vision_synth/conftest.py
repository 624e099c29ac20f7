"""Every synth scenario, rendered once per test session the first time a test asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vision_synth.synth_helpers import SEED
from vision.synth import SCENARIOS, SynthClip, render


class Clips(dict[str, SynthClip]):
    """Scenario clips rendered on first use, so a selection of tests renders only what it reads."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out

    def __missing__(self, name: str) -> SynthClip:
        assert name in SCENARIOS
        self[name] = clip = render(name, self.out, seed=SEED)
        return clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthClip]:
    """Every scenario rendered at the default size and rate with one seed."""
    return Clips(tmp_path_factory.mktemp("synth"))
