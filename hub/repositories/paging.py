"""One page of a filtered listing and the total it is a page of (every list endpoint)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]


async def page(
    conn: AConn,
    *,
    columns: str,
    source: str,
    where: list[sql.Composable],
    order: sql.Composable,
    params: dict[str, Any],
) -> tuple[int, list[dict[str, Any]]]:
    """``SELECT columns FROM source WHERE (all of where) ORDER BY order`` for one page.

    ``params`` must hold ``limit`` and ``offset`` besides the filters' own placeholders.
    """
    base = sql.SQL("FROM {} WHERE {}").format(sql.SQL(source), sql.SQL(" AND ").join(where))
    count = await conn.execute(sql.SQL("SELECT count(*) {}").format(base), params)
    total = await count.fetchone()
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        sql.SQL("SELECT {} {} ORDER BY {} LIMIT %(limit)s OFFSET %(offset)s").format(
            sql.SQL(columns), base, order
        ),
        params,
    )
    return int(total[0]) if total else 0, await cur.fetchall()
