"""The latest state of many devices at once, serialised to JSON by PostgreSQL in one query.

For a city-wide map (50k devices) the cost is the serialisation, not the read: building the
document in SQL with ``string_agg`` and handing it over as one bytea is several times cheaper
than fetching 50k rows into Python and encoding them, and cheaper than ``json_agg`` (measured;
see ``ehub bench hub``). Values are concatenated without escaping, which is sound only because
every text column used is constrained to a closed alphabet by the schema (device_id by its
CHECK pattern, device_type, presence and status by CHECK lists) and every number was validated
finite by the gateway (``allow_inf_nan=False``).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

AConn = psycopg.AsyncConnection[Any]

COLUMNS = (
    "device_id",
    "device_type",
    "presence",
    "last_seen",
    "battery_pct",
    "lat",
    "lon",
    "status",
)
ROW_SQL = (  # one device as a JSON array, in the order of COLUMNS
    "'[\"' || d.device_id || '\",\"' || d.device_type"
    " || '\",\"' || coalesce(l.presence, 'unknown') || '\",'"
    " || coalesce(floor(date_part('epoch', l.last_seen))::bigint::text, 'null')"
    " || ',' || coalesce(l.battery_pct::text, 'null')"
    " || ',' || coalesce(l.lat::text, 'null') || ',' || coalesce(l.lon::text, 'null')"
    " || ',\"' || d.status || '\"]'"
)
_HEAD = '{"columns":[' + ",".join(f'"{c}"' for c in COLUMNS) + '],"count":'
# (braces in the SQL would clash with sql.SQL's {where}: the document's ends are parameters)
SNAPSHOT = (
    "SELECT convert_to(%(head)s || count(*) || ',\"rows\":['"
    f" || coalesce(string_agg({ROW_SQL}, ','), '') || %(tail)s, 'UTF8')"
    " FROM devices d LEFT JOIN device_latest l ON l.device_id = d.device_id WHERE {where}"
)


async def snapshot(
    conn: AConn,
    scope: frozenset[str],
    *,
    device_type: str | None = None,
    presence: str | None = None,
) -> bytes:
    """``{"columns": [...], "count": n, "rows": [[...], ...]}`` for every device in ``scope``
    (in no particular order); ``last_seen`` is Unix time in seconds."""
    where: list[sql.Composable] = [sql.SQL("d.org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "head": _HEAD, "tail": "]}"}
    if device_type is not None:
        where.append(sql.SQL("d.device_type = %(device_type)s"))
        params["device_type"] = device_type
    if presence is not None:
        where.append(sql.SQL("coalesce(l.presence, 'unknown') = %(presence)s"))
        params["presence"] = presence
    query = sql.SQL(SNAPSHOT).format(where=sql.SQL(" AND ").join(where))
    cur = conn.cursor(binary=True)
    await cur.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return bytes(row[0])
