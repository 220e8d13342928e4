"""The org-units page (组织架构): the tree in reach (city / district / street teams) with each
unit's headcount (establishment 编制, actual 实有, on duty now 在岗), and for ``org.manage``
(admins) a form for a new district or team and each unit's names and establishment.

Forms are checked with the API's request models (``hub.api.routes.staff``) and acted on by
``hub.services.personnel``, so the page applies the API's rules (reach, the level below the
parent) and leaves the same audit (``org_unit.create`` / ``org_unit.update``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from hub.api.deps import Conn
from hub.api.routes.staff import OrgUnitCreate, OrgUnitUpdate
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services import personnel
from hub.web import i18n
from hub.web.pages_equipment import FromPage, _name, refused
from hub.web.pages_staff import invalid
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)

UnitIdPath = Annotated[str, Path(min_length=1, max_length=64)]


def tree(units: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Units in reach as (depth, unit), each parent followed by its children (by id); a unit
    whose parent is out of reach is a root."""
    ids = {u["id"] for u in units}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for u in units:
        children.setdefault(u["parent_id"] if u["parent_id"] in ids else None, []).append(u)
    out: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: str | None, depth: int) -> None:
        for u in sorted(children.get(parent, []), key=lambda x: x["id"]):
            out.append((depth, u))
            walk(u["id"], depth + 1)

    walk(None, 0)
    return out


@router.get("/org-units")
async def org_units(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    lang = lang_of(request)
    try:
        counts = await personnel.headcount(conn, p)
        units = await personnel.org_units(conn, p)
    except HubError as exc:
        return refused(request, p, exc, "org.not_found")
    heads = {
        h["org_unit_id"]: h
        for h in [
            *counts["teams"],
            *counts["districts"],
            *([counts["city"]] if counts["city"] else []),
        ]
    }
    return page(
        request,
        "org_units.html",
        p,
        rows=[(depth, u, _name(u, lang), heads.get(u["id"])) for depth, u in tree(units)],
        parents=[(u["id"], _name(u, lang)) for u in units if u["level"] != "street"],
        can_manage=allowed(p.role, Action.MANAGE_ORG),
    )


@router.post("/ui/org-units", dependencies=[FromPage])
async def create(
    request: Request,
    p: PageUser,
    conn: Conn,
    id: Annotated[str, Form(max_length=64)],
    parent_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    name_en: Annotated[str, Form(max_length=64)] = "",
    establishment: Annotated[str, Form(max_length=8)] = "0",
) -> Response:
    t = i18n.translator(lang_of(request))
    try:
        body = OrgUnitCreate.model_validate(
            {
                "id": id.strip(),
                "parent_id": parent_id,
                "name": name,
                "name_en": name_en.strip() or None,
                "establishment": establishment.strip() or "0",
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t, "org.f."))
    try:
        await personnel.create_unit(conn, p, body.model_dump())
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": "/org-units"})


@router.post("/ui/org-units/{unit_id}", dependencies=[FromPage])
async def update(
    unit_id: UnitIdPath,
    request: Request,
    p: PageUser,
    conn: Conn,
    name: Annotated[str, Form(max_length=64)],
    name_en: Annotated[str, Form(max_length=64)] = "",
    establishment: Annotated[str, Form(max_length=8)] = "0",
) -> Response:
    """A unit's names and establishment (an empty English name clears it)."""
    t = i18n.translator(lang_of(request))
    try:
        body = OrgUnitUpdate.model_validate(
            {
                "name": name,
                "name_en": name_en.strip() or None,
                "establishment": establishment.strip() or "0",
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t, "org.f."))
    try:
        await personnel.update_unit(conn, p, unit_id, body.model_dump())
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": "/org-units"})
