"""Turn received MQTT messages into one batch of rows: reads, dead letters, reader updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from pledge.clock import CLOCK_SKEW, ahead_of_clock
from services.ingest.payloads import MAX_PAYLOAD_BYTES, parse_read_batch, parse_status
from services.ingest.topics import Channel, parse_topic

# Dead letters keep the raw bytes, but never more than the payload limit.
_KEPT_BYTES = MAX_PAYLOAD_BYTES


@dataclass
class Batch:
    """Everything one database transaction writes for a run of messages."""

    reads: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    last_seen: dict[str, datetime] = field(default_factory=dict)
    statuses: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    messages: int = 0
    # Beyond it a read would keep its tag "present", hiding goods leaving: dead-lettered.
    max_future_skew: timedelta = CLOCK_SKEW

    def add(self, topic: str, payload: bytes, now: datetime, known: dict[str, str] | None) -> None:
        """Route one message; `known` maps reader id to warehouse code (None: accept all)."""
        self.messages += 1
        parsed = parse_topic(topic)
        if parsed is None:
            self._dead(topic, payload, now, "bad_topic", "topic does not follow the scheme")
            return
        if parsed.channel is Channel.STATUS and not payload:
            return  # an empty retained message only clears the retained status
        if known is not None and known.get(parsed.reader_id) != parsed.warehouse_code:
            self._dead(
                topic, payload, now, "unknown_reader", f"{parsed.reader_id} is not registered"
            )
            return
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._dead(
                topic, payload, now, "oversized", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}"
            )
            return
        if parsed.channel is Channel.STATUS:
            status = parse_status(payload)
            if status is None:
                self._dead(topic, payload, now, "wrong_schema", "status must be online/offline")
                return
            self.statuses[parsed.reader_id] = (status, now)
            self.last_seen[parsed.reader_id] = now
            return
        self.last_seen[parsed.reader_id] = now
        if parsed.channel is Channel.HEARTBEAT:
            return
        try:
            self._add_reads(topic, payload, now, parsed.warehouse_code, parsed.reader_id)
        except Exception as exc:
            # The worker retries a batch that fails to write: a message that cannot even be
            # turned into rows would be retried for ever and stall every reader behind it.
            self._dead(topic, payload, now, "unprocessable", f"{type(exc).__name__}: {exc}")

    def _add_reads(
        self, topic: str, payload: bytes, now: datetime, warehouse_code: str, reader_id: str
    ) -> None:
        try:
            batch = parse_read_batch(payload)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            reason = "malformed_json" if errors[0]["type"] == "json_invalid" else "wrong_schema"
            self._dead(topic, payload, now, reason, _summary(errors))
            return
        strangers = {r.reader_id for r in batch.reads} - {reader_id}
        if strangers:
            detail = f"reads of {sorted(strangers)[:3]} on the topic of {reader_id}"
            self._dead(topic, payload, now, "reader_mismatch", detail)
            return
        ahead = [
            r for r in batch.reads if ahead_of_clock(r.seen_at_utc(), now, self.max_future_skew)
        ]
        if ahead:
            detail = (
                f"{len(ahead)} read(s) seen after now + {self.max_future_skew}, "
                f"first at {ahead[0].seen_at.isoformat()}"
            )
            self._dead(topic, payload, now, "clock_skew", detail)
            return
        rows: dict[str, dict[str, Any]] = {}
        for read in batch.reads:
            key = read.dedup_key()
            rows[key] = {
                "dedup_key": key,
                "warehouse_code": warehouse_code,
                "reader_id": reader_id,
                "antenna": read.antenna,
                "epc": read.canonical_epc(),
                "rssi": read.rssi,
                "seen_at": read.seen_at_utc(),
                "seq": read.seq,
                "received_at": now,
            }
        # Added only once every read made a row: a message goes in whole or not at all.
        self.reads.update(rows)

    def _dead(self, topic: str, payload: bytes, now: datetime, reason: str, detail: str) -> None:
        self.dead_letters.append(
            {
                "topic": topic[:512],
                "reason": reason,
                "detail": detail[:2000],
                "payload": payload[:_KEPT_BYTES],
                "payload_size": len(payload),
                "received_at": now,
            }
        )


def _summary(errors: list[Any]) -> str:
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'payload'}: {first.get('msg', 'invalid')}{more}"
