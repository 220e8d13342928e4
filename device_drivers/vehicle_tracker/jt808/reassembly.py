"""Sub-package reassembly (JT/T 808-2013/2019 §4.4.3, message body attribute bit 13). Pure.

A long message (a big 0x0704 batch, a multimedia upload) arrives as packages 1..N, each with its
own serial; the serials of one message are consecutive, so the first package's serial is
``serial - index + 1`` whichever package comes first. Each package is answered on its own
(0x8001); once all N are in, the joined body is decoded as one message. A message whose
packages stop coming is given up after ``timeout_s``, and the platform asks for the missing
ones with 0x8003 (补传分包请求) before that.

Limits keep a misbehaving terminal from holding memory: at most ``max_messages`` incomplete
messages per connection, ``max_packages`` per message and ``max_bytes`` per joined body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from device_drivers.vehicle_tracker.jt808.framing import FrameError
from device_drivers.vehicle_tracker.jt808.messages import Header, Message

BodyDecoder = Callable[[Header, bytes], Message]


@dataclass
class _Pending:
    first: Header  # header of package 1 (or of the first package seen, with index rebased)
    total: int
    parts: dict[int, bytes]
    started: float
    asked: bool = False  # missing packages already requested


@dataclass(frozen=True, slots=True)
class Missing:
    """Packages to request again with 0x8003: the original first serial and their indices."""

    msg_id: int
    first_serial: int
    indices: tuple[int, ...]


@dataclass
class Reassembler:
    decode_body: BodyDecoder
    timeout_s: float = 60.0
    ask_after_s: float = 10.0
    max_messages: int = 16
    max_packages: int = 512
    max_bytes: int = 512 * 1024
    _pending: dict[tuple[int, int], _Pending] = field(default_factory=dict)
    dropped: int = 0  # messages given up (timeout, over a limit)

    def add(self, msg: Message, now: float) -> Message | None:
        """Take one package; the whole message once its last package is in, else None.

        Raises ``FrameError`` for a package that cannot belong to any message (index 0 or
        beyond the total, a total that changes, over a limit).
        """
        h = msg.header
        total, index = h.packet_total, h.packet_index
        data = getattr(msg.body, "data", None)
        if total is None or index is None or not isinstance(data, bytes):
            raise FrameError("not a sub-package")
        if not 1 <= index <= total or total > self.max_packages:
            raise FrameError(f"package {index} of {total} is out of range")
        key = (h.msg_id, (h.serial - index + 1) & 0xFFFF)
        entry = self._pending.get(key)
        if entry is None:
            if len(self._pending) >= self.max_messages:
                self._evict_oldest()
            first = replace(h, serial=key[1], packet_total=None, packet_index=None)
            entry = self._pending[key] = _Pending(first, total, {}, now)
        elif entry.total != total:
            raise FrameError(f"package says {total} packages, earlier ones said {entry.total}")
        entry.parts[index] = data  # a resent package replaces its earlier copy
        size = sum(len(p) for p in entry.parts.values())
        if size > self.max_bytes:
            del self._pending[key]
            self.dropped += 1
            raise FrameError(f"sub-packaged message over {self.max_bytes} bytes")
        if len(entry.parts) < total:
            return None
        del self._pending[key]
        body = b"".join(entry.parts[i] for i in range(1, total + 1))
        return self.decode_body(entry.first, body)

    def due(self, now: float) -> tuple[list[Missing], int]:
        """Requests for missing packages now due, and how many messages were given up."""
        asks: list[Missing] = []
        expired = 0
        for key, entry in list(self._pending.items()):
            age = now - entry.started
            if age >= self.timeout_s:
                del self._pending[key]
                expired += 1
            elif age >= self.ask_after_s and not entry.asked:
                entry.asked = True
                gone = tuple(i for i in range(1, entry.total + 1) if i not in entry.parts)
                asks.append(Missing(key[0], key[1], gone))
        self.dropped += expired
        return asks, expired

    def _evict_oldest(self) -> None:
        oldest = min(self._pending, key=lambda k: self._pending[k].started)
        del self._pending[oldest]
        self.dropped += 1

    def __len__(self) -> int:
        return len(self._pending)
