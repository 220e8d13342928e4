"""Usage statistics (使用统计): per team (by device kind and per device), per device and per
officer, over a period picked in Shanghai days, with a bar chart drawn on the server as inline
SVG beside its data table, and the figures exported with display names.

The figures come from ``hub.services.usage`` (the same hourly rollup, reach and period rules
as the API's ``/api/v1/usage``); this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.api.deps import Conn
from hub.api.export import tabular
from hub.domain.errors import HubError
from hub.domain.principal import Principal
from hub.services import usage
from hub.web import i18n
from hub.web.pages_custody import officers
from hub.web.pages_equipment import teams_and_units
from hub.web.render import SHANGHAI, PageUser, lang_of, local, page

router = APIRouter(include_in_schema=False)

FIGURES = ("online_h", "recording_h", "km", "engine_h", "pages")
Mode = Literal["team", "device", "officer"]
# The chart's viewBox: it scales to its container's width.
W, H, LEFT, BOTTOM, TOP = 720, 220, 48, 190, 12


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: float


def bars(points: list[tuple[str, float]]) -> tuple[list[Bar], float]:
    """Bars for (label, value) pairs across the chart, scaled to the largest value."""
    top = max((v for _, v in points), default=0.0) or 1.0
    if not points:
        return [], top
    slot = (W - LEFT - 8) / len(points)
    out = []
    for i, (label, v) in enumerate(points):
        h = (BOTTOM - TOP) * v / top
        out.append(Bar(LEFT + i * slot + slot * 0.15, BOTTOM - h, slot * 0.7, h, label, v))
    return out, top


def _period(start: str, end: str) -> tuple[date, date]:
    """The days asked for (inclusive), else the last seven days in Shanghai."""
    today = datetime.now(SHANGHAI).date()
    try:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        a, b = today - timedelta(days=6), today
    return (a, b) if a <= b else (b, a)


async def _figures(
    conn: Conn, p: Principal, mode: str, subject: str, a: date, b: date, bucket: str, lang: str
) -> dict[str, Any]:
    """The rows to show and chart for the chosen view."""
    start = datetime.combine(a, time(0), SHANGHAI)
    end = datetime.combine(b + timedelta(days=1), time(0), SHANGHAI)
    t = i18n.translator(lang)
    if mode == "device":
        data = await usage.device_usage(conn, p, subject, start, end, bucket=bucket)
        fmt = "%m-%d %H:%M" if bucket == "hour" else "%m-%d"
        rows = [{"label": local(r["period"], fmt), **r} for r in data["periods"]]
        return {"title": subject, "rows": rows, "totals": data["totals"]}
    if mode == "officer":
        data = await usage.officer_usage(conn, p, subject, start, end, bucket=bucket)
        fmt = "%m-%d %H:%M" if bucket == "hour" else "%m-%d"
        rows = [
            {"label": f"{local(r['period'], fmt)} {r['device_id']}", **r} for r in data["periods"]
        ]
        return {"title": f"{data['name']} ({subject})", "rows": rows, "totals": data["totals"]}
    data = await usage.team_usage(conn, p, subject, start, end)
    rows = [{"label": t("kind." + r["device_type"]), **r} for r in data["kinds"]]
    devices = [{"label": r["device_id"], **r} for r in data["devices"]]
    return {"title": data["name"], "rows": rows, "devices": devices, "totals": data["totals"]}


@router.get("/usage")
async def usage_page(
    request: Request,
    p: PageUser,
    conn: Conn,
    mode: Mode = "team",
    subject: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    bucket: Literal["hour", "day", "week"] = "day",
    metric: Literal["online_h", "recording_h", "km", "engine_h", "pages"] = "online_h",
) -> HTMLResponse:
    lang = lang_of(request)
    picker = await teams_and_units(conn, p, lang)
    a, b = _period(start, end)
    if not subject and mode == "team":
        subject = p.org_unit_id
    shown: dict[str, Any] | None = None
    error: str | None = None
    if subject:
        try:
            shown = await _figures(conn, p, mode, subject, a, b, bucket, lang)
        except HubError as exc:
            error = exc.detail
    chart, top = bars([(r["label"], float(r[metric])) for r in (shown or {}).get("rows", [])])
    return page(
        request,
        "usage.html",
        p,
        mode=mode,
        subject=subject,
        start=a.isoformat(),
        end=b.isoformat(),
        bucket=bucket,
        metric=metric,
        figures=FIGURES,
        shown=shown,
        error=error,
        chart=chart,
        top=top,
        size={"w": W, "h": H, "left": LEFT, "bottom": BOTTOM, "top": TOP},
        people=await officers(conn, p) if mode == "officer" else [],
        **picker,
    )


@router.get("/usage.{fmt}")
async def usage_export(
    fmt: Literal["csv", "xlsx"],
    request: Request,
    p: PageUser,
    conn: Conn,
    mode: Mode = "team",
    subject: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    bucket: Literal["hour", "day", "week"] = "day",
) -> Response:
    """The view's table with the column names of the page's language."""
    lang = lang_of(request)
    t = i18n.translator(lang)
    a, b = _period(start, end)
    shown = await _figures(conn, p, mode, subject or p.org_unit_id, a, b, bucket, lang)
    rows = shown.get("devices", []) if mode == "team" else shown["rows"]
    if mode == "team":
        rows = shown["rows"] + [
            {**r, "label": f"{r['label']} ({t('kind.' + r['device_type'])})"} for r in rows
        ]
    heads = [t("usage.row")] + [t("usage.f." + f) for f in FIGURES]
    body = [dict(zip(heads, [r["label"], *(r[f] for f in FIGURES)], strict=True)) for r in rows]
    filters = {"mode": mode, "subject": subject, "from": a, "to": b, "bucket": bucket}
    return await tabular(
        conn, p, f"usage-{mode}", fmt, columns=heads, rows=body, filters=filters | {"lang": lang}
    )
