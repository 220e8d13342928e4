"""Usage use cases: keeping the hourly rollup current, and reports per device, officer and team.

``refresh_rollup`` is the rollup's only writer (the usage loop calls it every interval). Reports
read only the rollup, check the caller's role and reach first, and never say whether something
outside the caller's reach exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hub.domain.errors import Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import devices as devices_repo
from hub.repositories import org
from hub.repositories import usage as repo
from hub.repositories import usage_reports as reports
from hub.services import inventory

AConn = psycopg.AsyncConnection[Any]

# Telemetry is stamped received_at before the gateway's transaction commits; rows received this
# long before the last refresh are looked at again, so a batch that committed late is not
# missed. (A row that commits later still than this, e.g. held through a long database outage,
# is counted by ``refresh_rollup(..., since=...)`` from before the outage.)
SETTLE = timedelta(minutes=10)
MAX_SPAN = timedelta(days=366)
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)  # no device clock reads earlier (schemas.messages)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class RefreshResult:
    skipped: bool  # another hub holds the refresh lock
    since: datetime | None
    until: datetime
    devices: int = 0
    rows: int = 0
    duration_ms: float = 0.0


async def refresh_rollup(
    conn: AConn, until: datetime, *, since: datetime | None = None
) -> RefreshResult:
    """Bring ``usage_hourly`` up to ``until``, recomputing only the hours that telemetry
    received since the watermark (less ``SETTLE``) can change. Idempotent: running it twice
    writes the same rows. ``since`` overrides the watermark (a rebuild from that time); the
    first refresh of a database reads everything."""
    started = time.perf_counter()
    async with conn.transaction():
        if not await repo.try_lock(conn):
            return RefreshResult(True, since, until)
        mark = await repo.watermark(conn)
        if since is None and mark is not None:
            since = mark - SETTLE
        elif since is None:
            first = await repo.earliest_telemetry(conn)
            # Before the first sample by more than any figure reaches back: everything is new.
            since = first - repo.CAP - repo.HOUR if first is not None else until
        devices = await repo.mark_dirty(conn, since, until)
        rows = await repo.recompute(conn, until) if devices else 0
        elapsed = (time.perf_counter() - started) * 1000
        # Never backwards: a hub whose clock lags must not make the next refresh re-read hours.
        await repo.set_watermark(conn, max(until, mark or until), devices, rows, elapsed)
    return RefreshResult(False, since, until, devices, rows, elapsed)


# -------------------------------------------------------------------------- reports ------
def check_period(start: datetime, end: datetime) -> None:
    """Reports read hourly buckets: a period is whole hours, forwards, at most a year."""
    if not (EARLIEST <= start < LATEST and EARLIEST < end <= LATEST):
        raise Invalid("'from' and 'to' must lie between 2015 and 2100")
    if end <= start:
        raise Invalid("'to' must be after 'from'")
    if end - start > MAX_SPAN:
        raise Invalid("a usage period is at most 366 days")
    for name, t in (("from", start), ("to", end)):
        if t.astimezone(UTC).replace(minute=0, second=0, microsecond=0) != t:
            raise Invalid(f"'{name}' must be a whole hour (usage is kept per hour)")


def _local(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Periods are Shenzhen days and hours: say so in their offset, whatever the session's."""
    for r in rows:
        r["period"] = r["period"].astimezone(SHANGHAI)
    return rows


def _totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("recording_h", "km", "engine_h", "pages", "online_h")
    return {k: round(sum(r[k] for r in rows), 4) for k in keys}


async def device_usage(
    conn: AConn, p: Principal, device_id: str, start: datetime, end: datetime, *, bucket: str
) -> dict[str, Any]:
    check_period(start, end)
    row = await inventory.device(conn, p, device_id)  # role and reach
    periods = _local(
        await reports.device_series(conn, device_id, start, end, reports.WIDTHS[bucket])
    )
    return {
        "device_id": device_id,
        "device_type": row["device_type"],
        "from_": start,
        "to": end,
        "bucket": bucket,
        "periods": periods,
        "totals": _totals(periods),
    }


async def officer_usage(
    conn: AConn, p: Principal, staff_id: str, start: datetime, end: datetime, *, bucket: str
) -> dict[str, Any]:
    """The usage of every device in the caller's reach while ``staff_id`` held it."""
    p.require(Action.READ_INVENTORY)
    check_period(start, end)
    person = p.visible(await devices_repo.staff_row(conn, staff_id), f"staff {staff_id}")
    rows = _local(
        await reports.officer_usage(
            conn, staff_id, p.scope, start, end, width=reports.WIDTHS[bucket]
        )
    )
    return {
        "staff_id": staff_id,
        "name": person["name"],
        "from_": start,
        "to": end,
        "bucket": bucket,
        "periods": rows,
        "totals": _totals(rows),
    }


async def team_usage(
    conn: AConn, p: Principal, org_unit_id: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Totals by device kind, and per device, for a unit and the units below it."""
    p.require(Action.READ_INVENTORY)
    check_period(start, end)
    p.reach(org_unit_id, f"org unit {org_unit_id}")
    unit = await org.unit(conn, org_unit_id)
    if unit is None:
        raise NotFound(f"org unit {org_unit_id} not found")
    units = sorted(await org.subtree(conn, org_unit_id) & p.scope)
    rows = await reports.unit_usage(conn, units, start, end)
    kinds = [r for r in rows if r["device_id"] is None]
    return {
        "org_unit_id": org_unit_id,
        "name": unit["name"],
        "from_": start,
        "to": end,
        "kinds": kinds,
        "devices": [r for r in rows if r["device_id"] is not None],
        "totals": _totals(kinds),
    }
