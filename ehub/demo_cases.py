"""The demo's cases: an ordinary case carried from a clue to 结案, a few left in progress at
different states with running deadlines (some yellow, one red), and on-the-spot decisions made
on simulated terminals and printed on their simulated printers.

Everything goes through the hub's own services as the demo's people would act: two certified
officers of the home team handle the cases (``hub.services.cases.store``), the team's
supervisor approves as 队长 (team_leader), a supervisor of the district as 部门负责人
(department_head), a legal reviewer of the district where a chain needs 法制审核
(legal_office). The cases in progress are opened in the past (the store takes the time of each
act), so their timers stand where a real team's would: a clue two days before its 立案
deadline, a case 85 days after its filing (the 90-day decision period), a party's 陈述申辩
period about to end, and a clue left too long (red). The hub's deadline-alert loop raises them.

The on-the-spot decisions (简易程序) go the terminal's way: a supervisor allocates a block of
当场处罚决定书 numbers to the officer's terminal (``hub.services.cases.number_blocks``: the
block reaches the terminal as a command over MQTT), then ``make_on_spot_decision`` (onspot's
simulator function) has the officer fill one in; the terminal prints it on its paired
simulated printer and reports it; the hub worker files it (备案) and the case exists.

``summary(conninfo, checkpoint_size)`` is the demo's ``cases=… decisions=… documents=…
transparency_size=…``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from ehub.demo_people import national_id
from hub.domain.errors import HubError
from hub.domain.personnel import StaffStatus
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.notify import AiomqttPublisher
from hub.repositories import audit, org
from hub.security import hash_password
from hub.services import personnel
from hub.services.cases import number_blocks, store
from hub.services.cases import requests as rq
from schemas.documents.common import Payment, Remedies

log = logging.getLogger(__name__)

ACTOR = "demo-seed"
# The matter of the ordinary case: burning rubbish in a built-up area (an individual), a fine
# of 500-2,000 yuan (大气污染防治法 Art. 119); no 责令改正 first, so the chain is the plain one.
ORDINARY_MATTER = "SZ-FS-001"
PET_MESS = "SZ-SR-001"  # 0-500 yuan: the clues in progress
HOME_DISTRICT = "futian"
LEGAL_SUBJECT = "futian"  # the starter catalog's legal subject: 福田区城市管理和综合执法局
TEAM_NAME = "华强北街道综合行政执法队"  # printed under the subject's name on the form


@dataclass
class CaseDemo:
    """What the demo did with cases (printed, and checked by tests/ehub/test_demo.py)."""

    team: str = ""  # the team whose cases these are
    closed: list[str] = field(default_factory=list)  # case ids carried to 结案
    in_progress: dict[str, str] = field(default_factory=dict)  # case id -> what it shows
    on_spot: list[str] = field(default_factory=list)  # numbers the terminals used
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (user, role, unit)
    refused: list[str] = field(default_factory=list)  # what a service refused, and why

    def line(self) -> str:
        return (
            f"ordinary_closed={len(self.closed)} in_progress={len(self.in_progress)}"
            f" on_spot={len(self.on_spot)} refused={len(self.refused)}"
        )


def _sha(*parts: object) -> str:
    """The SHA-256 a record (笔录) signed on paper or on the terminal would carry."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class _Cast:
    officer: Principal  # acts (its staff is the first officer)
    officers: list[str]  # two certified officers of the home team (staff ids)
    leader: Principal  # the team's supervisor: team_leader
    head: Principal  # the district's supervisor: department_head
    legal: Principal  # the district's legal reviewer: legal_office
    team: str


async def _staff(conn: psycopg.AsyncConnection[Any], team: str) -> list[tuple[str, str | None]]:
    cur = await conn.execute(
        "SELECT staff_id, badge_no FROM staff WHERE org_unit_id = %s AND kind = 'officer'"
        " AND status = 'on_duty' AND badge_no IS NOT NULL ORDER BY staff_id",
        (team,),
    )
    return [(str(s), b) for s, b in await cur.fetchall()]


