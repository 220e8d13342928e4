"""Presence transitions: the locked update shared by message-driven changes and the sweep.

A device is ``online`` while it talks; silent longer than its kind's ``stale_after`` it is
``stale``, longer than ``offline_after`` ``offline``; its Will or a retained ``offline`` makes it
``offline`` at once. Every change is a row in ``presence_events`` with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import psycopg

from schemas.topics import DeviceType

SET_PRESENCE = """
WITH o AS (
  SELECT device_id, presence FROM device_latest
  WHERE device_id = ANY(%(ids)s) AND presence <> %(state)s
    -- a sweep re-checks silence under the lock: the device may have just talked to another
    -- gateway since it was picked
    AND (%(cutoff)s::timestamptz IS NULL OR last_seen < %(cutoff)s)
  ORDER BY device_id FOR UPDATE  -- the same lock order as ackmarks.advance
), u AS (
  UPDATE device_latest d SET presence = %(state)s, presence_since = %(t)s
  FROM o WHERE d.device_id = o.device_id RETURNING d.device_id, o.presence AS prev
)
INSERT INTO presence_events (time, device_id, state, previous, reason)
SELECT %(t)s, device_id, %(state)s, prev, %(reason)s FROM u
"""


def sweep_silent(
    cur: psycopg.Cursor[tuple[Any, ...]],
    now: datetime,
    stale_after: dict[DeviceType, float],
    offline_after: dict[DeviceType, float],
) -> dict[str, int]:
    """Mark silent devices stale, then offline, per kind; returns transitions by state."""
    counts: dict[str, int] = defaultdict(int)
    for dtype in DeviceType:
        for state, after, frm in (
            ("offline", offline_after[dtype], ("online", "stale")),
            ("stale", stale_after[dtype], ("online",)),
        ):
            cur.execute(
                "SELECT device_id FROM device_latest WHERE device_type = %s"
                " AND presence = ANY(%s) AND last_seen < %s - make_interval(secs => %s)"
                " ORDER BY 1",
                (dtype.value, list(frm), now, after),
            )
            ids = [r[0] for r in cur.fetchall()]
            if ids:
                cur.execute(
                    SET_PRESENCE,
                    {
                        "ids": ids,
                        "state": state,
                        "t": now,
                        "reason": "silence",
                        "cutoff": now - timedelta(seconds=after),
                    },
                )
                counts[state] += cur.rowcount
    return counts
