"""Small charts drawn on the server as inline SVG (no chart library, no script): a battery
line over a time window with a presence band under it. The template draws what is computed
here; labels and times are Asia/Shanghai, as everywhere in the UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.web.render import SHANGHAI, local

# viewBox units: the SVG scales to its container's width.
WIDTH, HEIGHT = 720, 236
LEFT, RIGHT, TOP, BOTTOM = 44, 712, 10, 186
BAND_TOP, BAND_HEIGHT = 196, 14


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    at: datetime
    pct: float


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Span:
    x: float
    w: float
    state: str
    start: datetime
    end: datetime


@dataclass
class BatteryChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM
    band_top: int = BAND_TOP
    band_height: int = BAND_HEIGHT
    lines: list[str] = field(default_factory=list)  # polyline "points", one per unbroken run
    dots: list[Dot] = field(default_factory=list)
    yticks: list[Tick] = field(default_factory=list)
    xticks: list[Tick] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)


def _x(t: datetime, start: datetime, end: datetime) -> float:
    frac = (t - start) / (end - start)
    return round(LEFT + min(max(frac, 0.0), 1.0) * (RIGHT - LEFT), 1)


def _y(pct: float) -> float:
    pct = min(max(pct, 0.0), 100.0)
    return round(BOTTOM - pct / 100 * (BOTTOM - TOP), 1)


def battery_chart(
    buckets: Sequence[dict[str, Any]],
    spans: Sequence[dict[str, Any]],
    start: datetime,
    end: datetime,
    width: timedelta,
) -> BatteryChart:
    """Each bucket a dot at its middle; dots joined unless more than one bucket is missing
    between them (a gap in the line says "no data", not a slope)."""
    chart = BatteryChart()
    run: list[Dot] = []
    previous: datetime | None = None
    for b in buckets:
        mid = b["bucket"] + width / 2
        dot = Dot(_x(mid, start, end), _y(float(b["avg_pct"])), b["bucket"], float(b["avg_pct"]))
        if previous is not None and b["bucket"] - previous > 2 * width and run:
            chart.lines.append(" ".join(f"{d.x},{d.y}" for d in run))
            run = []
        run.append(dot)
        chart.dots.append(dot)
        previous = b["bucket"]
    if run:
        chart.lines.append(" ".join(f"{d.x},{d.y}" for d in run))
    chart.yticks = [Tick(_y(p), f"{p}%") for p in (0, 25, 50, 75, 100)]
    # A tick at each local midnight; with a long window every few days, so labels never crowd.
    days = max(1, round((end - start) / timedelta(days=1)))
    step = max(1, days // 10)
    day = start.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    n = 0
    while day < end:
        if day > start and n % step == 0:
            chart.xticks.append(Tick(_x(day, start, end), local(day, "%m-%d")))
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)  # DST-proof, though CST has none
        n += 1
    for s in spans:
        x0, x1 = _x(s["start"], start, end), _x(s["end"], start, end)
        if x1 > x0:
            chart.spans.append(Span(x0, round(x1 - x0, 1), s["state"], s["start"], s["end"]))
    return chart