async def _certify(conn: psycopg.AsyncConnection[Any], staff_ids: list[str], until: date) -> None:
    """执法证 expiry on the staff records (the certificate number is their badge_no): the
    guards want two certified officers on every act. Audited like any change to a record."""
    for sid in staff_ids:
        cur = await conn.execute(
            "UPDATE staff SET certificate_expires = %s, updated_at = now() WHERE staff_id = %s"
            " RETURNING org_unit_id",
            (until, sid),
        )
        row = await cur.fetchone()
        if row:
            await audit.record(
                conn, ACTOR, "staff.certificate", "staff", sid, org_unit_id=str(row[0]),
                after={"certificate_expires": until.isoformat()},
            )  # fmt: skip


async def _person(
    conn: psycopg.AsyncConnection[Any],
    *,
    staff_id: str,
    name: str,
    badge: str,
    unit: str,
    username: str,
    role: Role,
    password_hash: str,
    id_key: str,
    n: int,
    legal: bool = False,
) -> None:
    """A district-level person the home team's chains need, put on the books through the
    personnel service as the demo's people are, and their login."""
    admin = Principal(ACTOR, Role.ADMIN, "shenzhen", await org.subtree(conn, "shenzhen"))
    data = {"staff_id": staff_id, "name": name, "kind": "officer", "org_unit_id": unit,
            "badge_no": badge, "phone": f"1380000{n:04d}"}  # fmt: skip
    await personnel.register(conn, admin, data, national_id(n), id_key=id_key)
    await personnel.change_status(conn, admin, staff_id, StaffStatus.ON_DUTY, reason="在岗")
    if legal:  # 法制审核人员: the qualification is on the staff record (migration 017)
        await conn.execute(
            "UPDATE staff SET legal_qualification = true, updated_at = now() WHERE staff_id = %s",
            (staff_id,),
        )
        await audit.record(
            conn, ACTOR, "staff.legal_qualification", "staff", staff_id, org_unit_id=unit,
            after={"legal_qualification": True},
        )  # fmt: skip
    await conn.execute(
        "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING",
        (username, password_hash, role.value, unit, staff_id),
    )
    await audit.record(
        conn, ACTOR, "user.create", "user", username, org_unit_id=unit,
        after={"role": role.value, "org_unit_id": unit, "staff_id": staff_id},
    )  # fmt: skip


async def _cast(
    conn: psycopg.AsyncConnection[Any],
    team: str,
    password: str,
    *,
    id_key: str,
    now: datetime,
    out: CaseDemo,
) -> _Cast:
    cur = await conn.execute("SELECT parent_id FROM org_units WHERE id = %s", (team,))
    row = await cur.fetchone()
    district = str(row[0]) if row and row[0] else HOME_DISTRICT
    cur = await conn.execute(
        "SELECT username, staff_id FROM users WHERE role = 'supervisor' AND org_unit_id = %s"
        " AND staff_id IS NOT NULL ORDER BY username LIMIT 1",
        (team,),
    )
    lead = await cur.fetchone()
    if lead is None:
        raise RuntimeError(f"the demo has no supervisor with a staff record in {team}")
    people = [s for s, _ in await _staff(conn, team) if s != lead[1]]
    if len(people) < 2:
        raise RuntimeError(f"{team} has fewer than two certified officers for a case")
    pw = hash_password(password)
    await _person(
        conn, staff_id="FTHEAD01", name="陈建国", badge="粤深执440900", unit=district,
        username="head", role=Role.SUPERVISOR, password_hash=pw, id_key=id_key, n=900,
    )  # fmt: skip
    await _person(
        conn, staff_id="FTLEGAL01", name="林婉清", badge="粤深执440901", unit=district,
        username="legal-futian", role=Role.LEGAL_REVIEWER, password_hash=pw, id_key=id_key,
        n=901, legal=True,
    )  # fmt: skip
    out.logins += [
        ("head", "supervisor (部门负责人)", district),
        ("legal-futian", "legal_reviewer (法制审核)", district),
    ]
    await _certify(
        conn,
        [*people, str(lead[1]), "FTHEAD01", "FTLEGAL01"],
        (now + timedelta(days=3 * 365)).date(),
    )
    team_scope = await org.subtree(conn, team)
    district_scope = await org.subtree(conn, district)
    cur = await conn.execute(
        "SELECT username FROM users WHERE role = 'officer' AND staff_id = %s", (people[0],)
    )
    officer_user = await cur.fetchone()
    return _Cast(
        officer=Principal(
            str(officer_user[0]) if officer_user else f"officer-{people[0]}",
            Role.OFFICER, team, team_scope, people[0],
        ),
        officers=people[:2],
        leader=Principal(str(lead[0]), Role.SUPERVISOR, team, team_scope, str(lead[1])),
        head=Principal("head", Role.SUPERVISOR, district, district_scope, "FTHEAD01"),
        legal=Principal("legal-futian", Role.LEGAL_REVIEWER, district, district_scope, "FTLEGAL01"),
        team=team,
    )  # fmt: skip


