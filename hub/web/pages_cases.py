"""The case pages (issue 10 §9): the list with its filters and deadline colours, a new clue,
a case's detail (timeline, state, deadlines, documents with preview and reprint, evidence,
approvals, and the forms of the commands its state allows) and the approvals inbox.

Reads go through ``hub.services.cases.queries``, every change through casecore's
``hub.services.cases.store`` (the forms are in ``pages_case_forms``), so a page can do nothing
the API would refuse the same user; a refusal is shown as the service's message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn
from hub.domain.cases.states import CaseState
from hub.domain.errors import HubError
from hub.domain.principal import Principal
from hub.domain.roles import Action, Role, allowed
from hub.services import personnel
from hub.services.cases import catalog, queries
from hub.web import i18n
from hub.web.pages_case_forms import forms_for
from hub.web.pages_equipment import _name, query, refused, teams_and_units
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)
PAGE = 50
CaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")]
Filter = Annotated[str, Query(max_length=80)]
ColourFilter = Annotated[str, Query(pattern="^(|green|yellow|red)$")]


async def units_in_reach(conn: Conn, p: Principal, lang: str) -> list[tuple[str, str]]:
    return [(u["id"], _name(u, lang)) for u in await personnel.org_units(conn, p)]


async def officers_in_reach(
    conn: Conn, p: Principal, team: str | None = None
) -> list[tuple[str, str]]:
    """Staff to pick from: (id, "name (id)"), of one team if given, else all in reach."""
    if not allowed(p.role, Action.READ_STAFF):
        return []
    filters = {} if team is None else {"org_unit_id": team}
    _n, people = await personnel.list_staff(conn, p, filters, limit=5000, offset=0)
    return [(r["staff_id"], f"{r['name']} ({r['staff_id']})") for r in people]


async def matters_in_force(conn: Conn, p: Principal) -> list[dict[str, Any]]:
    """The matters of the catalog in force (empty while no catalog was approved)."""
    try:
        _v, _t, rows = await catalog.matters(conn, p, limit=500)
    except HubError:
        return []
    return rows


def can_decide(p: Principal) -> bool:
    return allowed(p.role, Action.APPROVE_CASES) or allowed(p.role, Action.LEGAL_REVIEW)


@router.get("/cases")
async def case_list(
    request: Request,
    p: PageUser,
    conn: Conn,
    team: Filter = "",
    matter: Filter = "",
    state: Annotated[str, Query(pattern="^(|" + "|".join(CaseState) + ")$")] = "",
    officer: Filter = "",
    colour: ColourFilter = "",
    page_no: Annotated[int, Query(ge=1, le=queries.MAX_OFFSET // PAGE + 1)] = 1,
) -> HTMLResponse:
    f = queries.CaseFilter(
        team=team or None,
        matter=matter or None,
        state=state or None,
        officer=officer or None,
        colour=queries.Colour(colour) if colour else None,
    )
    try:
        result = await queries.list_cases(conn, p, f, limit=PAGE, offset=(page_no - 1) * PAGE)
    except HubError as exc:
        return refused(request, p, exc, "cases.not_found")
    params = {"team": team, "matter": matter, "state": state, "officer": officer, "colour": colour}
    more = result.more or page_no * PAGE < result.total
    return page(
        request, "cases/list.html", p, f=f, result=result, page_no=page_no,
        units=await units_in_reach(conn, p, lang_of(request)),
        matters=await matters_in_force(conn, p), states=list(CaseState),
        officers=await officers_in_reach(conn, p),
        prev_query=query(params | {"page_no": page_no - 1}) if page_no > 1 else None,
        next_query=query(params | {"page_no": page_no + 1}) if more else None,
        can_open=allowed(p.role, Action.OPEN_CLUE), can_decide=can_decide(p),
    )  # fmt: skip


@router.get("/cases/approvals")
async def approvals(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        rows = await queries.inbox(conn, p)
    except HubError as exc:
        return refused(request, p, exc, "cases.not_found")
    return page(request, "cases/approvals.html", p, steps=rows)


@router.get("/cases/new")
async def new_clue(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        p.require(Action.OPEN_CLUE)
    except HubError as exc:
        return refused(request, p, exc, "cases.not_found")
    return page(
        request, "cases/new.html", p, matters=await matters_in_force(conn, p),
        units=(await teams_and_units(conn, p, lang_of(request)))["teams"],
    )  # fmt: skip


@router.get("/cases/{case_id}")
async def case_detail(request: Request, case_id: CaseId, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        d = await queries.detail(conn, p, case_id)
    except HubError as exc:
        return refused(request, p, exc, "cases.not_found")
    pending = next((a for a in d["approvals"] if a["decided_at"] is None), None)
    t = i18n.translator(lang_of(request))
    return page(
        request, "cases/detail.html", p, d=d, c=d["case"],
        forms=forms_for(p, d), officers=await case_officers(conn, p, d),
        pending_step=pending, can_decide_pending=pending is not None and may_decide(p, pending),
        commands={k.removeprefix("cases.cmd."): t(k) for k in i18n.MESSAGES
                  if k.startswith("cases.cmd.")},
        can_reprint=allowed(p.role, Action.HANDLE_CASES) and p.staff_id is not None,
    )  # fmt: skip


async def case_officers(conn: Conn, p: Principal, d: dict[str, Any]) -> list[tuple[str, str]]:
    """The forms' officers: the case team's staff, and the case's officers from elsewhere."""
    picks = await officers_in_reach(conn, p, d["case"]["org_unit_id"])
    known = {sid for sid, _ in picks}
    return picks + [
        (o["staff_id"], f"{o['name']} ({o['staff_id']})")
        for o in d["officers"]
        if o["staff_id"] not in known
    ]


def may_decide(p: Principal, step: dict[str, Any]) -> bool:
    """The open step is this user's to decide: its account role, a unit in reach."""
    role_fits = p.role is Role.ADMIN or step["hub_role"] == p.role.value
    return role_fits and step["org_unit_id"] in p.scope
