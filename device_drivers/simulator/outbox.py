"""A device's outbox: numbers messages with ``seq`` and keeps each until an ack covers it.

This is the device half of the zero-loss contract (DESIGN.md §1): publish, keep, resend
everything still unacked after a reconnect, drop only on an ``ack`` with seq >= ours.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Any


class Outbox:
    def __init__(self, start_seq: int = 0) -> None:
        self.seq = start_seq
        self.acked = start_seq
        self._pending: OrderedDict[int, tuple[str, bytes]] = OrderedDict()

    def add(self, topic: str, fields: dict[str, Any], ts: datetime) -> tuple[int, bytes]:
        """Give the next ``seq`` to a message and keep it; returns (seq, payload bytes)."""
        self.seq += 1
        payload = json.dumps({"v": 1, "seq": self.seq, "ts": ts.isoformat(), **fields},
                             ensure_ascii=False, separators=(",", ":")).encode()
        self._pending[self.seq] = (topic, payload)
        return self.seq, payload

    def ack(self, seq: int) -> int:
        """Drop everything up to ``seq``; returns how many messages that released."""
        released = 0
        while self._pending:
            first = next(iter(self._pending))
            if first > seq:
                break
            del self._pending[first]
            released += 1
        self.acked = max(self.acked, seq)
        return released

    def pending(self) -> list[tuple[int, str, bytes]]:
        """Unacked messages in seq order, to resend after a reconnect."""
        return [(s, t, p) for s, (t, p) in self._pending.items()]

    def __len__(self) -> int:
        return len(self._pending)
