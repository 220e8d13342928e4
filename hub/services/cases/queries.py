"""The read side of the case file (issue 10 §9): the case list, a case's detail and the
approvals inbox, each scoped by the caller's reach (org tree) and role.

The write side is ``hub.services.cases.store`` (casecore); this module only reads the tables of
migration 020. The list must stay fast at 1,000,000 cases, so each filter maps onto one of the
migration's indexes: team (+ state) onto ``(org_unit_id, state, opened_at DESC)``, the deadline
colour onto ``(org_unit_id, next_due)``, the matter onto ``(matter_code)``, the officer onto the
GIN index on ``officers`` (``officers @> ARRAY[...]``, the operator GIN serves). The total is
counted up to ``TOTAL_CAP`` rows and said as "more than" beyond: an exact count of a district's
million cases would cost more than the page.

Deadline colours (CASES.md §2, "warned before they pass (yellow) and after (red)"), against
today in Asia/Shanghai: red when ``next_due`` is past, yellow from ``next_warn`` until it is,
green before; no running timer, no colour.

Who sees the party (CASES.md: personal data never leaves the case file): the roles that handle,
approve or legally review cases see the party's record; a role that only reads cases (the
dispatcher) sees the party type and a masked name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.domain.cases.states import CaseState
from hub.domain.errors import NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action, Role, allowed
from hub.repositories import org

AConn = psycopg.AsyncConnection[Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOTAL_CAP = 10_000
MAX_PAGE = 200


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def today_shanghai(now: datetime | None = None) -> date:
    return (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()


def colour(due: date | None, warn: date | None, today: date) -> Colour | None:
    """A deadline's colour on ``today`` (None: nothing runs)."""
    if due is None:
        return None
    if due < today:
        return Colour.RED
    if warn is not None and warn <= today:
        return Colour.YELLOW
    return Colour.GREEN


def sees_party(p: Principal) -> bool:
    """The party's record is for those who act on the case, not for every reader."""
    return any(
        allowed(p.role, a) for a in (Action.HANDLE_CASES, Action.APPROVE_CASES, Action.LEGAL_REVIEW)
    )


def mask_name(name: str | None) -> str:
    """张三丰 -> 张**; an organisation's name keeps its first two characters."""
    if not name:
        return ""
    keep = 1 if len(name) <= 4 else 2
    return name[:keep] + "*" * (len(name) - keep)


@dataclass(frozen=True)
class CaseFilter:
    team: str | None = None  # an org unit: it and every unit below it
    matter: str | None = None
    state: str | None = None
    officer: str | None = None  # a staff id among the case's officers
    colour: Colour | None = None


LIST_COLUMNS = (
    "c.id, c.number, c.state, c.procedure, c.org_unit_id, c.matter_code, c.source,"
    " c.lead_officer, c.officers, c.opened_at, c.updated_at, c.next_due, c.next_warn,"
    " c.act_date, c.place, o.name AS team_name, o.name_en AS team_name_en,"
    " m.name AS matter_name, ls.name AS lead_name"
)
LIST_SOURCE = (
    "cases c JOIN org_units o ON o.id = c.org_unit_id"
    " LEFT JOIN catalog_matters m ON m.version = c.catalog_version AND m.code = c.matter_code"
    " LEFT JOIN staff ls ON ls.staff_id = c.lead_officer"
)


async def _units(conn: AConn, p: Principal, team: str | None) -> list[str]:
    if team is None:
        return sorted(p.scope)
    if team not in p.scope:
        return []  # outside reach: as if it had no case (nothing leaks)
    return sorted(await org.subtree(conn, team) & p.scope)


def _filters(f: CaseFilter, today: date) -> tuple[list[sql.Composable], dict[str, Any]]:
    """The conditions besides reach and state (``c.`` is the case row)."""
    where: list[sql.Composable] = []
    params: dict[str, Any] = {"today": today}
    if f.matter:
        where.append(sql.SQL("c.matter_code = %(matter)s"))
        params["matter"] = f.matter
    if f.officer:
        where.append(sql.SQL("c.officers @> ARRAY[%(officer)s]::text[]"))
        params["officer"] = f.officer
    if f.colour is Colour.RED:
        where.append(sql.SQL("c.next_due < %(today)s"))
    elif f.colour is Colour.YELLOW:
        where.append(sql.SQL("c.next_due >= %(today)s AND c.next_warn <= %(today)s"))
    elif f.colour is Colour.GREEN:
        where.append(
            sql.SQL("c.next_due >= %(today)s AND (c.next_warn IS NULL OR c.next_warn > %(today)s)")
        )
    return where, params


@dataclass(frozen=True)
class CasePage:
    total: int
    more: bool  # the total is at least ``total`` (counted up to TOTAL_CAP)
    rows: list[dict[str, Any]]


MAX_OFFSET = 10_000  # deeper than 200 pages of 50: narrow the filters instead