# ------------------------------------------------------------------ the ordinary case ------
class _Case:
    """One case carried through the store's commands, each at its own (past) time."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], cast: _Cast, out: CaseDemo) -> None:
        self.conn, self.cast, self.out = conn, cast, out
        self.case_id: str | None = None

    async def open(self, at: datetime, matter: str, party: str, place: str, note: str) -> bool:

        req = rq.ClueRequest(
            matter_code=matter,
            party=rq.PartyIn(
                party_type="citizen",
                name=party,
                id_type="id_card",
                id_number="440304198805061234",
                phone="13800138000",
                address="深圳市福田区华强北街道",
            ),
            source="patrol",
            act_date=at.date(),
            description=note,
            place=place,
            lat=22.5445,
            lon=114.0853,
            org_unit_id=self.cast.team,
            officers=self.cast.officers,
        )
        try:
            self.case_id = await store.open_clue(self.conn, self.cast.officer, req, now=at)
        except HubError as exc:
            self.out.refused.append(f"clue {party}: {exc.detail}")
            return False
        return True

    async def do(self, p: Principal, cmd: Any, at: datetime) -> bool:

        assert self.case_id is not None
        try:
            await store.apply(self.conn, p, self.case_id, cmd, now=at)
        except HubError as exc:
            self.out.refused.append(f"{self.case_id} {cmd.command}: {exc.detail}")
            return False
        return True

    async def approve_all(self, act: str, at: datetime) -> bool:
        """Every open step of ``act``'s chain, each by the person whose step it is."""

        by_role = {
            "team_leader": self.cast.leader,
            "department_head": self.cast.head,
            "legal_office": self.cast.legal,
        }
        for i in range(6):  # no chain is longer
            cur = await self.conn.execute(
                "SELECT step_role FROM case_approval_steps WHERE case_id = %s AND act = %s"
                " AND decided_at IS NULL",
                (self.case_id, act),
            )
            row = await cur.fetchone()
            if row is None:
                return True
            who = by_role.get(str(row[0]))
            if who is None:
                self.out.refused.append(f"{self.case_id}: no demo person for step {row[0]}")
                return False
            ok = await self.do(
                who,
                rq.ApproveIn(act=act, opinion="同意"),
                at + timedelta(minutes=10 * i),
            )
            if not ok:
                return False
        return True


def _rec(officers: list[str], *what: object) -> dict[str, Any]:
    return {"officers": officers, "sha256": _sha(*what)}


# What only a person writes on the modelled documents of the ordinary case (the store fills
# in the number, subject, party, officers and signatures; ``prepare()`` checks the rest).
AIR_LAW = "《中华人民共和国大气污染防治法》(2018年修正)"


def _filing_doc(at: datetime) -> dict[str, Any]:
    return {
        "source": "巡查发现",
        "received_at": at.isoformat(),
        "facts": "当事人在华强北街道振华路城中村空地露天焚烧生活垃圾，产生浓烟和恶臭气体",
        "matter": f"{ORDINARY_MATTER} 在人口集中地区焚烧垃圾",
        "violated": [{"law": AIR_LAW, "article": "第七十七条"}],
    }


def _inquiry_doc(at: datetime) -> dict[str, Any]:
    return {
        "started_at": at.isoformat(),
        "ended_at": (at + timedelta(minutes=40)).isoformat(),
        "place": "华强北街道综合行政执法队询问室",
        "interviewee": {"kind": "citizen", "name": "赵志强"},
        "relation": "当事人",
        "rights_told": True,
        "qa": [
            {"q": "你是否在振华路城中村空地焚烧垃圾？", "a": "是的，烧的是家里的生活垃圾。"},
            {"q": "你是否知道在居民区焚烧垃圾违法？", "a": "现在知道了，以后不会再烧。"},
        ],
        "confirmation": "以上笔录我看过，与我说的相符。",
        "recorder": "执法队员",
        "receipt": {"status": "signed", "at": (at + timedelta(minutes=45)).isoformat()},
    }


