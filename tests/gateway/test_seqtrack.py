"""The per-device ack mark: contiguity, gaps, restore after a failed transaction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.seqtrack import GapSkipped, SeqTracker


def test_contiguous_mark_advances_only_over_filled_gaps():
    t = SeqTracker(gap_timeout=60)
    t.commit("d", [1, 2, 4], now=0)
    assert t.contiguous("d") == 2
    t.commit("d", [3], now=1)
    assert t.contiguous("d") == 4


def test_duplicates_and_old_seqs_do_not_move_the_mark():
    t = SeqTracker()
    t.state("d", 10, set(), None)
    t.commit("d", [3, 10, 10], now=0)
    assert t.contiguous("d") == 10


def test_a_gap_older_than_the_timeout_is_skipped_and_reported():
    t = SeqTracker(gap_timeout=30)
    t.commit("d", [1, 5, 6], now=0)
    assert t.commit("d", [], now=29) == []
    assert t.contiguous("d") == 1
    assert t.commit("d", [], now=31) == [GapSkipped("d", 2, 4)]
    assert t.contiguous("d") == 6


def test_state_loaded_from_storage_keeps_when_the_gap_opened():
    t = SeqTracker(gap_timeout=30)
    st = t.state("d", 4, {7, 8}, gap_since=100.0)
    assert t.commit("d", [6], now=120) == []  # 5 still missing, gap only 20 s old
    assert st.above == {6, 7, 8} and t.contiguous("d") == 4
    assert t.commit("d", [], now=131) == [GapSkipped("d", 5, 5)]
    assert t.contiguous("d") == 8 and not st.above


@given(st.permutations(list(range(1, 40))), st.integers(1, 10))
def test_any_arrival_order_ends_at_the_highest_seq(order, chunk):
    t = SeqTracker(gap_timeout=1e9)
    for i in range(0, len(order), chunk):
        t.commit("d", order[i : i + chunk], now=0)
        done = set(order[: i + chunk])
        expected = 0
        while expected + 1 in done:
            expected += 1
        assert t.contiguous("d") == expected
    assert t.contiguous("d") == 39


def test_a_wild_seq_is_not_tracked_so_it_can_never_ack_the_outbox_away():
    t = SeqTracker(gap_timeout=1, max_ahead=1000)
    t.commit("d", [1, 2, 2**62], now=0)
    assert t.commit("d", [], now=10) == []  # nothing to skip to
    assert t.contiguous("d") == 2
