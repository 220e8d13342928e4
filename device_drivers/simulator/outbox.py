"""A device's outbox: numbers messages with ``seq`` and keeps each until an ack covers it.

This is the device half of the zero-loss contract (DESIGN.md §1): publish, keep, resend
everything still unacked after a reconnect, drop only on an ``ack`` with seq >= ours. A message
can also vanish while the device stays connected (published before any gateway subscribed, or
queued in a broker that restarted without persistence): so an ack that stays overdue also
triggers a resend of what it should have covered.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class Outbox:
    def __init__(self, start_seq: int = 0) -> None:
        self.seq = start_seq
        self.acked = start_seq
        self._pending: OrderedDict[int, tuple[str, bytes]] = OrderedDict()
        self._sent_at: dict[int, float] = {}

    def mark_sent(self, seq: int, now: float) -> None:
        if seq in self._pending:
            self._sent_at[seq] = now

    def overdue(self, now: float, after: float) -> list[tuple[int, str, bytes]]:
        """Messages sent more than ``after`` seconds ago and still unacked, oldest first."""
        out = []
        for s, (t, p) in self._pending.items():
            if now - self._sent_at.get(s, now) < after:
                break  # later messages were sent later still
            out.append((s, t, p))
        return out

    def add(self, topic: str, fields: dict[str, Any], ts: datetime | str) -> tuple[int, bytes]:
        """Give the next ``seq`` to a message and keep it; returns (seq, payload bytes).

        ``ts`` may be given already in RFC 3339 form (the JT/T 808 bridge has it so).
        """
        self.seq += 1
        stamp = ts if isinstance(ts, str) else ts.isoformat()
        # The envelope spliced in front of the fields' JSON: one encoder call, no merged dict
        # (json.dumps with options builds a new encoder on every call).
        body = _ENCODER.encode(fields)
        head = f'{{"v":1,"seq":{self.seq},"ts":{_ENCODER.encode(stamp)}'
        payload = (head + ("," + body[1:] if len(body) > 2 else "}")).encode()
        self._pending[self.seq] = (topic, payload)
        return self.seq, payload

    def ack(self, seq: int) -> int:
        """Drop everything up to ``seq``; returns how many messages that released."""
        return len(self.release(seq))

    def release(self, seq: int) -> list[bytes]:
        """Drop everything up to ``seq``; returns the payloads it released, oldest first."""
        released: list[bytes] = []
        while self._pending:
            first = next(iter(self._pending))
            if first > seq:
                break
            released.append(self._pending.pop(first)[1])
            self._sent_at.pop(first, None)
        self.acked = max(self.acked, seq)
        return released

    def pending(self) -> list[tuple[int, str, bytes]]:
        """Unacked messages in seq order, to resend after a reconnect."""
        return [(s, t, p) for s, (t, p) in self._pending.items()]

    def __len__(self) -> int:
        return len(self._pending)