def _decision_doc(at: datetime) -> dict[str, Any]:
    return {
        "facts": "当事人在人口集中地区露天焚烧生活垃圾，产生有毒有害烟尘和恶臭气体",
        "evidence": ["现场检查笔录", "询问笔录", "焚烧现场照片", "当事人身份证明"],
        "violated": [{"law": AIR_LAW, "article": "第七十七条"}],
        "basis": [{"law": AIR_LAW, "article": "第一百一十九条第二款"}],
        "penalty": {"kinds": ["fine"], "fine": "1000"},
        "payment": {"within_days": 15, "bank": "中国工商银行深圳福田支行"},
        "remedies": {"review_body": "深圳市福田区人民政府", "court": "深圳市福田区人民法院"},
        "decided_at": at.isoformat(),
    }


CLOSING_DOC = {
    "summary": "赵志强在人口集中地区焚烧垃圾一案",
    "outcome": "罚款1000元",
    "execution": "当事人已缴纳罚款",
    "reason": "处罚决定已执行完毕",
}


async def _ordinary_to_closed(case: _Case, start: datetime) -> bool:
    """Clue → 立案 → 询问/检查 → 调查终结报告 → 告知 → 陈述申辩 → 决定 → 送达 → 履行 → 结案."""

    c = case.cast
    o = c.officers
    t = start
    if not await case.open(
        t, ORDINARY_MATTER, "赵志强", "深圳市福田区华强北街道振华路城中村空地",
        "巡查发现当事人在居民区空地焚烧垃圾，产生浓烟",
    ):  # fmt: skip
        return False
    steps: list[tuple[Callable[[], Awaitable[bool]], float]] = [
        (lambda: case.do(c.officer, rq.FilingIn(officers=o, document=_filing_doc(t)), t), 2),
        (lambda: case.approve_all("filing", t), 24),
        (lambda: case.do(c.officer, rq.InspectionIn(**_rec(o, "现场检查笔录", t)), t), 1),
        (
            lambda: case.do(c.officer, rq.InquiryIn(officers=o, document=_inquiry_doc(t)), t),
            24,
        ),
        (lambda: _evidence(case, t), 48),
        (lambda: case.do(c.officer, rq.ReportIn(**_rec(o, "调查终结报告", t)), t), 24),
        (
            lambda: case.do(
                c.officer,
                rq.NoticeIn(
                    **_rec(o, "行政处罚事先告知书", t),
                    penalty=rq.PenaltyIn(types=["fine"], fine=Decimal(1000)),
                ),
                t,
            ),
            2,
        ),
        (lambda: case.do(c.officer, rq.NoticeDeliveredIn(**_rec(o, "送达回证", t)), t), 1),
        (lambda: case.do(c.officer, rq.WaiverIn(**_rec(o, "放弃陈述申辩声明", t)), t), 24),
        (
            lambda: case.do(
                c.officer,
                rq.DecisionIn(
                    penalty=rq.PenaltyIn(types=["fine"], fine=Decimal(1000)),
                    document=_decision_doc(t),
                ),
                t,
            ),
            1,
        ),
        (lambda: case.approve_all("decision", t), 24),
        (
            lambda: case.do(
                c.officer,
                rq.ServiceIn(**_rec(o, "决定书送达回证", t), method="direct"),
                t,
            ),
            72,
        ),
        (
            lambda: case.do(
                c.officer,
                rq.PerformanceIn(kind="paid", sha256=_sha("缴款凭证", t)),
                t,
            ),
            48,
        ),
        (lambda: case.do(c.officer, rq.ClosingIn(document=CLOSING_DOC), t), 1),
        (lambda: case.approve_all("closing", t), 1),
    ]
    for step, hours in steps:
        if not await step():
            return False
        t += timedelta(hours=hours)
    assert case.case_id is not None
    cur = await case.conn.execute("SELECT state FROM cases WHERE id = %s", (case.case_id,))
    row = await cur.fetchone()
    if row and row[0] == "closed":
        case.out.closed.append(case.case_id)
        return True
    case.out.refused.append(f"{case.case_id} ended in {row[0] if row else '?'}, not closed")
    return False


