"""Deadline alerts: every running case timer that reached its warning day or passed its due day
is a ``case_deadline`` alert in the hub's alert machinery (inbox, webhook, MQTT, live stream).

One alert per (case, timer): its subject is ``case/{case_id}/{code}`` (``/{ref}`` when the timer
has a ref, e.g. one seizure of several) and the partial unique index of migration 015 keeps one
open per subject. A timer on its warning day opens a *warning* alert; once its due day has
passed the same alert is escalated to *critical* (people are told again); a timer that stops
(the act it waited for happened, the case was withdrawn) or turns green again (the decision
period was extended) resolves its alert by itself. A person may resolve an alert by hand: it
then stays resolved until the timer gets worse (yellow resolved by hand, then red: a new,
critical alert), never reopened at the same colour on every run.

``evaluate(conn, now)`` runs in one transaction under an advisory lock (two hub replicas never
evaluate at once; the one that finds the lock taken does nothing) and returns the notifications
to deliver after it committed (``hub/deadline_alert_loop.py``). The colour is the domain's own
(``deadlines.TimerDue.colour``) on the dates ``case_timers`` stores, in Asia/Shanghai.

The stored ``detail`` is English, with every fact in it (case number, timer, due date, days);
``detail_zh`` says the same in Chinese for the zh-CN pages (``hub.web.alert_text``). Waiting
timers (``deadlines.Kind.WAITING``: "may act only from then on") never alert.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from hub.domain.alerts import Notification, Severity, SystemAlertKind
from hub.domain.cases import deadlines
from hub.domain.cases.deadlines import SHANGHAI, Colour, TimerDue
from hub.repositories import alerts as alert_repo
from hub.repositories import audit
from hub.services.cases.calendar import work_calendar

AConn = psycopg.AsyncConnection[Any]

KIND = SystemAlertKind.CASE_DEADLINE
ACTOR = "ehub-deadlines"  # the evaluator, in the audit log
# Per transaction: another hub evaluating at the same moment skips its cycle. Not the device
# evaluator's lock (hub.repositories.alerts.EVALUATION_LOCK): the two run side by side.
DEADLINE_LOCK = 4242102

# The timers' English names (deadlines.RULES names them as the case file does, in Chinese).
EN_NAMES: Mapping[str, str] = {
    "clue_filing": "clue to filing decision",
    "decision": "filing to penalty decision",
    "preservation": "registered preservation to its handling",
    "seizure": "seizure period",
    "emergency_report": "report of an on-the-spot measure",
    "statement": "statement and defence period",
    "hearing_request": "hearing request period",
    "absent_delivery": "delivery to an absent party",
    "payment": "payment of the fine",
    "court_enforcement": "application for court enforcement",
    "publication": "publication of the decision",
    "publication_withdrawal": "withdrawal of a publication",
    "limitation": "limitation period",
    "transfer_head_decision": "criminal transfer: head's decision",
    "transfer_handover": "criminal transfer: handover to the police",
    "order": "period of the order to correct",
}
# Timers the lifecycle starts that have no rule in ``deadlines.RULES`` (their length is the
# one the document states): their names in Chinese.
ZH_NAMES: Mapping[str, str] = {"order": "责令改正期限"}


def subject(case_id: str, code: str, ref: str | None = None) -> str:
    return f"case/{case_id}/{code}" + (f"/{ref}" if ref else "")


# ------------------------------------------------------------------------------ pure ------
@dataclass(frozen=True, slots=True)
class RunningTimer:
    """A timer of ``case_timers`` not stopped, with what the alert says about its case."""

    case_id: str
    code: str
    ref: str
    started_on: date
    due_on: date
    warn_on: date
    provisional: bool
    case_number: str | None  # None while a clue (numbered at filing): the case id is shown
    org_unit_id: str

    @property
    def subject(self) -> str:
        return subject(self.case_id, self.code, self.ref)

    def due(self) -> TimerDue:
        """The domain's view of the stored dates: red once the due day is over, yellow from
        the start of the warning day (both in Asia/Shanghai), as ``deadlines.compute`` says."""
        start = datetime.combine(self.started_on, datetime.min.time(), tzinfo=SHANGHAI)
        return TimerDue(
            self.code,
            start,
            self.due_on,
            _day_start(self.due_on + timedelta(days=1)),
            _day_start(self.warn_on),
            self.provisional,
        )


def _day_start(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), tzinfo=SHANGHAI)


@dataclass(frozen=True, slots=True)
class KnownAlert:
    """An alert of this kind already in the table: the open one of a subject, or its last."""

    id: int
    subject: str
    severity: str
    state: str
    resolved_by: str | None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Raise:
    timer: RunningTimer
    severity: Severity
    detail: str


@dataclass(frozen=True, slots=True)
class Change:
    """The open alert's timer is still due and its text or severity moved: bring them up to
    date (``last_seen_at``, ``occurrences`` + 1); ``escalated`` when it went from warning to
    critical. An alert with nothing new is not written at all: a steady run only reads."""

    alert_id: int
    severity: Severity
    detail: str
    escalated: bool


@dataclass(frozen=True, slots=True)
class Plan:
    to_open: list[Raise]
    to_change: list[Change]
    to_resolve: list[tuple[int, str]]  # (alert id, why)


_RANK = {Severity.INFO.value: 0, Severity.WARNING.value: 1, Severity.CRITICAL.value: 2}


def alerting(rule_code: str) -> bool:
    """Waiting timers give the earliest day to act, not a latest one: no alert."""
    rule = deadlines.RULES.get(rule_code)
    return rule is None or rule.kind is deadlines.Kind.DEADLINE


def detail(t: RunningTimer, now: datetime, known_through: int) -> tuple[Severity, str] | None:
    """The severity and English text for ``t`` at ``now``; None while it is green."""
    colour = t.due().colour(now)
    if colour is Colour.GREEN:
        return None
    today = now.astimezone(SHANGHAI).date()
    label = t.case_number or t.case_id
    name = EN_NAMES.get(t.code, t.code)
    if colour is Colour.RED:
        days = (today - t.due_on).days
        text = (
            f'case {label}: timer {t.code} "{name}" was due {t.due_on.isoformat()}'
            f" (Asia/Shanghai), {days} days overdue"
        )
        severity = Severity.CRITICAL
    else:
        days = (t.due_on - today).days
        text = (
            f'case {label}: timer {t.code} "{name}" due {t.due_on.isoformat()}'
            f" (Asia/Shanghai), {days} days left"
        )
        severity = Severity.WARNING
    if t.provisional:
        text += f"; provisional: past {known_through}, the last year the holiday calendar knows"
    return severity, text


DETAIL_RE = re.compile(
    r'case (\S+): timer (\w+) "[^"]*" (was due|due) (\d{4}-\d{2}-\d{2}) \(Asia/Shanghai\),'
    r" (\d+) days (overdue|left)(?:; provisional: past (\d+), the last year the holiday"
    r" calendar knows)?"
)


def detail_zh(m: re.Match[str]) -> str:
    """The Chinese of a detail ``DETAIL_RE`` matched (for the zh-CN pages)."""
    label, code, _, due, days, which, year = m.groups()
    rule = deadlines.RULES.get(code)
    name = rule.name if rule else ZH_NAMES.get(code, code)
    if which == "overdue":
        text = f"案件 {label}：{name}（{code}）应于 {due}（北京时间）前完成，已逾期 {days} 天"
    else:
        text = f"案件 {label}：{name}（{code}）期限 {due}（北京时间）届满，剩余 {days} 天"
    if year:
        text += f"；暂定日期：超出节假日日历已知的最后一年（{year} 年）"
    return text


def plan(
    timers: Iterable[RunningTimer],
    open_alerts: Mapping[str, KnownAlert],
    last_resolved: Mapping[str, KnownAlert],
    now: datetime,
    known_through: int,
) -> Plan:
    """Merge the timers that are yellow or red now into the open alerts (by subject).

    ``open_alerts`` holds every open alert of this kind; one whose subject is not among the
    due timers any more (stopped, green again, the case gone) resolves. ``last_resolved``
    holds, for subjects without an open alert, the last alert resolved since the timer
    started: resolved by a person at the same or a higher severity, it is not raised again.
    """
    out = Plan([], [], [])
    due_subjects: set[str] = set()
    for t in timers:
        if not alerting(t.code):
            continue
        said = detail(t, now, known_through)
        if said is None:
            continue
        severity, text = said
        due_subjects.add(t.subject)
        current = open_alerts.get(t.subject)
        if current is not None:
            if current.severity == severity.value and current.detail == text:
                continue  # nothing new to say (the days left change once a day)
            escalated = _RANK[severity.value] > _RANK.get(current.severity, 0)
            out.to_change.append(Change(current.id, severity, text, escalated))
            continue
        before = last_resolved.get(t.subject)
        if (
            before is not None
            and before.resolved_by is not None
            and _RANK.get(before.severity, 0) >= _RANK[severity.value]
        ):
            continue  # a person dealt with it at this colour; tell again only if it gets worse
        out.to_open.append(Raise(t, severity, text))
    for subj, a in open_alerts.items():
        if subj not in due_subjects:
            out.to_resolve.append((a.id, "the timer stopped or is no longer due"))
    return out


# ---------------------------------------------------------------------------- the IO ------
# Timers that may be yellow or red today: not stopped, warning day reached. The cases join
# gives the number and the team (the alert's reach).
_DUE_TIMERS = """
SELECT t.case_id, t.code, coalesce(t.ref, '') AS ref, t.started_on, t.due_on, t.warn_on,
       coalesce(t.provisional, false) AS provisional, c.number AS case_number, c.org_unit_id
