"""Alert rules without a database: what each rule sees, thresholds per kind, and the merge of
conditions into open alerts (one per device and kind, repeats, auto-resolve)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.alerts import (
    DEFAULT_THRESHOLDS,
    AlertKind,
    Condition,
    DeviceFacts,
    OpenAlert,
    RuleOverride,
    Severity,
    check_threshold,
    effective_thresholds,
    evaluate,
    reconcile,
)
from hub.domain.errors import Invalid, InvalidTransition
from hub.domain.lifecycle import DeviceStatus
from hub.domain.tickets import TicketState, device_effect, transition
from schemas.topics import DeviceType

K = AlertKind
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
CAMERA = DEFAULT_THRESHOLDS[DeviceType.BODY_CAMERA]
TERMINAL = DEFAULT_THRESHOLDS[DeviceType.MOBILE_TERMINAL]


def facts(**kw: object) -> DeviceFacts:
    base = DeviceFacts(
        device_id="cam-a1",
        device_type="body_camera",
        status="in_stock",
        status_changed_at=NOW - timedelta(days=3),
        registered_at=NOW - timedelta(days=30),
        last_seen=NOW - timedelta(minutes=1),
        battery_pct=80,
        storage_used=1000,
        storage_total=64000,
        temperature_c=35,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def assigned(minutes_ago: float = 120, **kw: object) -> DeviceFacts:
    out = NOW - timedelta(minutes=minutes_ago)
    return facts(status="assigned", status_changed_at=out, checked_out_at=out, **kw)


def kinds(conds: set[Condition]) -> set[AlertKind]:
    return {c.kind for c in conds}


def test_a_healthy_device_raises_nothing():
    assert evaluate(facts(), CAMERA, NOW) == set()
    assert evaluate(assigned(position_time=NOW), TERMINAL, NOW) == set()


def test_offline_counts_only_while_assigned_and_from_the_check_out():
    silent = NOW - timedelta(hours=5)
    assert evaluate(facts(last_seen=silent), CAMERA, NOW) == set()  # on the shelf
    # Silent on the shelf for hours, handed out 10 min ago: not yet offline.
    assert kinds(evaluate(assigned(10, last_seen=silent), CAMERA, NOW)) == set()
    (c,) = evaluate(assigned(120, last_seen=NOW - timedelta(minutes=45)), CAMERA, NOW)
    assert (c.kind, c.value, c.severity) == (K.OFFLINE_WHILE_ASSIGNED, 45, Severity.WARNING)
    assert "45 min" in c.detail and "threshold 30 min" in c.detail
    (never,) = evaluate(assigned(240, last_seen=None), CAMERA, NOW)
    assert never.value == 240 and never.severity is Severity.CRITICAL  # > 4 x threshold


def test_stale_fix_for_terminals_that_talk_but_have_no_fix():
    f = assigned(120, device_type="mobile_terminal", position_time=NOW - timedelta(minutes=20))
    (c,) = evaluate(f, TERMINAL, NOW)
    assert (c.kind, c.value) == (K.STALE_FIX, 20)
    # Silent as well: that is the offline alert, not two.
    f2 = replace(f, last_seen=NOW - timedelta(minutes=50))
    assert kinds(evaluate(f2, TERMINAL, NOW)) == {K.OFFLINE_WHILE_ASSIGNED}
    # Cameras report GNSS only while recording: no stale_fix rule for them by default.
    assert K.STALE_FIX not in CAMERA
    assert evaluate(replace(f, device_type="body_camera"), CAMERA, NOW) == set()


def test_battery_storage_and_temperature_thresholds():
    conds = {
        c.kind: c
        for c in evaluate(
            facts(battery_pct=15, storage_used=60000, storage_total=64000, temperature_c=65),
            CAMERA,
            NOW,
        )
    }
    assert set(conds) == {K.LOW_BATTERY, K.STORAGE_HIGH, K.TEMPERATURE}
    assert conds[K.LOW_BATTERY].severity is Severity.WARNING
    assert conds[K.STORAGE_HIGH].value == pytest.approx(93.8)
    assert conds[K.TEMPERATURE].severity is Severity.CRITICAL
    assert evaluate(facts(battery_pct=20), CAMERA, NOW) == set()  # at the threshold: fine
    (low,) = evaluate(facts(battery_pct=8), CAMERA, NOW)
    assert low.severity is Severity.CRITICAL  # below half the threshold
    # A dock reports storage in GB: only the ratio matters.
    dock = facts(device_type="camera_dock", storage_used=1900, storage_total=2000, battery_pct=None)
    (full,) = evaluate(dock, DEFAULT_THRESHOLDS[DeviceType.CAMERA_DOCK], NOW)
    assert (full.kind, full.value) == (K.STORAGE_HIGH, 95)


def test_overdue_return_audit_and_repeated_faults():
    late = assigned(600, expected_return=NOW - timedelta(minutes=90))
    (c,) = evaluate(late, CAMERA, NOW)
    assert (c.kind, c.value) == (K.OVERDUE_RETURN, 90)
    audit = facts(audit_interval_days=30, last_audited_at=NOW - timedelta(days=40))
    (a,) = evaluate(audit, CAMERA, NOW)
    assert (a.kind, a.value, a.severity) == (K.OVERDUE_AUDIT, 10, Severity.INFO)
    never = facts(audit_interval_days=10, registered_at=NOW - timedelta(days=12))
    assert "last audited: never" in next(iter(evaluate(never, CAMERA, NOW))).detail
    assert evaluate(facts(recent_faults=2), CAMERA, NOW) == set()
    (r,) = evaluate(facts(recent_faults=3), CAMERA, NOW)
    assert (r.kind, r.value) == (K.REPEATED_FAULTS, 3)


def test_devices_out_of_service_raise_nothing_but_repeated_faults_in_repair():
    bad = {"battery_pct": 1, "temperature_c": 90, "recent_faults": 5}
    for status in ("retired", "lost"):
        assert evaluate(facts(status=status, **bad), CAMERA, NOW) == set()
    assert kinds(evaluate(facts(status="in_repair", **bad), CAMERA, NOW)) == {K.REPEATED_FAULTS}


def test_thresholds_per_device_kind_and_overrides():
    th = effective_thresholds(
        [
            RuleOverride("body_camera", "low_battery", 35, True),
            RuleOverride("body_camera", "temperature", None, False),
            RuleOverride("mobile_terminal", "low_battery", None, True),  # back to the default
            RuleOverride("bt_printer", "no_such_kind", 1, True),  # ignored
        ]
    )
    cam = th["body_camera"]
    assert cam[K.LOW_BATTERY] == 35 and K.TEMPERATURE not in cam
    assert th["mobile_terminal"][K.LOW_BATTERY] == 20
    assert th["vehicle_tracker"] == dict(DEFAULT_THRESHOLDS[DeviceType.VEHICLE_TRACKER])
    hot = facts(battery_pct=30, temperature_c=90)
    assert kinds(evaluate(hot, cam, NOW)) == {K.LOW_BATTERY}
    assert kinds(evaluate(hot, CAMERA, NOW)) == {K.TEMPERATURE}
    # The same reading, another kind of device, another threshold.
    assert (
        evaluate(facts(device_type="bt_printer", temperature_c=90), th["bt_printer"], NOW) == set()
    )
    with pytest.raises(Invalid, match="between 1 and 99 %"):
        check_threshold(K.LOW_BATTERY, 120)


def cond(kind: AlertKind, value: float = 1, severity: Severity = Severity.WARNING) -> Condition:
    return Condition(kind, value, f"{kind} {value}", severity)


def test_reconcile_opens_updates_and_resolves_one_alert_per_device_and_kind():
    open_alerts = [
        OpenAlert(1, "cam-a1", "low_battery", "warning", "active"),
        OpenAlert(2, "cam-a1", "temperature", "critical", "acked"),
        OpenAlert(3, "cam-a2", "offline_while_assigned", "warning", "active"),
        OpenAlert(4, "cam-gone", "storage_high", "warning", "active"),  # device retired
        OpenAlert(5, "cam-a1", "sos_pressed", "critical", "active"),  # not ours: left alone
    ]
    conditions = {
        "cam-a1": {cond(K.LOW_BATTERY, 12), cond(K.STORAGE_HIGH, 95)},
        "cam-a2": set(),
        "cam-a3": {cond(K.LOW_BATTERY, 5)},
    }
    to_open, to_update, to_resolve = reconcile(open_alerts, conditions, NOW)
    assert [(n.device_id, n.kind, n.value, n.at) for n in to_open] == [
        ("cam-a1", K.STORAGE_HIGH, 95, NOW),
        ("cam-a3", K.LOW_BATTERY, 5, NOW),
    ]
    assert [(u.id, u.value, u.at, u.escalated) for u in to_update] == [(1, 12, NOW, False)]
    assert [a.id for a in to_resolve] == [2, 3, 4]


def test_reconcile_repeats_are_updates_never_second_alerts_and_escalations_are_flagged():
    first, _, _ = reconcile([], {"cam-a1": {cond(K.LOW_BATTERY, 15)}}, NOW)
    assert len(first) == 1
    open_alerts = [OpenAlert(7, "cam-a1", "low_battery", "warning", "acked")]
    for minutes, value, sev in ((1, 14, Severity.WARNING), (2, 8, Severity.CRITICAL)):
        t = NOW + timedelta(minutes=minutes)
        to_open, to_update, to_resolve = reconcile(
            open_alerts, {"cam-a1": {cond(K.LOW_BATTERY, value, sev)}}, t
        )
        assert to_open == [] and to_resolve == []
        (u,) = to_update
        assert (u.id, u.value, u.at, u.severity) == (7, value, t, sev)
        assert u.escalated is (sev is Severity.CRITICAL)
    # The condition clears: resolved; it comes back: a new alert.
    _, _, gone = reconcile(open_alerts, {"cam-a1": set()}, NOW)
    assert [a.id for a in gone] == [7]
    again, _, _ = reconcile([], {"cam-a1": {cond(K.LOW_BATTERY)}}, NOW)
    assert [n.kind for n in again] == [K.LOW_BATTERY]


# ----------------------------------------------------------------------- tickets ------
T = TicketState


@pytest.mark.parametrize(
    ("path"),
    [
        [T.DIAGNOSING, T.IN_REPAIR, T.BACK_IN_SERVICE],
        [T.DIAGNOSING, T.IN_REPAIR, T.RETIRED],
        [T.DIAGNOSING, T.BACK_IN_SERVICE],
        [T.BACK_IN_SERVICE],
    ],
)
def test_ticket_paths(path):
    state = T.REPORTED
    for step in path:
        state = transition(state, step)
    assert state is path[-1]


def test_ticket_refuses_impossible_steps_with_what_is_allowed():
    with pytest.raises(InvalidTransition) as err:
        transition(T.REPORTED, T.IN_REPAIR)
    assert err.value.extra["allowed"] == ["back_in_service", "diagnosing"]
    for final in (T.BACK_IN_SERVICE, T.RETIRED):
        with pytest.raises(InvalidTransition, match="none \\(final\\)"):
            transition(final, T.DIAGNOSING)
    with pytest.raises(InvalidTransition):
        transition(T.DIAGNOSING, T.RETIRED)


def test_ticket_steps_move_the_device_only_when_needed():
    D = DeviceStatus
    assert device_effect(T.IN_REPAIR, D.ASSIGNED) is D.IN_REPAIR
    assert device_effect(T.IN_REPAIR, D.IN_REPAIR) is None
    assert device_effect(T.BACK_IN_SERVICE, D.IN_REPAIR) is D.IN_STOCK
    assert device_effect(T.BACK_IN_SERVICE, D.ASSIGNED) is None  # no fault found, still out
    assert device_effect(T.RETIRED, D.IN_REPAIR) is D.RETIRED
    assert device_effect(T.DIAGNOSING, D.IN_STOCK) is None
