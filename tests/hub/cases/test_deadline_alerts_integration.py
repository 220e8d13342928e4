"""Case deadline alerts against the real TimescaleDB with a fixed clock: a running timer raises
one ``case_deadline`` alert on its warning day, escalates it once the due day has passed,
resolves it when the timer stops; never twice across runs or two hubs at once; the text in both
languages names the case number, the timer and the due date, and says a provisional date is one;
the case's team sees it, another team does not; the loop delivers through the notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from hub.api.app import create_app
from hub.deadline_alert_loop import run_deadline_alert_loop
from hub.domain.alerts import Notification
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.notify import AlertBroadcaster, Notifier
from hub.services import alerts as alert_service
from hub.services.cases import deadline_alerts
from hub.settings import HubSettings
from hub.web.alert_text import alert_text
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration

# 09:00 in Shenzhen on Wednesday 2 December 2026.
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
TODAY = date(2026, 12, 2)


def _settings(db_url: str, **kw: Any) -> HubSettings:
    return HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40, **kw)


def _case(db_url: str, case_id: str, number: str | None, unit: str = "team-a") -> None:
    """A case row as casecore's store writes one (only what the alerts read matters here)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO case_parties (id, party_type, name, created_by)"
            " VALUES (%s, 'citizen', '张三', 'test') ON CONFLICT DO NOTHING",
            (f"p-{case_id}",),
        )
        conn.execute(
            "INSERT INTO cases (id, number, legal_subject, procedure, state, org_unit_id,"
            " matter_code, catalog_version, party_id, source, act_date, discovered_on,"
            " opened_by, opened_at, updated_at, snapshot)"
            " VALUES (%s, %s, 'futian-cg', 'ordinary', 'filed', %s, 'ROAD-01', 1, %s,"
            " 'patrol', %s, %s, 'a-officer', %s, %s, %s)",
            (case_id, number, unit, f"p-{case_id}", TODAY, TODAY, NOW, NOW, Jsonb({})),
        )


def _timer(
    db_url: str,
    case_id: str,
    code: str,
    due_on: date,
    warn_on: date,
    *,
    ref: str = "",
    provisional: bool = False,
) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO case_timers (case_id, code, ref, started_on, due_on, warn_on, unit,"
            " length, provisional) VALUES (%s, %s, %s, %s, %s, %s, 'calendar', 90, %s)",
            (case_id, code, ref, warn_on - timedelta(days=80), due_on, warn_on, provisional),
        )


def _stop(db_url: str, case_id: str, code: str, why: str = "decided") -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE case_timers SET stopped_at = %s, stop_reason = %s"
            " WHERE case_id = %s AND code = %s",
            (NOW, why, case_id, code),
        )


def _evaluate(db_url: str, now: datetime) -> list[Notification]:
    async def run() -> list[Notification]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await deadline_alerts.evaluate(conn, now)

    return asyncio.run(run())


def _open(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT id, subject, severity, state, org_unit_id, detail FROM alerts"
        " WHERE kind = 'case_deadline' ORDER BY id",
    )


def _events(notes: Sequence[Notification]) -> list[tuple[str, str | None, str]]:
    return [(n.event, n.subject, n.severity) for n in notes]


