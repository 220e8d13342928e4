"""The working-day calendar as data (CASES.md §1): build the ``WorkCalendar`` the deadlines
use, load a year's published schedule (a file an administrator writes from the State Council's
notice), and seed every year the installed ``chinesecalendar`` package knows. Audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import psycopg

from hub.domain.cases import deadlines
from hub.domain.errors import Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.domain.workdays import CalendarError, WorkCalendar
from hub.repositories import audit
from hub.repositories.cases import calendar as repo

AConn = psycopg.AsyncConnection[Any]


async def work_calendar(conn: AConn) -> WorkCalendar:
    """The calendar of every loaded year; known through the last year of the unbroken run of
    loaded years (a gap would make the years after it unreliable)."""
    years = await repo.years(conn)
    rows = await repo.days(conn)
    holidays = [d for d, kind, _ in rows if kind == "holiday"]
    workdays = [d for d, kind, _ in rows if kind == "workday"]
    names = {d: name for d, _, name in rows}
    if not years:
        return WorkCalendar.from_days(holidays, workdays, known_through=0, known_from=1)
    last = years[0]
    for y in years[1:]:
        if y != last + 1:
            break
        last = y
    return WorkCalendar.from_days(holidays, workdays, last, years[0], names)


def parse_year(doc: Mapping[str, Any]) -> tuple[int, list[tuple[date, str, str]]]:
    """A year's schedule from a file: ``year``, ``holidays`` and ``workdays`` as lists of
    ``{date, name}`` (or of dates; a holiday may be ``{from, to, name}``)."""
    year = doc.get("year")
    if not isinstance(year, int) or not 1990 <= year <= 2200:
        raise Invalid("year: an integer such as 2027 is required")
    rows: dict[date, tuple[str, str]] = {}

    def day(v: Any, where: str) -> date:
        if isinstance(v, date):
            d = v
        else:
            try:
                d = date.fromisoformat(str(v))
            except ValueError:
                raise Invalid(f"{where}: {v!r} is not a date (YYYY-MM-DD)") from None
        if d.year != year:
            raise Invalid(f"{where}: {d} is not in {year}")
        return d

    def add(d: date, kind: str, name: str, where: str) -> None:
        if d in rows:
            raise Invalid(f"{where}: {d} is listed twice")
        if kind == "workday" and d.weekday() < 5:
            raise Invalid(
                f"{where}: {d} is a weekday; a make-up working day is a Saturday or Sunday"
            )
        rows[d] = (kind, name)

    for kind, key in (("holiday", "holidays"), ("workday", "workdays")):
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise Invalid(f"{key}: must be a list")
        for i, e in enumerate(entries, 1):
            where = f"{key}[{i}]"
            if isinstance(e, Mapping) and "from" in e:
                start, end = day(e["from"], where), day(e.get("to", e["from"]), where)
                if end < start:
                    raise Invalid(f"{where}: 'to' is before 'from'")
                d = start
                while d <= end:
                    add(d, kind, str(e.get("name") or ""), where)
                    d = date.fromordinal(d.toordinal() + 1)
            elif isinstance(e, Mapping):
                add(day(e.get("date"), where), kind, str(e.get("name") or ""), where)
            else:
                add(day(e, where), kind, "", where)
    if not any(k == "holiday" for k, _ in rows.values()):
        raise Invalid("holidays: a published schedule has days off; none given")
    return year, sorted((d, k, n) for d, (k, n) in rows.items())


async def load_year(
    conn: AConn, actor: str, year: int, rows: list[tuple[date, str, str]], source: str
) -> dict[str, Any]:
    """Replace one year's schedule (audited with what it was and what it is)."""
    try:
        WorkCalendar.from_days(
            [d for d, k, _ in rows if k == "holiday"],
            [d for d, k, _ in rows if k == "workday"],
            year,
        )
    except CalendarError as exc:
        raise Invalid(str(exc)) from None
    async with conn.transaction():
        before = await repo.year_days(conn, year)
        known = year in await repo.years(conn)
        await repo.replace_year(conn, year, rows, source=source, by=actor)
        after = {
            "year": year,
            "source": source,
            "holidays": [d.isoformat() for d, k, _ in rows if k == "holiday"],
            "workdays": [d.isoformat() for d, k, _ in rows if k == "workday"],
        }
        await audit.record(
            conn, actor, "work_calendar.load", "work_calendar", str(year),
            before={"known": known, "days": [[d.isoformat(), k] for d, k, _ in before]},
            after=after,
        )  # fmt: skip
    return after


# chinesecalendar names its holidays in English; the case file speaks Chinese.
_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def package_years() -> tuple[str, dict[int, list[tuple[date, str, str]]]]:
    """Every year the installed chinesecalendar knows, as rows per year, and its version."""
    # The package is data, read only when seeding (the hub itself reads the table).
    import chinese_calendar  # noqa: PLC0415

    by_year: dict[int, list[tuple[date, str, str]]] = {}
    for d, name in chinese_calendar.holidays.items():
        by_year.setdefault(d.year, []).append((d, "holiday", _ZH.get(name, name)))
    for d, name in chinese_calendar.workdays.items():
        if d.weekday() >= 5:  # the package lists only make-up days here; keep the rule explicit
            by_year.setdefault(d.year, []).append((d, "workday", _ZH.get(name, name) + "调休上班"))
    version = str(getattr(chinese_calendar, "__version__", "?"))
    return version, {y: sorted(rows) for y, rows in by_year.items()}


async def seed(conn: AConn, actor: str) -> list[int]:
    """Load every year the package knows whose stored schedule differs; the years loaded."""
    version, years = package_years()
    loaded = []
    for year, rows in sorted(years.items()):
        if await repo.year_days(conn, year) == rows and year in await repo.years(conn):
            continue
        await load_year(conn, actor, year, rows, f"chinesecalendar {version}")
        loaded.append(year)
    return loaded


# ------------------------------------------------------------------- for the API --------
async def known(conn: AConn, p: Principal) -> dict[str, Any]:
    p.require(Action.READ_CATALOG)
    cal = await work_calendar(conn)
    return {
        "known_from": cal.known_from if cal.known_through else None,
        "known_through": cal.known_through or None,
        "years": await repo.years(conn),
    }


async def timers(
    conn: AConn, p: Principal, started_at: Any, rule: str | None = None
) -> list[tuple[deadlines.DeadlineRule, deadlines.TimerDue]]:
    """Each deadline rule (or one) computed from ``started_at`` on the loaded schedule."""
    p.require(Action.READ_CATALOG)
    if not 1990 <= started_at.year <= 2200:
        raise Invalid("started_at: a year between 1990 and 2200")
    if rule is not None and rule not in deadlines.RULES:
        raise NotFound(f"no deadline rule {rule!r}; known: {', '.join(deadlines.RULES)}")
    cal = await work_calendar(conn)
    chosen = [deadlines.RULES[rule]] if rule else list(deadlines.RULES.values())
    return [(r, deadlines.compute(r, started_at, cal)) for r in chosen]


async def load_year_by(conn: AConn, p: Principal, doc: Mapping[str, Any]) -> dict[str, Any]:
    p.require(Action.MANAGE_CALENDAR)
    year, rows = parse_year(doc)
    return await load_year(conn, p.username, year, rows, f"api:{p.username}")
