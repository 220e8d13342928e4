"""The fast framing paths (run splitting, two-replace unescaping, cached decoders) against
byte-by-byte reference implementations: same frames, same counters, same errors."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.vehicle_tracker.jt808.codec import time_decode, time_encode
from device_drivers.vehicle_tracker.jt808.framing import (
    FrameError,
    FrameSplitter,
    checksum,
    escape,
    unescape,
    unwrap,
    wrap,
)


class ReferenceSplitter:
    """The splitter as first written: one byte at a time."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame, self.buf, self.synced = max_frame, bytearray(), False
        self.junk_bytes = self.oversize = 0

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        for b in data:
            if b == 0x7E:
                if self.synced and self.buf:
                    frames.append(bytes(self.buf))
                self.buf.clear()
                self.synced = True
            elif not self.synced:
                self.junk_bytes += 1
            elif len(self.buf) >= self.max_frame:
                self.oversize += 1
                self.junk_bytes += len(self.buf) + 1
                self.buf.clear()
                self.synced = False
            else:
                self.buf.append(b)
        return frames


def reference_unescape(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        if data[i] == 0x7D:
            if i + 1 >= len(data) or data[i + 1] not in (1, 2):
                raise FrameError("bad escape")
            out.append(0x7C + data[i + 1])
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


# Streams rich in the bytes that matter: delimiters, escapes and what follows them.
streams = st.lists(
    st.one_of(
        st.sampled_from([b"\x7e", b"\x7d", b"\x7d\x01", b"\x7d\x02", b"\x01", b"\x02"]),
        st.binary(max_size=40),
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=500)
@given(streams, st.lists(st.integers(1, 50), min_size=1, max_size=10), st.integers(1, 40))
def test_splitter_matches_the_byte_by_byte_reference(stream, cuts, max_frame):
    fast, ref = FrameSplitter(max_frame=max_frame), ReferenceSplitter(max_frame)
    got, want, pos, i = [], [], 0, 0
    while pos < len(stream):  # the same stream in reads of varying sizes
        chunk = stream[pos : pos + cuts[i % len(cuts)]]
        got += fast.feed(chunk)
        want += ref.feed(chunk)
        pos, i = pos + len(chunk), i + 1
        assert (fast.junk_bytes, fast.oversize) == (ref.junk_bytes, ref.oversize)
    assert got == want


@settings(max_examples=500)
@given(streams)
def test_unescape_matches_the_reference_and_undoes_escape(data):
    try:
        want: bytes | None = reference_unescape(data)
    except FrameError:
        want = None
    if want is None:
        try:
            unescape(data)
        except FrameError:
            pass
        else:
            raise AssertionError(f"{data.hex()} should not unescape")
    else:
        assert unescape(data) == want
    assert unescape(escape(data)) == data


@given(st.binary(min_size=1, max_size=300))
def test_check_code_is_verified(content):
    frame = wrap(content)
    assert unwrap(frame[1:-1]) == content
    assert checksum(content + bytes([checksum(content)])) == 0


@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)))
def test_cached_time_decoding_gives_the_same_time_every_time(t):
    t = t.replace(microsecond=0, tzinfo=UTC)
    raw = time_encode(t)
    assert time_decode(raw) == t
    assert time_decode(bytes(raw)) == t  # from the cache
