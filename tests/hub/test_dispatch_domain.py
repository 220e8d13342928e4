"""Dispatch, pure: the order and incident lifecycles, the grid's nearest units against brute
force (Hypothesis), and the unit tracker's availability and proposals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain import dispatch as d
from hub.domain.errors import Invalid, InvalidTransition
from hub.domain.nearest import UnitGrid, brute_force
from hub.live.model import Gone, LiveDevice
from hub.services.units import Availability, UnitTracker

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
S = timedelta(seconds=1)


# --------------------------------------------------------------------- state machine ------
def test_order_goes_sent_acknowledged_arrived_closed_with_timings():
    o = d.Order(d.OrderState.SENT, T0)
    o = d.transition(o, d.Acknowledge(T0 + 20 * S))
    o = d.transition(o, d.Arrive(T0 + 300 * S, "position"))
    o = d.transition(o, d.Close(T0 + 900 * S, "vendor moved on"))
    assert o.state is d.OrderState.CLOSED and o.arrival == "position"
    assert d.durations(o, T0 + 5000 * S) == {
        "to_acknowledge_s": 20.0,
        "to_arrive_s": 300.0,
        "on_scene_s": 600.0,
        "total_s": 900.0,
    }


def test_device_events_that_no_longer_apply_are_ignored():
    sent = d.Order(d.OrderState.SENT, T0)
    # ``done`` without ``accepted``: arrived, and acknowledged at the same moment.
    arrived = d.transition(sent, d.Arrive(T0 + 60 * S, "terminal"))
    assert arrived.state is d.OrderState.ARRIVED and arrived.acknowledged_at == T0 + 60 * S
    # The late ``accepted``, a second ``done`` and a late failure change nothing.
    assert d.transition(arrived, d.Acknowledge(T0 + 61 * S)) is arrived
    assert d.transition(arrived, d.Arrive(T0 + 62 * S, "position")) is arrived
    assert d.transition(arrived, d.Fail(T0 + 63 * S, "x")) is arrived
    assert d.history_kind(arrived, arrived) is None
    assert d.history_kind(sent, arrived) == "order_arrived"


def test_failure_and_what_people_may_not_do():
    failed = d.transition(d.Order(d.OrderState.SENT, T0), d.Fail(T0 + S, "rejected: busy"))
    assert failed.state is d.OrderState.FAILED and failed.failure_reason == "rejected: busy"
    assert d.durations(failed, T0 + 99 * S)["total_s"] == 1.0
    with pytest.raises(InvalidTransition):
        d.transition(failed, d.Close(T0 + 2 * S, "done"))
    with pytest.raises(Invalid):
        d.transition(d.Order(d.OrderState.SENT, T0), d.Close(T0, "  "))
    # Cancelling the incident ends active orders and leaves ended ones alone.
    cancelled = d.transition(d.Order(d.OrderState.ACKNOWLEDGED, T0), d.Cancel(T0, "duplicate"))
    assert cancelled.state is d.OrderState.CANCELLED
    assert d.transition(failed, d.Cancel(T0, "duplicate")) is failed


def test_escalation_once_after_the_timeout_and_only_while_unacknowledged():
    timeout = timedelta(seconds=60)
    o = d.Order(d.OrderState.SENT, T0)
    assert not d.due_for_escalation(o, T0 + 59 * S, timeout)
    assert d.due_for_escalation(o, T0 + 60 * S, timeout)
    esc = d.transition(o, d.Escalate(T0 + 60 * S))
    assert esc.state is d.OrderState.SENT and esc.escalated_at == T0 + 60 * S
    assert d.history_kind(o, esc) == "order_escalated"
    assert not d.due_for_escalation(esc, T0 + 600 * S, timeout)
    assert d.transition(esc, d.Escalate(T0 + 120 * S)) is esc
    acked = d.transition(esc, d.Acknowledge(T0 + 70 * S))  # still acknowledged late
    assert acked.state is d.OrderState.ACKNOWLEDGED
    assert not d.due_for_escalation(d.transition(o, d.Acknowledge(T0)), T0 + 600 * S, timeout)


def test_incident_lifecycle():
    st_ = d.IncidentState
    with pytest.raises(Invalid):
        d.cancel_incident(st_.OPEN, "   ")
    with pytest.raises(Invalid):
        d.cancel_incident(st_.OPEN, None)
    assert d.cancel_incident(st_.DISPATCHED, "duplicate report") is st_.CANCELLED
    with pytest.raises(InvalidTransition):
        d.cancel_incident(st_.CLOSED, "too late")
    with pytest.raises(InvalidTransition):
        d.may_dispatch(st_.CANCELLED)
    assert d.close_incident(st_.OPEN) is st_.CLOSED
    assert d.after_order_ended(st_.DISPATCHED, 0) is st_.OPEN
    assert d.after_order_ended(st_.DISPATCHED, 1) is st_.DISPATCHED


# ------------------------------------------------------------------------------ grid ------
# Shenzhen-sized area, plus a few far points so sparse and empty rings are exercised.
lat_s = st.floats(22.40, 22.80, allow_nan=False)
lon_s = st.floats(113.75, 114.60, allow_nan=False)
point = st.tuples(lat_s, lon_s)
far_point = st.tuples(st.floats(-60, 60), st.floats(-170, 170))
units_s = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=4),
    st.tuples(st.one_of(point, point, point, far_point), st.booleans()),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    units=units_s,
    moves=st.lists(st.tuples(st.text("abcdefgh", min_size=1, max_size=4), point), max_size=30),
    removed=st.sets(st.text("abcdefgh", min_size=1, max_size=4), max_size=5),
    query=st.one_of(point, far_point),
    k=st.integers(1, 12),
    max_m=st.one_of(st.none(), st.floats(10, 50_000)),
    cell_deg=st.sampled_from([0.001, 0.01, 0.05, 1.0]),
    odd_only=st.booleans(),
)
def test_grid_nearest_equals_brute_force(
    units, moves, removed, query, k, max_m, cell_deg, odd_only
):
    grid = UnitGrid(cell_deg)
    where: dict[str, tuple[float, float]] = {}
    for u, (pos, avail) in units.items():
        grid.upsert(u, *pos)
        grid.set_available(u, avail)
        where[u] = pos
    for u, pos in moves:  # units move (and new ones appear, unavailable)
        grid.upsert(u, *pos)
        where[u] = pos
    for u in removed:
        grid.remove(u)
        where.pop(u, None)

    def pred(u: str) -> bool:
        return not odd_only or len(u) % 2 == 1

    got = grid.nearest(*query, k, max_m, pred if odd_only else None)
    want = brute_force(
        where, *query, k, max_m=max_m, predicate=lambda u: grid.is_available(u) and pred(u)
    )
    assert [u for u, _ in got] == [u for u, _ in want]
    assert [round(m, 6) for _, m in got] == [round(m, 6) for _, m in want]
    # Without the availability filter too.
    every = grid.nearest(*query, k, max_m, available_only=False)
    assert every == brute_force(where, *query, k, max_m=max_m)


def test_grid_removal_and_empty():
    g = UnitGrid()
    assert g.nearest(22.5, 114.0, 3) == []
    g.upsert("a", 22.5, 114.0)
    g.set_available("a", True)
    assert [u for u, _ in g.nearest(22.5, 114.0, 3)] == ["a"]
    g.remove("a")
    assert g.nearest(22.5, 114.0, 3) == [] and len(g) == 0


# --------------------------------------------------------------------------- tracker ------
def live(
    device_id: str, kind: str, lat: float | None, lon: float | None, **kw: object
) -> LiveDevice:
    base: dict[str, object] = {
        "device_id": device_id,
        "device_type": kind,
        "org_unit_id": "team-a",
        "status": "assigned",
        "presence": "online",
        "last_seen": T0,
        "battery_pct": 80.0,
        "lat": lat,
        "lon": lon,
        "speed_kmh": 0.0,
        "heading_deg": 0.0,
        "position_time": T0,
        "last_event": None,
        "holder_staff_id": None,
        "vehicle_id": None,
    }
    return LiveDevice(**(base | kw))  # type: ignore[arg-type]


def test_tracker_proposes_available_units_and_says_why_others_were_skipped():
    t = UnitTracker()
    here = (22.5440, 114.0850)
    t(
        [
            live("t1", "mobile_terminal", 22.5441, 114.0850, holder_staff_id="s1"),  # ~11 m
            live("t2", "mobile_terminal", 22.5450, 114.0850, holder_staff_id="s2"),  # off shift
            live("t3", "mobile_terminal", 22.5460, 114.0850, holder_staff_id="s3"),  # busy
            live(
                "t4", "mobile_terminal", 22.5470, 114.0850, holder_staff_id="s4", presence="offline"
            ),
            live("t5", "mobile_terminal", 22.5600, 114.0850, holder_staff_id="s5"),  # far, ok
            live(
                "t6",
                "mobile_terminal",
                22.5480,
                114.0850,
                holder_staff_id="s6",
                org_unit_id="team-b",
            ),
            live("v1", "vehicle_tracker", 22.54412, 114.0850, vehicle_id="car-1"),  # s1 with it
            live("v2", "vehicle_tracker", 22.5500, 114.0850, vehicle_id="car-2"),  # no crew
        ]
    )
    t.apply_availability(
        Availability(
            on_shift=frozenset({"s1", "s3", "s4", "s5", "s6"}),
            staff={f"s{i}": ("team-a", "on_duty") for i in range(1, 6)}
            | {"s6": ("team-b", "on_duty")},
            vehicles={"car-1": ("team-a", "assigned"), "car-2": ("team-a", "assigned")},
            busy_staff={"s3": 7},
        )
    )
    got = t.propose(*here, k=5, scope=frozenset({"team-a"}))
    assert [(c.kind, c.unit_id) for c in got.proposed] == [
        ("officer", "s1"),
        ("vehicle", "car-1"),
        ("officer", "s5"),
    ]
    assert got.proposed[1].staff_id == "s1"  # the vehicle's crew receives its order
    assert 1000 < got.proposed[2].distance_m < 1800
    reasons = {c.unit_id: c.reason for c in got.skipped}
    assert reasons == {
        "s2": "off_shift",
        "s3": "busy: order 7",
        "s4": "offline",
        "car-2": "no_crew",
    }
    # Team b's officer is out of reach: neither proposed nor listed.
    # After dispatching s1, neither s1 nor (without its crew) car-1 is proposed.
    t.mark_busy("s1", None, 8)
    assert [c.unit_id for c in t.propose(*here, k=5, scope=frozenset({"team-a"})).proposed] == [
        "s5"
    ]
    t.mark_free("s1", None)
    # The terminal handed in: the officer is no longer a unit.
    t([live("t1", "mobile_terminal", 22.5441, 114.0850)])
    assert "s1" not in [c.unit_id for c in t.propose(*here, k=5).proposed]
    assert [c.unit_id for c in t.propose(*here, k=1, max_m=100).proposed] == []


def test_a_vehicles_crew_is_found_in_reach_and_removed_devices_take_their_unit():
    t = UnitTracker()
    t(
        [
            live(
                "tb",
                "mobile_terminal",
                22.5480,
                114.0850,
                holder_staff_id="sb",
                org_unit_id="team-b",
            ),
            live("v3", "vehicle_tracker", 22.54802, 114.0850, vehicle_id="car-3"),  # team a's car
            live("t5", "mobile_terminal", 22.5600, 114.0850, holder_staff_id="s5"),
        ]
    )
    t.apply_availability(
        Availability(
            on_shift=frozenset({"sb", "s5"}),
            staff={"sb": ("team-b", "on_duty"), "s5": ("team-a", "on_duty")},
            vehicles={"car-3": ("team-a", "assigned")},
        )
    )
    # Team b's officer stands by team a's car: for a team-a dispatcher it has no crew, and the
    # out-of-reach officer is named nowhere.
    got = t.propose(22.5440, 114.0850, k=5, scope=frozenset({"team-a"}))
    assert [c.unit_id for c in got.proposed] == ["s5"]
    assert {c.unit_id: c.reason for c in got.skipped} == {"car-3": "no_crew"}
    assert all(c.staff_id != "sb" for c in [*got.proposed, *got.skipped])
    # A district dispatcher reaches both: the car is crewed by sb.
    wide = t.propose(22.5440, 114.0850, k=5, scope=frozenset({"team-a", "team-b"}))
    assert ("car-3", "sb") in [(c.unit_id, c.staff_id) for c in wide.proposed]
    # The live index drops t5 (out of every unit): its officer is no longer a unit.
    t([], [Gone("t5", "team-a", moved=False)])
    assert "s5" not in [c.unit_id for c in t.propose(22.5440, 114.0850, k=5).proposed]
