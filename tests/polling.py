"""Waiting on a condition in tests: poll it, never sleep a fixed time and hope."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], seconds: float = 15.0, poll: float = 0.05) -> bool:
    """Poll until the condition holds or time runs out; the condition's last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()
