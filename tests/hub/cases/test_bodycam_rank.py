"""The pure part of body-cam proposals: the act's window and the ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hub.repositories.media_evidence import Candidate
from hub.services.cases.evidence import act_window, rank

T = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def cand(i: int, distance: float | None, fixes: int, minutes: int = 10, start=T) -> Candidate:  # type: ignore[no-untyped-def]
    return Candidate(
        evidence_file_id=i,
        camera_id="cam-a1",
        file_id=f"{i}.mp4",
        holder="sa1",
        holder_name=None,
        held_from=T - timedelta(hours=5),
        held_until=None,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        media_type="video/mp4",
        size_bytes=1,
        sha256="0" * 64,
        integrity="ok",
        fixes=fixes,
        distance_m=distance,
    )


def test_the_window_is_the_act_day_in_shanghai_or_the_incident_time_widened():
    start, end = act_window(date(2026, 11, 26), None, 60)
    assert start == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 00:00 +08:00 less an hour
    assert end == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    start, end = act_window(date(2026, 11, 26), T, 30)
    assert (start, end) == (T - timedelta(minutes=30), T + timedelta(minutes=30))


def test_near_first_by_distance_then_overlap_unplaced_after_far_dropped():
    start, end = T - timedelta(minutes=30), T + timedelta(minutes=5)
    got = rank(
        [
            cand(1, None, 0),  # no fix
            cand(2, 299.0, 4),
            cand(3, 301.0, 4),  # just outside 300 m
            cand(4, 20.0, 1),
            cand(5, 20.0, 1, minutes=2),  # as near, less overlap
        ],
        start=start,
        end=end,
        radius_m=300,
        case_has_place=True,
    )
    assert [(p.evidence_file_id, p.position) for p in got] == [
        (4, "near"),
        (5, "near"),
        (2, "near"),
        (1, "no_position"),
    ]
    assert [p.overlap_s for p in got] == [300, 120, 300, 300]
    assert got[0].reason == (
        "cam-a1: held by sa1 (sa1) while recording; nearest fix 20 m from the case's place;"
        " 5 min of the recording inside the act's window"
    )


def test_without_a_case_place_nothing_is_dropped_for_distance():
    got = rank(
        [cand(1, None, 3), cand(2, None, 0)],
        start=T,
        end=T + timedelta(hours=1),
        radius_m=300,
        case_has_place=False,
    )
    assert {p.position for p in got} == {"no_case_place"}
    assert all(p.distance_m is None for p in got)
