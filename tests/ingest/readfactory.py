"""Build read payloads the way a reader would publish them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def read(reader_id: str, seq: int, *, antenna: int = 1) -> dict[str, object]:
    """One read of a distinct tag at a distinct moment."""
    return {
        "reader_id": reader_id,
        "antenna": antenna,
        "epc": f"30340000{seq:016X}",
        "rssi": -55.5,
        "seen_at": (BASE_TIME + timedelta(milliseconds=seq)).isoformat().replace("+00:00", "Z"),
        "seq": seq,
    }


def reads_payload(reader_id: str, first_seq: int, count: int) -> bytes:
    """A ``reads`` message body with `count` consecutive reads."""
    reads = [read(reader_id, seq) for seq in range(first_seq, first_seq + count)]
    return json.dumps({"reads": reads}).encode()
