"""Sub-package reassembly (pure): any order, resends, limits, requests for missing packages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_drivers.vehicle_tracker.jt808.framing import FrameError
from device_drivers.vehicle_tracker.jt808.messages import Header, Message, Raw
from device_drivers.vehicle_tracker.jt808.reassembly import Missing, Reassembler

PHONE = "013912345678"


def joined(header: Header, body: bytes) -> Message:
    return Message(header, Raw(body))


def package(msg_id: int, first_serial: int, index: int, total: int, data: bytes) -> Message:
    h = Header(
        msg_id, PHONE, (first_serial + index - 1) & 0xFFFF, packet_total=total, packet_index=index
    )
    return Message(h, Raw(data))


@given(
    parts=st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
    first=st.integers(0, 0xFFFF),
    resend=st.booleans(),
)
def test_packages_in_any_order_join_into_the_original_body(parts, order, first, resend):
    r = Reassembler(joined)
    msgs = [package(0x0704, first, i + 1, len(parts), p) for i, p in enumerate(parts)]
    shuffled = msgs[:]
    order.shuffle(shuffled)
    if resend and len(shuffled) > 1:  # a package sent twice before the last changes nothing
        shuffled.insert(1, shuffled[0])
    out = [r.add(m, 0.0) for m in shuffled]
    done = [o for o in out if o is not None]
    assert len(done) == 1 and out[-1] is done[0]
    assert done[0].body == Raw(b"".join(parts))
    assert done[0].header.serial == first and done[0].header.packet_total is None
    assert len(r) == 0


def test_two_messages_interleaved_are_kept_apart():
    r = Reassembler(joined)
    a = [package(0x0704, 100, i, 2, f"a{i}".encode()) for i in (1, 2)]
    b = [package(0x0704, 102, i, 2, f"b{i}".encode()) for i in (1, 2)]
    assert r.add(a[0], 0) is None and r.add(b[1], 0) is None and r.add(b[0], 0) is not None
    assert r.add(a[1], 0).body == Raw(b"a1a2")


def test_impossible_packages_are_refused_with_a_typed_error():
    r = Reassembler(joined, max_packages=10, max_bytes=100)
    with pytest.raises(FrameError, match="out of range"):
        r.add(package(0x0704, 1, 3, 2, b"x"), 0)
    with pytest.raises(FrameError, match="out of range"):
        r.add(package(0x0704, 1, 1, 11, b"x"), 0)
    r.add(package(0x0704, 1, 1, 3, b"x"), 0)
    with pytest.raises(FrameError, match="said 3"):
        r.add(package(0x0704, 1, 2, 4, b"x"), 0)
    with pytest.raises(FrameError, match="over 100 bytes"):
        r.add(package(0x0704, 50, 1, 2, b"y" * 101), 0)
    with pytest.raises(FrameError, match="not a sub-package"):
        r.add(Message(Header(0x0200, PHONE, 1), Raw(b"")), 0)


def test_missing_packages_are_requested_once_then_the_message_is_given_up():
    r = Reassembler(joined, ask_after_s=10, timeout_s=60)
    for i in (1, 3):
        r.add(package(0x0704, 7, i, 4, b"x"), 0.0)
    assert r.due(5.0) == ([], 0)
    assert r.due(11.0) == ([Missing(0x0704, 7, (2, 4))], 0)
    assert r.due(12.0) == ([], 0)  # asked already
    assert r.due(61.0) == ([], 1) and len(r) == 0 and r.dropped == 1


def test_too_many_incomplete_messages_evict_the_oldest():
    r = Reassembler(joined, max_messages=2)
    r.add(package(0x0704, 10, 1, 2, b"a"), 0.0)
    r.add(package(0x0704, 20, 1, 2, b"b"), 1.0)
    r.add(package(0x0704, 30, 1, 2, b"c"), 2.0)
    assert len(r) == 2 and r.dropped == 1
    assert r.add(package(0x0704, 10, 2, 2, b"a"), 3.0) is None  # its first half was evicted
