"""Fan-out of live-index changes to the browsers watching the map (server-sent events).

One listener on the index turns each batch of changes into one SSE frame per distinct
(reach, device kind, redaction) among the subscribers, not one per subscriber: fifty
dispatchers of the same district cost one encoding. Devices that left a subscriber's reach
(moved to a team it cannot see, or out of the index) are named in an ``event: remove`` frame.
A subscriber that falls behind (its queue full) is told to start over (``event: resync``)
instead of slowing the others or growing without bound; the browser then reconnects and gets a
fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence

from hub.live.index import LiveIndex
from hub.live.model import Gone, LiveDevice

RESYNC = b"event: resync\ndata: {}\n\n"


Key = tuple[frozenset[str], str | None, bool]


class FeedSubscriber:
    def __init__(
        self, scope: frozenset[str], device_type: str | None, redact: bool, size: int
    ) -> None:
        self.scope = scope
        self.device_type = device_type
        self.redact = redact
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(size)
        self.overflowed = False

    def put(self, frame: bytes) -> None:
        if self.overflowed:
            return
        if self.queue.full():
            self.overflowed = True
            self.queue.get_nowait()  # make room for the last word
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(frame)


class LiveFeed:
    """Subscribe it to the index (``index.subscribe(feed)``); streams ``subscribe()``."""

    def __init__(self, index: LiveIndex, queue_size: int = 256) -> None:
        self._index = index
        self._subscribers: set[FeedSubscriber] = set()
        self._size = queue_size
        self.frames_built = 0  # distinct frames encoded: shared by subscribers of one reach

    def subscribe(
        self, scope: frozenset[str], device_type: str | None = None, *, redact: bool = False
    ) -> FeedSubscriber:
        sub = FeedSubscriber(scope, device_type, redact, self._size)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: FeedSubscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def __call__(self, changed: Sequence[LiveDevice], gone: Sequence[Gone] = ()) -> None:
        if not self._subscribers:
            return
        by_unit: dict[str, list[LiveDevice]] = defaultdict(list)
        for d in changed:
            by_unit[d.org_unit_id].append(d)
        frames: dict[Key, bytes] = {}
        for sub in list(self._subscribers):
            key = (sub.scope, sub.device_type, sub.redact)
            if key not in frames:
                frames[key] = self._frame(by_unit, gone, key)
            if frames[key]:
                sub.put(frames[key])

    def _frame(self, by_unit: dict[str, list[LiveDevice]], gone: Sequence[Gone], key: Key) -> bytes:
        scope, device_type, redact = key
        rows = [
            row
            for unit_id, devices in by_unit.items()
            if unit_id in scope
            for d in devices
            if device_type is None or d.device_type == device_type
            if (row := self._index.row(d.device_id, redact=redact)) is not None
        ]
        # Left a unit in reach, and not for another unit in reach (then it is among the rows).
        removed = [
            g.device_id
            for g in gone
            if g.org_unit_id in scope
            and not (g.moved and (d := self._index.get(g.device_id)) and d.org_unit_id in scope)
        ]
        out = b""
        if rows:
            self.frames_built += 1
            out = b'event: update\ndata: {"rows":[' + b",".join(rows) + b"]}\n\n"
        if removed:
            out += b"event: remove\ndata: " + json.dumps({"ids": removed}).encode() + b"\n\n"
        return out
