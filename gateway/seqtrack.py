"""Per-device "highest contiguous committed seq", the value the gateway acks to each device.

Pure and clock-free: the caller passes ``now`` and loads/stores the state (``ackmarks``).
A device resends everything above its last ack after a reconnect, so gaps normally fill
within seconds. A gap that stays open longer than ``gap_timeout`` (the device lost its buffer,
e.g. a factory reset) is skipped so the device is not asked to keep messages forever; the
skip is reported so it can be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class DeviceSeq:
    contiguous: int = 0  # every seq <= this one is committed
    above: set[int] = field(default_factory=set)  # committed seqs beyond a gap
    gap_since: float | None = None  # when the current gap was first seen


@dataclass(frozen=True, slots=True)
class GapSkipped:
    device_id: str
    first_missing: int
    last_missing: int


class SeqTracker:
    def __init__(self, gap_timeout: float = 1800.0, max_ahead: int = 1_000_000) -> None:
        self.gap_timeout = gap_timeout
        # A seq this far beyond the mark is a broken counter, not a gap to wait for or skip:
        # tracking it would let one bad message ack (and so drop) a device's whole outbox.
        self.max_ahead = max_ahead
        self._devices: dict[str, DeviceSeq] = {}

    def contiguous(self, device_id: str) -> int:
        state = self._devices.get(device_id)
        return state.contiguous if state else 0

    def state(
        self, device_id: str, contiguous: int, above: set[int], gap_since: float | None
    ) -> DeviceSeq:
        """Load a device's stored state (mark, seqs above a gap, when the gap opened)."""
        st = self._devices[device_id] = DeviceSeq(contiguous, set(above), gap_since)
        return st

    def commit(self, device_id: str, seqs: list[int], now: float) -> list[GapSkipped]:
        """Record committed seqs for a device; advance its contiguous mark as far as it goes."""
        state = self._devices.setdefault(device_id, DeviceSeq())
        for s in seqs:
            if state.contiguous < s <= state.contiguous + self.max_ahead:
                state.above.add(s)
        return self._advance(device_id, state, now)

    def _advance(self, device_id: str, state: DeviceSeq, now: float) -> list[GapSkipped]:
        skipped: list[GapSkipped] = []
        while True:
            while state.contiguous + 1 in state.above:
                state.contiguous += 1
                state.above.discard(state.contiguous)
            if not state.above:
                state.gap_since = None
                return skipped
            if state.gap_since is None:
                state.gap_since = now
                return skipped
            if now - state.gap_since < self.gap_timeout:
                return skipped
            nxt = min(state.above)
            skipped.append(GapSkipped(device_id, state.contiguous + 1, nxt - 1))
            state.contiguous = nxt - 1
            state.gap_since = now