async def _evidence(case: _Case, at: datetime) -> bool:
    """A photo the officer took on the terminal at the scene (its hash came with it)."""
    assert case.case_id is not None
    try:
        await store.add_evidence(
            case.conn,
            case.cast.officer,
            case.case_id,
            rq.EvidenceItem(
                evidence_type="audiovisual",
                sha256=_sha("现场照片", case.case_id),
                source_kind="terminal",
                source_ref=f"photo-{case.case_id}-1",
                collected_by=case.cast.officers,
                collected_at=at,
                lat=22.5445,
                lon=114.0853,
                place="焚烧现场",
                note="焚烧现场照片",
            ),
            now=at,
        )
    except HubError as exc:
        case.out.refused.append(f"{case.case_id} evidence: {exc.detail}")
        return False
    return True


# ----------------------------------------------------------------- cases in progress ------
async def _in_progress(
    conn: psycopg.AsyncConnection[Any], cast: _Cast, now: datetime, out: CaseDemo
) -> None:
    """Cases left where a team's would be, their deadlines running (see the module doc)."""

    o = cast.officers

    async def clue(days_ago: float, party: str, what: str) -> _Case | None:
        case = _Case(conn, cast, out)
        at = now - timedelta(days=days_ago)
        ok = await case.open(at, PET_MESS, party, "深圳市福田区华强北街道华强北路人行道", what)
        return case if ok else None

    # A clue two days before its 立案 deadline (15 days, yellow from 3 before): yellow.
    c = await clue(13, "钱多多", "群众反映有人遛狗不清理粪便")
    if c and c.case_id:
        out.in_progress[c.case_id] = "clue, 立案 deadline in 2 days (yellow)"
    # A clue left too long: red.
    c = await clue(17, "孙小美", "巡查发现宠物粪便未清理")
    if c and c.case_id:
        out.in_progress[c.case_id] = "clue, 立案 deadline passed (red)"
    # Filed 85 days ago: the 90-day decision period turns yellow 10 days before.
    c = await clue(86, "周大福", "商户门前犬只粪便多次未清理")
    if c and c.case_id:
        t = now - timedelta(days=86)
        if (
            await c.do(cast.officer, rq.FilingIn(officers=o), t + timedelta(hours=2))
            and await c.approve_all("filing", t + timedelta(days=1))
            and await c.do(
                cast.officer, rq.InquiryIn(**_rec(o, "询问笔录", c.case_id)), t + timedelta(days=3)
            )
        ):
            out.in_progress[c.case_id] = "filed 85 days ago, decision period yellow"
    # Notice delivered yesterday: the 陈述申辩 period (3 working days) runs.
    c = await clue(20, "吴小龙", "多次遛狗不清理粪便，经教育仍未改正")
    if c and c.case_id:
        t = now - timedelta(days=20)
        steps = [
            (rq.FilingIn(officers=o), 0.1),
            (None, 1),  # the filing chain
            (rq.InspectionIn(**_rec(o, "现场检查笔录", c.case_id)), 2),
            (rq.InquiryIn(**_rec(o, "询问笔录", c.case_id)), 3),
            (rq.ReportIn(**_rec(o, "调查终结报告", c.case_id)), 10),
            (
                rq.NoticeIn(
                    **_rec(o, "告知书", c.case_id),
                    penalty=rq.PenaltyIn(types=["fine"], fine=Decimal(200)),
                ),
                18,
            ),
            (rq.NoticeDeliveredIn(**_rec(o, "送达回证", c.case_id)), 19),
        ]
        done = True
        for cmd, day in steps:
            at = t + timedelta(days=day)
            done = await (
                c.approve_all("filing", at) if cmd is None else c.do(cast.officer, cmd, at)
            )
            if not done:
                break
        if done:
            out.in_progress[c.case_id] = "statement period running (陈述申辩)"