def test_warned_then_escalated_then_resolved_one_alert_throughout(db_url: str) -> None:
    seed_city(db_url)
    _case(db_url, "c-1", "深福城管立〔2026〕12号")
    _timer(db_url, "c-1", "decision", due_on=date(2026, 12, 10), warn_on=date(2026, 11, 30))
    subj = "case/c-1/decision"

    notes = _evaluate(db_url, NOW)
    assert _events(notes) == [("opened", subj, "warning")]
    [(alert_id, s, severity, state, unit, detail)] = _open(db_url)
    assert (s, severity, state, unit) == (subj, "warning", "active", "team-a")
    assert detail == (
        'case 深福城管立〔2026〕12号: timer decision "filing to penalty decision" due 2026-12-10'
        " (Asia/Shanghai), 8 days left"
    )
    zh = alert_text(detail, "zh-CN")
    assert zh == (
        "案件 深福城管立〔2026〕12号：立案 → 处罚决定（decision）期限 2026-12-10（北京时间）届满，"
        "剩余 8 天"
    )

    # The next runs, the same day and the next: nothing new, nobody told again.
    assert _evaluate(db_url, NOW + timedelta(minutes=1)) == []
    assert _evaluate(db_url, NOW + timedelta(days=1)) == []
    [(same_id, *_rest)] = _open(db_url)
    assert same_id == alert_id
    assert "7 days left" in _open(db_url)[0][5]

    # The due day is 10 December: still yellow that whole day (Shanghai), red from the 11th.
    last_yellow = datetime(2026, 12, 10, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert _evaluate(db_url, last_yellow) == []
    red = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    assert _events(_evaluate(db_url, red)) == [("escalated", subj, "critical")]
    [(same_id, _s, severity, state, _u, detail)] = _open(db_url)
    assert (same_id, severity, state) == (alert_id, "critical", "active")
    assert detail.endswith("was due 2026-12-10 (Asia/Shanghai), 1 days overdue")
    assert "已逾期 1 天" in alert_text(detail, "zh-CN")
    assert _evaluate(db_url, red + timedelta(hours=1)) == []  # still red: no second escalation

    # The decision is taken: the timer stops and its alert resolves by itself.
    _stop(db_url, "c-1", "decision")
    assert _events(_evaluate(db_url, red + timedelta(hours=2))) == [("resolved", subj, "critical")]
    [(same_id, _s, _sev, state, _u, _d)] = _open(db_url)
    assert (same_id, state) == (alert_id, "resolved")
    assert query(db_url, "SELECT resolved_by, resolution FROM alerts WHERE id = %s", alert_id) == [
        (None, "the timer stopped or is no longer due")
    ]
    assert _evaluate(db_url, red + timedelta(days=3)) == []
    actions = query(
        db_url,
        "SELECT action, actor FROM audit_log WHERE entity = 'alert' AND entity_id = %s ORDER BY id",
        str(alert_id),
    )
    assert actions == [
        ("alert.open", "ehub-deadlines"),
        ("alert.escalate", "ehub-deadlines"),
        ("alert.auto_resolve", "ehub-deadlines"),
    ]


def test_green_waiting_and_clue_timers_and_the_provisional_date(db_url: str) -> None:
    seed_city(db_url)
    _case(db_url, "c-green", "N-1")
    _timer(db_url, "c-green", "decision", due_on=date(2027, 2, 1), warn_on=date(2027, 1, 20))
    _case(db_url, "c-wait", "N-2")  # a waiting rule says when one may act, not a latest day
    _timer(db_url, "c-wait", "reconsideration_window", date(2026, 11, 1), date(2026, 11, 1))
    _case(db_url, "c-clue", None)  # a clue has no number yet: its id is shown
    _timer(
        db_url,
        "c-clue",
        "seizure",
        due_on=date(2027, 1, 4),
        warn_on=date(2026, 12, 1),
        ref="seizure-2",
        provisional=True,
    )
    notes = _evaluate(db_url, NOW)
    assert _events(notes) == [("opened", "case/c-clue/seizure/seizure-2", "warning")]
    detail = _open(db_url)[0][5]
    assert detail == (
        'case c-clue: timer seizure "seizure period" due 2027-01-04 (Asia/Shanghai),'
        " 33 days left; provisional: past 2026, the last year the holiday calendar knows"
    )
    zh = alert_text(detail, "zh-CN")
    assert zh.endswith("；暂定日期：超出节假日日历已知的最后一年（2026 年）")


def test_a_decision_extension_turns_it_green_again_and_it_resolves(db_url: str) -> None:
    seed_city(db_url)
    _case(db_url, "c-ext", "N-3")
    _timer(db_url, "c-ext", "decision", due_on=date(2026, 12, 1), warn_on=date(2026, 11, 21))
    assert _events(_evaluate(db_url, NOW)) == [("opened", "case/c-ext/decision", "critical")]
    with psycopg.connect(db_url) as conn:  # 负责人批准延长: the store moves the due date
        conn.execute(
            "UPDATE case_timers SET due_on = '2027-01-30', warn_on = '2027-01-20'"
            " WHERE case_id = 'c-ext'"
        )
    assert _events(_evaluate(db_url, NOW)) == [("resolved", "case/c-ext/decision", "critical")]


def test_resolved_by_hand_stays_resolved_until_it_gets_worse(db_url: str) -> None:
    seed_city(db_url)
    _case(db_url, "c-h", "N-4")
    _timer(db_url, "c-h", "statement", due_on=date(2026, 12, 4), warn_on=date(2026, 12, 2))
    _evaluate(db_url, NOW)
    [(first, *_)] = _open(db_url)

    async def by_hand() -> None:
        p = Principal("a-supervisor", Role.SUPERVISOR, "team-a", frozenset({"team-a"}))
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await alert_service.resolve(conn, p, first, "called the party", NOW)

    asyncio.run(by_hand())
    assert _evaluate(db_url, NOW + timedelta(hours=1)) == []  # not raised again at yellow
    rows = _open(db_url)
    assert [(r[0], r[3]) for r in rows] == [(first, "resolved")]
    # Past the due day: worse than what the person resolved, so a new, critical alert.
    late = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert _events(_evaluate(db_url, late)) == [("opened", "case/c-h/statement", "critical")]
    rows = _open(db_url)
    assert [(r[3], r[2]) for r in rows] == [("resolved", "warning"), ("active", "critical")]


def test_two_hubs_at_once_raise_one_alert(db_url: str) -> None:
    seed_city(db_url)
    for i in range(20):
        _case(db_url, f"c-r{i}", f"R-{i}")
        _timer(db_url, f"c-r{i}", "decision", date(2026, 12, 8), date(2026, 12, 1))

    async def both() -> list[list[Notification]]:
        async def one() -> list[Notification]:
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as c:
                return await deadline_alerts.evaluate(c, NOW)

        return list(await asyncio.gather(*(one() for _ in range(4))))

    results = asyncio.run(both())
    assert sorted(len(r) for r in results)[-1] == 20  # one hub opened them all...
    assert sum(len(r) for r in results) == 20  # ...the others found the lock taken
    assert query(db_url, "SELECT count(*) FROM alerts WHERE kind = 'case_deadline'") == [(20,)]
    assert _evaluate(db_url, NOW) == []


def test_the_team_sees_it_another_team_does_not_and_the_loop_delivers(db_url: str) -> None:
    seed_city(db_url)
    _case(db_url, "c-t", "深福城管立〔2026〕7号")
    _timer(db_url, "c-t", "preservation", date(2026, 12, 3), date(2026, 12, 1))

    delivered: list[Notification] = []

    class Record:
        name = "record"

        async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
            delivered.extend(batch)
            return []

    async def loop() -> None:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        stop = asyncio.Event()
        settings = _settings(db_url, hub_deadline_alert_interval_s=0.05)
        task = asyncio.create_task(
            run_deadline_alert_loop(
                pool,
                settings,
                AlertBroadcaster(),
                stop,
                notifier=Notifier([Record()]),
                clock=lambda: NOW,
            )
        )
        for _ in range(100):
            if delivered:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a few more cycles: nothing more to tell
        stop.set()
        await task
        await pool.close()

    asyncio.run(loop())
    assert _events(delivered) == [("opened", "case/c-t/preservation", "warning")]
    assert delivered[0].org_unit_id == "team-a"
    assert "深福城管立〔2026〕7号" in (delivered[0].detail or "")

    with TestClient(create_app(_settings(db_url))) as client:

        def token(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        [alert_id] = [r[0] for r in _open(db_url)]
        # (the API's kind filter takes the device kinds only: the list is read whole here)
        r = client.get("/api/v1/alerts?state=open", headers=token("a-supervisor"))
        assert r.status_code == 200, r.text
        mine = [a for a in r.json()["items"] if a["kind"] == "case_deadline"]
        assert [(a["id"], a["subject"]) for a in mine] == [(alert_id, "case/c-t/preservation")]
        other = token("b-equipment_manager")
        assert client.get(f"/api/v1/alerts/{alert_id}", headers=other).status_code == 404
        r = client.get("/api/v1/alerts?state=open", headers=other)
        assert [a for a in r.json()["items"] if a["kind"] == "case_deadline"] == []
        r = client.post(
            "/login",
            data={"username": "a-supervisor", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303
        for lang, words in (
            ("en", ("Case deadline", "registered preservation to its handling", "due 2026-12-03")),
            ("zh-CN", ("案件期限", "先行登记保存 → 处理决定（preservation）期限 2026-12-03")),
        ):
            client.cookies.set("ehub_lang", lang)
            page = client.get("/alerts")
            assert page.status_code == 200
            assert all(w in page.text for w in words), lang
            assert 'href="/cases/c-t"' in page.text
