"""The matter catalog and discretion pages: the catalog (list, a matter's detail with a form to
propose a revision), the revisions waiting for a decision (approve or reject, never one's own),
and the standards with a form that computes a recommended penalty.

Everything goes through ``hub.services.cases.catalog``, so a page can do only what the API
allows the same user; a refusal is shown as the service's message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn
from hub.domain.cases import discretion
from hub.domain.cases.law import PartyType
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services.cases import catalog as service
from hub.web.pages_equipment import FromPage, refused
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
EDITABLE = ("fine_min", "fine_max", "per_unit_rate", "note")


async def _pending(conn: Conn, p: Any) -> list[dict[str, Any]]:
    _, rows = await service.revisions(conn, p, target=None, state="proposed", limit=50, offset=0)
    return rows


@router.get("/catalog")
async def catalog(
    request: Request,
    p: PageUser,
    conn: Conn,
    category: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    try:
        version, total, rows = await service.matters(
            conn, p, category=category or None, q=q or None, limit=500
        )
        _, categories = await service.categories(conn, p)
        pending = await _pending(conn, p)
    except HubError as exc:
        return refused(request, p, exc, "catalog.not_found")
    return page(
        request, "catalog.html", p, version=version, total=total, matters=rows,
        categories=categories, category=category, q=q, pending=pending,
        can_decide=allowed(p.role, Action.APPROVE_CATALOG),
    )  # fmt: skip


@router.get("/catalog/{code}")
async def matter(request: Request, code: Code, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        m = await service.matter(conn, p, code)
    except HubError as exc:
        return refused(request, p, exc, "catalog.not_found")
    return page(
        request, "catalog_matter.html", p, m=m,
        can_propose=allowed(p.role, Action.PROPOSE_CATALOG),
    )  # fmt: skip


@router.post("/ui/catalog/{code}/propose", dependencies=[FromPage])
async def propose(
    request: Request,
    code: Code,
    p: PageUser,
    conn: Conn,
    summary: Annotated[str, Form(max_length=2000)] = "",
    fine_min: Annotated[str, Form(max_length=20)] = "",
    fine_max: Annotated[str, Form(max_length=20)] = "",
    per_unit_rate: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Propose an edit of one matter; answers with a status line (proposed, or why not)."""
    try:
        m = await service.matter(conn, p, code)
        edited = {k: m[k] for k in m if k not in ("version", "category_name", "category_name_en",
                                                 "legal_subject_detail")}  # fmt: skip
        values = {"fine_min": fine_min, "fine_max": fine_max, "per_unit_rate": per_unit_rate}
        edited |= {k: v.strip() or None for k, v in values.items()} | {"note": note.strip()}
        row = await service.propose(
            conn, p, target="catalog", kind="edit", matter=edited, summary=summary
        )
        return page(request, "_catalog_flash.html", p, ok=True, revision=row["id"])
    except HubError as exc:
        problems = exc.extra.get("problems")
        return page(
            request, "_catalog_flash.html", p, ok=False, message=exc.detail,
            problems=problems if isinstance(problems, list) else [],
        )  # fmt: skip


@router.post("/ui/catalog/revisions/{revision_id}/{decision}", dependencies=[FromPage])
async def decide(
    request: Request,
    revision_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    decision: Annotated[str, Path(pattern="^(approve|reject)$")],
    p: PageUser,
    conn: Conn,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    error: str | None = None
    decided: dict[str, Any] | None = None
    try:
        decided = await service.decide(
            conn, p, revision_id, approve=decision == "approve", note=note or None
        )
    except HubError as exc:
        error = exc.detail
    return page(
        request, "_catalog_revisions.html", p, pending=await _pending(conn, p), error=error,
        decided=decided, can_decide=allowed(p.role, Action.APPROVE_CATALOG),
    )  # fmt: skip


@router.get("/discretion")
async def standards(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        rows = await service.standards(conn, p)
        _, _, matters = await service.matters(conn, p, kind="penalty", limit=500)
    except HubError as exc:
        return refused(request, p, exc, "catalog.not_found")
    return page(
        request, "discretion.html", p, standards=rows, matters=matters,
        today=date.today().isoformat(),
    )  # fmt: skip


def _amount(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0:
        raise ValueError(text)
    return value


@router.post("/ui/discretion/recommend", dependencies=[FromPage])
async def recommend(
    request: Request,
    p: PageUser,
    conn: Conn,
    matter: Annotated[str, Form(max_length=40)],
    act_date: Annotated[date, Form()],
    party_type: Annotated[PartyType, Form()] = PartyType.CITIZEN,
    prior_offences_12m: Annotated[int, Form(ge=0, le=1000)] = 0,
    area_m2: Annotated[str, Form(max_length=20)] = "",
    quantity: Annotated[str, Form(max_length=20)] = "",
    party_age: Annotated[str, Form(max_length=3)] = "",
    refused_to_correct: Annotated[bool, Form()] = False,
    corrected: Annotated[bool, Form()] = False,
    minor: Annotated[bool, Form()] = False,
    serious: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    try:
        facts = discretion.Facts(
            party_type=party_type,
            prior_offences_12m=prior_offences_12m,
            area_m2=_amount(area_m2),
            quantity=_amount(quantity),
            party_age=int(party_age) if party_age.strip() else None,
            refused_to_correct=refused_to_correct,
            corrected=corrected,
            minor=minor,
            serious=serious,
        )
    except ValueError as exc:
        return page(request, "_recommendation.html", p, error=f"not a number: {exc}", r=None)
    try:
        r, version = await service.recommend(
            conn, p, matter_code=matter, facts=facts, act_date=act_date, decided_on=date.today()
        )
    except HubError as exc:
        return page(request, "_recommendation.html", p, error=exc.detail, r=None)
    lang = "en" if lang_of(request) == "en" else "zh"
    label = "" if r.penalty is None else discretion.penalty_text(r.penalty.types, lang)
    return page(
        request, "_recommendation.html", p, r=r, version=version, error=None, penalty_label=label
    )
