"""How far ahead of our clock a time from a device or another system is still believed.

Readers, cameras, capturing systems and price feeds keep their own clocks, which drift. A time a
little ahead of ours is drift; one further ahead is refused, because a future time would keep a
tag "present", an event or a price current, until that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CLOCK_SKEW = timedelta(minutes=5)


def ahead_of_clock(moment: datetime, now: datetime, skew: timedelta = CLOCK_SKEW) -> bool:
    """Whether moment lies further ahead of now than a drifting clock explains."""
    return moment > now + skew
