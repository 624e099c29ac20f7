"""The MQTT topic scheme shared by tag readers, the broker ACLs and the ingest worker.

Every reader publishes only below its own prefix ``pledgewatch/<warehouse_code>/<reader_id>/``:

- ``.../reads``      a JSON batch of tag reads (see services.ingest.payloads), QoS 1;
- ``.../heartbeat``  any payload, sent periodically: the reader is alive;
- ``.../status``     ``online`` published retained on connect (birth), and ``offline`` registered
                     as the MQTT last will (death), also retained, so a late subscriber sees the
                     current state.

Warehouse codes and reader ids are single topic levels: letters, digits, ``-``, ``_`` and ``.``
only, so no id can smuggle in ``/``, ``+`` or ``#``. The ingest worker subscribes to
``pledgewatch/+/+/+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "pledgewatch"
SUBSCRIBE_ALL = f"{ROOT}/+/+/+"
_LEVEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Channel(StrEnum):
    """The last topic level: what kind of message a reader sent."""

    READS = "reads"
    HEARTBEAT = "heartbeat"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class ReaderTopic:
    """A parsed topic: which warehouse, which reader, which channel."""

    warehouse_code: str
    reader_id: str
    channel: Channel


def is_valid_level(value: str) -> bool:
    """True when `value` can be one topic level (a warehouse code or a reader id)."""
    return bool(_LEVEL.match(value))


def reader_prefix(warehouse_code: str, reader_id: str) -> str:
    """The topic prefix a reader owns, e.g. ``pledgewatch/WH1/r01``."""
    for value in (warehouse_code, reader_id):
        if not is_valid_level(value):
            raise ValueError(f"{value!r} is not a valid topic level")
    return f"{ROOT}/{warehouse_code}/{reader_id}"


def topic_for(warehouse_code: str, reader_id: str, channel: Channel) -> str:
    """The full topic of one reader's channel."""
    return f"{reader_prefix(warehouse_code, reader_id)}/{channel.value}"


def parse_topic(topic: str) -> ReaderTopic | None:
    """Parse a topic of the scheme; None when it does not follow it."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != ROOT:
        return None
    _, warehouse_code, reader_id, channel = parts
    if not (is_valid_level(warehouse_code) and is_valid_level(reader_id)):
        return None
    try:
        return ReaderTopic(warehouse_code, reader_id, Channel(channel))
    except ValueError:
        return None
