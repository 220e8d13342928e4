"""The deadline alerts' pure part: which timers alert at which severity, how open and resolved
alerts merge, and the text in both languages (no services)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.domain.alerts import Severity
from hub.services.cases.deadline_alerts import (
    DETAIL_RE,
    KnownAlert,
    RunningTimer,
    detail,
    detail_zh,
    plan,
)

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2 December in Shanghai


def timer(code: str = "decision", due: date = date(2026, 12, 10), warn: date = date(2026, 11, 30),
          *, case: str = "c1", ref: str = "", number: str | None = "N-1",
          provisional: bool = False) -> RunningTimer:  # fmt: skip
    return RunningTimer(case, code, ref, date(2026, 9, 1), due, warn, provisional, number, "t")


def test_colour_follows_the_shanghai_day() -> None:
    assert detail(timer(warn=date(2026, 12, 3)), NOW, 2026) is None  # green
    sev, _ = detail(timer(), NOW, 2026) or (None, "")
    assert sev is Severity.WARNING
    # 1 December 23:59 UTC is 2 December 07:59 in Shanghai: a due day of 1 December is over.
    sev, text = detail(timer(due=date(2026, 12, 1)), datetime(2026, 12, 1, 23, 59, tzinfo=UTC),
                       2026) or (None, "")  # fmt: skip
    assert sev is Severity.CRITICAL and text.endswith("1 days overdue")
    sev, _ = detail(timer(due=date(2026, 12, 2)), NOW, 2026) or (None, "")
    assert sev is Severity.WARNING  # the due day itself is still yellow


def test_texts_round_trip_into_chinese() -> None:
    for t, now in (
        (timer(), NOW),
        (timer(due=date(2026, 11, 20)), NOW),
        (timer("hearing_request", ref="notice-2", number=None, provisional=True), NOW),
        (timer("some_new_rule"), NOW),  # a code this version does not know is shown as is
    ):
        said = detail(t, now, 2026)
        assert said is not None
        m = DETAIL_RE.fullmatch(said[1])
        assert m, said[1]
        zh = detail_zh(m)
        assert zh.startswith(f"案件 {t.case_number or t.case_id}：")
        assert t.due_on.isoformat() in zh and "北京时间" in zh
        assert ("暂定日期" in zh) is t.provisional
    m = DETAIL_RE.fullmatch(detail(timer("hearing_request"), NOW, 2026)[1])  # type: ignore[index]
    assert m and "听证申请期（hearing_request）" in detail_zh(m)
    # The order to correct runs for the period its notice states (no rule): named all the same.
    said = detail(timer("order"), NOW, 2026)
    assert said and '"period of the order to correct"' in said[1]
    m = DETAIL_RE.fullmatch(said[1])
    assert m and "责令改正期限（order）" in detail_zh(m)


def test_plan_opens_escalates_resolves_and_respects_a_hand_resolution() -> None:
    yellow, red = timer(case="y"), timer(case="r", due=date(2026, 11, 1))
    waiting = timer("reconsideration_window", case="w", due=date(2026, 11, 1))
    stale = KnownAlert(7, "case/gone/decision", "warning", "active", None)
    open_red = KnownAlert(8, red.subject, "warning", "acked", None)
    p = plan([yellow, red, waiting], {stale.subject: stale, red.subject: open_red}, {}, NOW, 2026)
    assert [(r.timer.case_id, r.severity) for r in p.to_open] == [("y", Severity.WARNING)]
    assert [(c.alert_id, c.severity, c.escalated) for c in p.to_change] == [
        (8, Severity.CRITICAL, True)
    ]
    assert [i for i, _ in p.to_resolve] == [7]
    # Nothing new to say (same severity, same text): not written at all.
    _sev, text = detail(yellow, NOW, 2026) or (None, "")
    same = {yellow.subject: KnownAlert(5, yellow.subject, "warning", "active", None, text)}
    assert plan([yellow], same, {}, NOW, 2026) == plan([], {}, {}, NOW, 2026)
    # Resolved by a person at yellow: not again at yellow; again (a new alert) once red.
    by_hand = {yellow.subject: KnownAlert(9, yellow.subject, "warning", "resolved", "lead")}
    assert plan([yellow], {}, by_hand, NOW, 2026).to_open == []
    late = timer(case="y", due=date(2026, 11, 30))
    assert [r.severity for r in plan([late], {}, by_hand, NOW, 2026).to_open] == [Severity.CRITICAL]
    # Resolved by itself earlier (the timer had turned green): raised again when due.
    auto = {yellow.subject: KnownAlert(9, yellow.subject, "warning", "resolved", None)}
    assert len(plan([yellow], {}, auto, NOW, 2026).to_open) == 1
