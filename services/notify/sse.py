"""Live alert events per organisation, fanned out in process to Server-Sent Event streams."""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

# A subscriber this far behind is cut off; it reconnects with Last-Event-ID and replays instead.
QUEUE_LIMIT = 1000
KEEPALIVE_SECONDS = 15.0


@dataclass(eq=False)
class Subscriber:
    """One open stream: its organisation, the event loop it reads on and its queue."""

    org_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    def offer(self, document: dict[str, Any] | None) -> None:
        """Queue an event; on overflow, end the stream so the client replays what it missed."""
        try:
            self.queue.put_nowait(document)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Broadcaster:
    """Hands each published event to the open streams of its organisation, and to no other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, org_id: str) -> Subscriber:
        """Open a stream for an organisation on the running event loop."""
        subscriber = Subscriber(org_id, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Close a stream."""
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, org_id: str, document: dict[str, Any]) -> int:
        """Send an event to the organisation's streams, from any thread; returns how many."""
        with self._lock:
            targets = [s for s in self._subscribers if s.org_id == org_id]
        sent = 0
        for subscriber in targets:
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.offer, document)
                sent += 1
            except RuntimeError:
                # The stream's loop has closed; it will never read again.
                self.unsubscribe(subscriber)
        return sent


_by_engine: weakref.WeakKeyDictionary[Engine, Broadcaster] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def broadcaster_for(bind: Engine | Connection) -> Broadcaster:
    """The broadcaster of one database: whoever commits to it reaches whoever streams from it."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _registry_lock:
        found = _by_engine.get(engine)
        if found is None:
            found = _by_engine[engine] = Broadcaster()
        return found


def format_event(document: dict[str, Any]) -> str:
    """One SSE message: the sequence number as id, so a reconnect can say where it stopped."""
    data = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return f"id: {document['seq']}\nevent: {document['type']}\ndata: {data}\n\n"


async def stream_events(
    broadcaster: Broadcaster,
    org_id: str,
    after: int | None,
    replay: Callable[[int], list[dict[str, Any]]],
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[str]:
    """Replay events after `after`, then follow live ones, without gaps or repeats."""
    # Subscribe before replaying, so nothing committed in between is missed; duplicates that
    # arrive both ways are dropped by sequence number.
    subscriber = broadcaster.subscribe(org_id)
    try:
        last = after
        if after is not None:
            for missed in await asyncio.to_thread(replay, after):
                last = missed["seq"]
                yield format_event(missed)
        yield ": connected\n\n"
        while True:
            try:
                document = await asyncio.wait_for(subscriber.queue.get(), keepalive)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if document is None:
                return
            if last is not None and document["seq"] <= last:
                continue
            last = document["seq"]
            yield format_event(document)
    finally:
        broadcaster.unsubscribe(subscriber)