def _page_ids(f: CaseFilter, extra: list[sql.Composable]) -> sql.Composable:
    """The page's (id, opened_at), newest first, as a plan the indexes serve at 1M cases.

    With an officer: the GIN index finds their cases (a few thousand at most), then one sort,
    counted in the same pass (``n``).
    Otherwise one probe per (unit, state) of ``cases_unit_state_idx`` (org_unit_id, state,
    opened_at DESC, id DESC, covering next_due, next_warn, matter_code), each read in order and
    stopped after ``offset + limit`` rows, merged: no probe sorts, and the colour and matter
    filters are read from the index. (opened_at, id) orders the page: stable across pages.
    """
    more = sql.SQL("").join(sql.SQL(" AND ") + w for w in extra)
    if f.officer:
        return sql.SQL(
            "SELECT c.id AS pid, c.opened_at AS pat, count(*) OVER () AS n FROM cases c"
            " WHERE c.org_unit_id = ANY(%(units)s) AND c.state = ANY(%(states)s){more}"
            " ORDER BY c.opened_at DESC, c.id DESC LIMIT %(limit)s OFFSET %(offset)s"
        ).format(more=more)
    return sql.SQL(
        "SELECT c.id AS pid, c.opened_at AS pat, NULL::bigint AS n"
        " FROM unnest(%(units)s::text[]) u(unit)"
        " CROSS JOIN unnest(%(states)s::text[]) s(state)"
        " CROSS JOIN LATERAL (SELECT c.id, c.opened_at FROM cases c"
        " WHERE c.org_unit_id = u.unit AND c.state = s.state{more}"
        " ORDER BY c.opened_at DESC, c.id DESC LIMIT %(depth)s) c"
        " ORDER BY c.opened_at DESC, c.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(more=more)


async def _officer_count(conn: AConn, params: dict[str, Any]) -> int:
    """The officer's total when the page is past their last case (the window count is empty)."""
    cur = await conn.execute(
        "SELECT count(*) FROM cases c WHERE c.org_unit_id = ANY(%(units)s)"
        " AND c.state = ANY(%(states)s) AND c.officers @> ARRAY[%(officer)s]::text[]",
        params,
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def list_cases(
    conn: AConn,
    p: Principal,
    f: CaseFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
) -> CasePage:
    """One page of the cases in reach matching ``f``, newest first, with their colours."""
    p.require(Action.READ_CASES)
    day = today or today_shanghai()
    units = await _units(conn, p, f.team)
    if not units:
        return CasePage(0, False, [])
    extra, params = _filters(f, day)
    limit, offset = min(max(limit, 1), MAX_PAGE), min(max(offset, 0), MAX_OFFSET)
    states = [f.state] if f.state else [s.value for s in CaseState]
    params |= {"units": units, "states": states, "limit": limit, "offset": offset,
               "depth": offset + limit, "cap": TOTAL_CAP + 1}  # fmt: skip
    page_ids = _page_ids(f, extra)
    if f.officer:
        total = -1  # counted by the page query itself (one pass over the officer's cases)
    else:
        cond = sql.SQL(" AND ").join(
            [sql.SQL("c.org_unit_id = ANY(%(units)s)"), sql.SQL("c.state = ANY(%(states)s)"),
             *extra]
        )  # fmt: skip
        cur = await conn.execute(
            sql.SQL("SELECT count(*) FROM (SELECT 1 FROM cases c WHERE {} LIMIT %(cap)s) x").format(
                cond
            ),
            params,
        )
        counted = await cur.fetchone()
        total = int(counted[0]) if counted else 0
    rows_cur = conn.cursor(row_factory=dict_row)
    await rows_cur.execute(
        sql.SQL(
            "WITH page AS ({ids}) SELECT {cols}, page.n AS total FROM page"
            " JOIN {src} ON c.id = page.pid ORDER BY page.pat DESC, page.pid DESC"
        ).format(ids=page_ids, cols=sql.SQL(LIST_COLUMNS), src=sql.SQL(LIST_SOURCE)),
        params,
    )
    rows = await rows_cur.fetchall()
    if total < 0:
        total = int(rows[0]["total"]) if rows else await _officer_count(conn, params)
    for r in rows:
        r.pop("total", None)
        c = colour(r["next_due"], r["next_warn"], day)
        r["colour"] = None if c is None else c.value
    return CasePage(min(total, TOTAL_CAP), total > TOTAL_CAP, rows)


# ----------------------------------------------------------------------------- detail -------
async def _one(conn: AConn, query: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchone()


async def _all(conn: AConn, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchall()


async def case_row(conn: AConn, p: Principal, case_id: str) -> dict[str, Any]:
    """The case's row if it is in reach (``NotFound`` otherwise, whether or not it exists)."""
    p.require(Action.READ_CASES)
    row = await _one(
        conn,
        f"SELECT {LIST_COLUMNS}, c.legal_subject, c.catalog_version, c.party_id, c.incident_id,"
        " c.discovered_on, c.severe_harm, c.lat, c.lon, c.opened_by, c.seq, c.filed_on,"
        " c.decided_on, c.pending_act, c.decided_fine"
        f" FROM {LIST_SOURCE} WHERE c.id = %s",
        (case_id,),
    )
    return p.visible(row, "case")


async def detail(
    conn: AConn, p: Principal, case_id: str, *, today: date | None = None
) -> dict[str, Any]:
    """Everything the case page and ``GET /api/v1/cases/{id}`` show of one case."""
    day = today or today_shanghai()
    case = await case_row(conn, p, case_id)
    c = colour(case["next_due"], case["next_warn"], day)
    case["colour"] = None if c is None else c.value
    party = await _one(conn, "SELECT * FROM case_parties WHERE id = %s", (case["party_id"],))
    events = await _all(
        conn,
        "SELECT e.seq, e.at, e.actor, e.actor_staff, s.name AS actor_name, e.command, e.kind,"
        " e.state_from, e.state_to, e.case_number FROM case_events e"
        " LEFT JOIN staff s ON s.staff_id = e.actor_staff WHERE e.case_id = %s ORDER BY e.seq",
        (case_id,),
    )
    timers = await _all(
        conn,
        "SELECT code, ref, started_on, due_on, warn_on, unit, length, provisional, stopped_at,"
        " stop_reason FROM case_timers WHERE case_id = %s ORDER BY started_on, code, ref",
        (case_id,),
    )
    for t in timers:
        tc = None if t["stopped_at"] else colour(t["due_on"], t["warn_on"], day)
        t["colour"] = None if tc is None else tc.value
    documents = await _all(
        conn,
        "SELECT id, doc_type, number, ref, sha256, modelled, issued_at, issued_by,"
        " printed_at_scene FROM case_documents WHERE case_id = %s ORDER BY issued_at, id",
        (case_id,),
    )
    evidence = await _all(
        conn,
        "SELECT id, evidence_type, sha256, source_kind, source_ref, collected_by, collected_at,"
        " place, note, added_by, added_at FROM case_evidence WHERE case_id = %s"
        " ORDER BY added_at, id",
        (case_id,),
    )
    approvals = await _all(
        conn,
        "SELECT id, act, step_index, step_role, step_label, hub_role, org_unit_id, requested_at,"
        " requested_by,"
        " decided_at, decided_by, decision, opinion FROM case_approval_steps"
        " WHERE case_id = %s ORDER BY requested_at, act, step_index, id",
        (case_id,),
    )
    officers = await _all(
        conn,
        "SELECT staff_id, name, badge_no, certificate_expires FROM staff"
        " WHERE staff_id = ANY(%s) ORDER BY staff_id",
        (list(case["officers"] or []),),
    )
    return {
        "case": case,
        "party": _party(p, party),
        "officers": officers,
        "events": events,
        "timers": timers,
        "documents": documents,
        "evidence": evidence,
        "approvals": approvals,
    }


PARTY_FIELDS = (
    "party_type", "name", "id_type", "id_number", "credit_code", "legal_representative", "phone",
    "address",
)  # fmt: skip


def _party(p: Principal, row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    if sees_party(p):
        return {k: row.get(k) for k in PARTY_FIELDS if k in row} | {"masked": False}
    return {"party_type": row.get("party_type"), "name": mask_name(row.get("name")), "masked": True}


async def document(conn: AConn, p: Principal, case_id: str, doc_id: str) -> dict[str, Any]:
    """One document of a case in reach, with its canonical bytes (``NotFound`` otherwise)."""
    await case_row(conn, p, case_id)
    row = await _one(
        conn,
        "SELECT id, case_id, doc_type, number, sha256, canonical, modelled, issued_at"
        " FROM case_documents"
        " WHERE id = %s AND case_id = %s",
        (doc_id, case_id),
    )
    if row is None:
        raise NotFound("document not found")
    return row


# ---------------------------------------------------------------------------- inbox ---------
async def inbox(conn: AConn, p: Principal, *, limit: int = 100) -> list[dict[str, Any]]:
    """The open approval steps the caller may decide: of the caller's account role (casecore
    writes it on the step: a team's supervisor is its team leader, the district's supervisor
    the department head, the legal office is the legal reviewers'), for a unit in reach (the
    caller's or below it). An administrator sees every open step in reach. One step is open
    per case at a time (migration 020), so each row is the current step of its chain."""
    p.require(Action.READ_CASES)
    if not (can_approve(p) or p.role is Role.ADMIN):
        return []
    return await _all(
        conn,
        "SELECT s.id, s.case_id, s.act, s.step_index, s.step_role, s.step_label, s.hub_role,"
        " s.org_unit_id, s.requested_at, s.requested_by, c.number, c.state, c.matter_code,"
        " c.officers, o.name AS team_name, o.name_en AS team_name_en"
        " FROM case_approval_steps s JOIN cases c ON c.id = s.case_id"
        " JOIN org_units o ON o.id = c.org_unit_id"
        " WHERE s.decided_at IS NULL AND s.org_unit_id = ANY(%s)"
        " AND (%s OR s.hub_role = %s)"
        " ORDER BY s.requested_at, s.id LIMIT %s",
        (sorted(p.scope), p.role is Role.ADMIN, p.role.value, limit),
    )


def can_approve(p: Principal) -> bool:
    return allowed(p.role, Action.APPROVE_CASES) or allowed(p.role, Action.LEGAL_REVIEW)