FROM case_timers t JOIN cases c ON c.id = t.case_id
WHERE t.stopped_at IS NULL AND t.warn_on <= %s
"""


async def _due_timers(conn: AConn, today: date) -> list[RunningTimer]:
    cur = conn.cursor(binary=True)
    await cur.execute(_DUE_TIMERS, (today,))
    return [RunningTimer(*row) for row in await cur.fetchall()]


async def _open_alerts(conn: AConn) -> dict[str, KnownAlert]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        # No row locks: the advisory lock keeps other evaluators out, and the writes below
        # re-check the state, so a person acking or resolving meanwhile is not overwritten.
        "SELECT id, subject, severity, state, resolved_by, detail FROM alerts"
        " WHERE device_id IS NULL AND kind = %s AND state <> 'resolved'",
        (KIND.value,),
    )
    return {r["subject"]: KnownAlert(**r) for r in await cur.fetchall()}


async def _last_resolved(conn: AConn, timers: Sequence[RunningTimer]) -> dict[str, KnownAlert]:
    """For each subject, its last alert resolved since its timer started (if any)."""
    if not timers:
        return {}
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT DISTINCT ON (a.subject) a.id, a.subject, a.severity, a.state, a.resolved_by"
        " FROM alerts a JOIN unnest(%s::text[], %s::timestamptz[]) AS s(subject, since)"
        " ON a.subject = s.subject AND a.opened_at >= s.since"
        " WHERE a.device_id IS NULL AND a.kind = %s AND a.state = 'resolved'"
        " ORDER BY a.subject, a.opened_at DESC, a.id DESC",
        (
            [t.subject for t in timers],
            [_day_start(t.started_on) for t in timers],
            KIND.value,
        ),
    )
    return {r["subject"]: KnownAlert(**r) for r in await cur.fetchall()}


async def _insert(conn: AConn, new: Sequence[Raise], now: datetime) -> list[dict[str, Any]]:
    if not new:
        return []
    cur = conn.cursor(row_factory=dict_row)
    # ON CONFLICT on the one-open-per-subject index: belt and braces with the lock.
    await cur.execute(
        "WITH a AS (INSERT INTO alerts (subject, kind, severity, opened_at, last_seen_at,"
        " detail, org_unit_id) SELECT s, %s, sev, %s, %s, d, u"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS x(s, sev, d, u)"
        " ON CONFLICT (subject, kind) WHERE state <> 'resolved' AND device_id IS NULL"
        f" DO NOTHING RETURNING *) SELECT {alert_repo.ALERT_COLS}"
        " FROM a LEFT JOIN devices d USING (device_id) ORDER BY a.id",
        (
            KIND.value,
            now,
            now,
            [r.timer.subject for r in new],
            [r.severity.value for r in new],
            [r.detail for r in new],
            [r.timer.org_unit_id for r in new],
        ),
    )
    return await cur.fetchall()


async def _change(conn: AConn, changes: Sequence[Change], now: datetime) -> None:
    if not changes:
        return
    await conn.execute(
        "UPDATE alerts a SET last_seen_at = %s, occurrences = a.occurrences + 1,"
        " severity = c.severity, detail = c.detail"
        " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS c(id, severity, detail)"
        " WHERE a.id = c.id AND a.state <> 'resolved'",
        (
            now,
            [c.alert_id for c in changes],
            [c.severity.value for c in changes],
            [c.detail for c in changes],
        ),
    )


async def _resolve(
    conn: AConn, resolve: Sequence[tuple[int, str]], now: datetime
) -> list[dict[str, Any]]:
    """Resolved by itself: ``resolved_by`` stays NULL, the resolution says why."""
    if not resolve:
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "WITH a AS (UPDATE alerts a SET state = 'resolved', resolved_at = %s,"
        " resolution = r.why FROM unnest(%s::bigint[], %s::text[]) AS r(id, why)"
        " WHERE a.id = r.id AND a.state <> 'resolved' RETURNING a.*)"
        f" SELECT {alert_repo.ALERT_COLS} FROM a LEFT JOIN devices d USING (device_id)"
        " ORDER BY a.id",
        (now, [i for i, _ in resolve], [why for _, why in resolve]),
    )
    return await cur.fetchall()


def _audit(action: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "action": action,
        "entity": "alert",
        "entity_id": str(row["id"]),
        "org_unit_id": row["org_unit_id"],
        "after": audit.jsonable(row),
    }


async def evaluate(conn: AConn, now: datetime) -> list[Notification]:
    """Open, update, escalate and resolve the deadline alerts; what to tell people.

    Another hub evaluating at the same moment holds the lock: this call then does nothing.
    """
    today = now.astimezone(SHANGHAI).date()
    async with conn.transaction():
        cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (DEADLINE_LOCK,))
        got = await cur.fetchone()
        if not (got and got[0]):
            return []
        known_through = (await work_calendar(conn)).known_through
        timers = await _due_timers(conn, today)
        open_alerts = await _open_alerts(conn)
        resolved = await _last_resolved(conn, [t for t in timers if t.subject not in open_alerts])
        # Pure Python over every due timer (a couple of seconds for 40,000 on a busy 2-core
        # machine): in a thread, so the API sharing this event loop keeps answering.
        p = await asyncio.to_thread(plan, timers, open_alerts, resolved, now, known_through)
        opened = await _insert(conn, p.to_open, now)
        await _change(conn, p.to_change, now)
        escalated = await alert_repo.get_many(
            conn, [c.alert_id for c in p.to_change if c.escalated]
        )
        gone = await _resolve(conn, p.to_resolve, now)
        await alert_repo.audit_many(
            conn,
            [_audit("alert.open", r) for r in opened]
            + [_audit("alert.escalate", r) for r in escalated]
            + [_audit("alert.auto_resolve", r) for r in gone],
        )
    return (
        [Notification.from_row("opened", r) for r in opened]
        + [Notification.from_row("escalated", r) for r in escalated]
        + [Notification.from_row("resolved", r) for r in gone]
    )