# ------------------------------------------------------------------------ on the spot ------
async def allocate_blocks(
    conninfo: str,
    mqtt_url: str,
    terminals: list[str],
    now: datetime,
    out: CaseDemo,
    *,
    size: int = 20,
) -> list[str]:
    """A block of 当场处罚决定书 numbers for each terminal, allocated by its team's supervisor
    and sent to it as a command over MQTT; the terminals whose block went out."""

    publisher = AiomqttPublisher(mqtt_url)
    done = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for terminal in terminals:
            cur = await conn.execute(
                "SELECT d.org_unit_id, u.username, u.staff_id FROM devices d"
                " JOIN users u ON u.org_unit_id = d.org_unit_id AND u.role = 'supervisor'"
                " WHERE d.device_id = %s ORDER BY u.username LIMIT 1",
                (terminal,),
            )
            row = await cur.fetchone()
            if row is None:
                out.refused.append(f"number block for {terminal}: no supervisor in its team")
                continue
            unit, user, staff = str(row[0]), str(row[1]), row[2]
            p = Principal(user, Role.SUPERVISOR, unit, await org.subtree(conn, unit), staff)
            try:
                await number_blocks.allocate(
                    conn,
                    p,
                    terminal,
                    number_blocks.BlockRequest(
                        legal_subject=LEGAL_SUBJECT,
                        size=size,
                        team_name=TEAM_NAME,
                        remedies=Remedies(
                            review_body="深圳市福田区人民政府", court="深圳市福田区人民法院"
                        ),
                        payment=Payment(within_days=15, bank="中国工商银行深圳福田支行"),
                    ),
                    publisher=publisher,
                    now=now,
                )
            except HubError as exc:
                out.refused.append(f"number block for {terminal}: {exc.detail}")
                continue
            done.append(terminal)
    return done


# --------------------------------------------------------------------------- entries ------
async def _seed(conninfo: str, team: str, password: str, id_key: str, now: datetime) -> CaseDemo:
    out = CaseDemo(team=team)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cast = await _cast(conn, team, password, id_key=id_key, now=now, out=out)
        await _ordinary_to_closed(_Case(conn, cast, out), now - timedelta(days=30))
        await _in_progress(conn, cast, now, out)
    return out


def seed_cases(
    conninfo: str, team: str, password: str, id_key: str, now: datetime | None = None
) -> CaseDemo:
    """The ordinary case and the cases in progress (see the module docstring); ``id_key`` is
    the national-ID hash key the demo's staff are registered with."""
    return asyncio.run(_seed(conninfo, team, password, id_key, now or datetime.now(UTC)))


def summary(conninfo: str, transparency_size: int) -> str:
    """``cases=… decisions=… documents=… transparency_size=…`` (the summary line's keys)."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM cases),"
            " (SELECT count(*) FROM case_documents"
            "  WHERE doc_type IN ('on_spot_decision', 'penalty_decision', 'decision')),"
            " (SELECT count(*) FROM case_documents)"
        ).fetchone()
    cases, decisions, documents = row if row else (0, 0, 0)
    return (
        f"cases={cases} decisions={decisions} documents={documents}"
        f" transparency_size={transparency_size}"
    )


def alerts_line(conninfo: str) -> str:
    """The ``case_deadline`` alerts the hub's loop raised for the cases: warning and critical."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT severity, count(*) FROM alerts WHERE kind = 'case_deadline'"
            " AND state <> 'resolved' GROUP BY severity"
        ).fetchall()
    got = {str(k): int(n) for k, n in rows}
    return (
        f"deadline_alerts_yellow={got.get('warning', 0)}"
        f" deadline_alerts_red={got.get('critical', 0)}"
    )


def verify_links(conninfo: str, base: str, doc_type: str | None = None) -> list[str]:
    """The public ``/verify`` pages of the decisions issued (what their QR codes open)."""
    from schemas.documents.canonical import verification_url  # noqa: PLC0415
    from schemas.documents.common import DocType  # noqa: PLC0415

    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT doc_type, number FROM case_documents WHERE modelled AND number IS NOT NULL"
            " AND doc_type = ANY(%s) ORDER BY issued_at",
            ([doc_type] if doc_type else ["on_spot_decision", "penalty_decision"],),
        ).fetchall()
    return [verification_url(base, DocType(t), str(n)) for t, n in rows]
