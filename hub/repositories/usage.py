"""Usage: the hourly rollup's SQL (what needs recomputing, the recomputation); the reports read
from it are in ``usage_reports``.

What each figure means is written down once, in ``schemas/sql/007_usage.sql``; the limits it
names are the constants below. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]

# Intervals between consecutive samples longer than GAP count nothing (engine, distance).
GAP = timedelta(minutes=30)
# No recording session counts more than CAP; events reach CAP either side of themselves.
CAP = timedelta(hours=12)
# Straight-line distance between fixes is trusted only over short gaps.
HAVERSINE_GAP = timedelta(minutes=5)
MAX_SPEED_KMH = 200.0
# Rows older than this by device time are flagged skewed by the gateway and never used.
MAX_LATE = timedelta(days=8)
# Buckets are UTC hours; reports bucket from a Monday midnight in Asia/Shanghai (UTC+8, no DST),
# so days and weeks are Shenzhen's.
ORIGIN = datetime.fromisoformat("2000-01-03T00:00:00+08:00")
HOUR = timedelta(hours=1)

_PARAMS = {
    "gap": GAP,
    "cap": CAP,
    "cap_s": CAP.total_seconds(),
    "hav_gap": HAVERSINE_GAP,
    "max_kmh": MAX_SPEED_KMH,
    "max_late": MAX_LATE,
    "origin": ORIGIN,
}


# ------------------------------------------------------------------------ watermark ------
async def try_lock(conn: AConn) -> bool:
    """One refresher at a time across hubs; transaction-scoped."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(4242007)")
    row = await cur.fetchone()
    return bool(row and row[0])


async def watermark(conn: AConn) -> datetime | None:
    cur = await conn.execute("SELECT watermark FROM usage_watermark FOR UPDATE")
    row = await cur.fetchone()
    return row[0] if row else None


async def earliest_telemetry(conn: AConn) -> datetime | None:
    """The oldest sample any figure reads (each min() is one index probe on a hypertable)."""
    cur = await conn.execute(
        "SELECT least((SELECT min(time) FROM positions), (SELECT min(time) FROM device_events),"
        " (SELECT min(time) FROM presence_events))"
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def set_watermark(
    conn: AConn, until: datetime, devices: int, rows: int, duration_ms: float
) -> None:
    await conn.execute(
        "UPDATE usage_watermark SET watermark = %s, refreshed_at = now(), devices = %s,"
        " rows_written = %s, duration_ms = %s",
        (until, devices, rows, duration_ms),
    )


# ------------------------------------------------------------------------ dirty set ------
# Printer pages with the printer they belong to (see 007). Shared by the dirty scan and the
# recomputation; {where} narrows the print_done events read.
_PRINTS = """
SELECT e.time, e.seq, e.received_at, e.payload->>'job_id' AS job_id,
       (e.payload->>'pages')::int AS pages,
       coalesce(e.payload->>'printer_id',
                CASE WHEN e.device_type = 'bt_printer' THEN e.device_id END,
                pp.printer_id) AS printer_id
FROM device_events e
LEFT JOIN LATERAL (
    SELECT p.printer_id FROM printer_pairings p
    WHERE p.terminal_id = e.device_id AND p.paired_at <= e.time
      AND (p.unpaired_at IS NULL OR p.unpaired_at > e.time)
    ORDER BY p.paired_at DESC LIMIT 1
) pp ON e.payload->>'printer_id' IS NULL AND e.device_type = 'mobile_terminal'
WHERE e.event = 'print_done' AND NOT e.skewed AND {where}
"""

# A device's window is "wide" when it reaches back past the settle margin (late data, a
# recording event's CAP): wide and narrow windows are recomputed apart, so that one late device
# does not widen the scan of every other (see recompute).
_CREATE_DIRTY = (
    "CREATE TEMP TABLE usage_dirty (device_id text PRIMARY KEY, device_type text NOT NULL,"
    " lo timestamptz NOT NULL, hi timestamptz NOT NULL, wide boolean NOT NULL DEFAULT false)"
    " ON COMMIT DROP"
)
WIDE = timedelta(hours=2)

# Per device, the hours that telemetry received since %(since)s can change: around each new
# sample as far as a figure reaches from it (GAP for fixes and ignition, CAP for recording
# events), and from %(since)s to %(until)s for intervals still open (a session being recorded, a
# device online) which grow without any new row.
DIRTY = f"""
INSERT INTO usage_dirty (device_id, device_type, lo, hi, wide)
SELECT dv.device_id, dv.device_type,
       ehub_bucket('1 hour', min(x.lo), %(origin)s),
       ehub_bucket('1 hour', max(x.hi), %(origin)s) + interval '1 hour',
       min(x.lo) < %(since)s::timestamptz - %(wide)s
FROM (
    SELECT device_id, min(time) - %(gap)s AS lo, max(time) + %(gap)s AS hi
    FROM positions
    WHERE received_at >= %(since)s AND time >= %(since)s::timestamptz - %(max_late)s
      AND NOT skewed AND device_type = 'vehicle_tracker'
    GROUP BY device_id
  UNION ALL
    SELECT device_id, min(time) - max(reach), max(time) + max(reach)
    FROM (
        SELECT device_id, time,
               CASE WHEN event LIKE 'record%%' THEN %(cap)s ELSE %(gap)s END AS reach
        FROM device_events
        WHERE event IN ('record_start', 'record_stop', 'ignition_on', 'ignition_off')
          AND received_at >= %(since)s AND time >= %(since)s::timestamptz - %(max_late)s
          AND NOT skewed
    ) ev
    GROUP BY device_id
  UNION ALL
    SELECT printer_id, min(time), max(time)
    FROM ({
    _PRINTS.format(
        where="e.received_at >= %(since)s AND e.time >= %(since)s::timestamptz - %(max_late)s"
    )
}) pr
    WHERE printer_id IS NOT NULL
    GROUP BY printer_id
  UNION ALL
    SELECT device_id, min(time), max(time) FROM presence_events
    WHERE time >= %(since)s GROUP BY device_id
  UNION ALL
    SELECT device_id, %(since)s, %(until)s FROM device_latest WHERE presence = 'online'
  UNION ALL
    SELECT device_id, %(since)s, %(until)s
    FROM (
        SELECT DISTINCT ON (device_id) device_id, event FROM device_events
        WHERE event IN ('record_start', 'record_stop') AND NOT skewed
          AND time >= %(since)s::timestamptz - %(cap)s AND time < %(until)s
        ORDER BY device_id, time DESC, seq DESC
    ) last_rec
    WHERE event = 'record_start'
) x
JOIN devices dv ON dv.device_id = x.device_id
GROUP BY dv.device_id, dv.device_type
"""


async def mark_dirty(conn: AConn, since: datetime, until: datetime) -> int:
    """Fill the transaction's ``usage_dirty``; returns how many devices it holds."""
    await conn.execute(_CREATE_DIRTY)
    await conn.execute(DIRTY, {**_PARAMS, "since": since, "until": until, "wide": WIDE})
    await conn.execute("ANALYZE usage_dirty")  # the planner's row estimate for the joins below
    cur = await conn.execute("SELECT count(*) FROM usage_dirty")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def mark_all(conn: AConn, device_ids: list[str], lo: datetime, hi: datetime) -> None:
    """``usage_dirty`` = these devices over [lo, hi): for computing from raw telemetry."""
    await conn.execute(_CREATE_DIRTY)
    await conn.execute(
        "INSERT INTO usage_dirty SELECT device_id, device_type, %s, %s FROM devices"
        " WHERE device_id = ANY(%s)",
        (lo, hi, device_ids),
    )
    await conn.execute("ANALYZE usage_dirty")


# --------------------------------------------------------------------- recomputation ------
# Segments: (device_id, metric, t0, t1, amount) from raw telemetry of the dirty devices of one
# batch (%(wide)s), then split over the hours of [lo, hi). %(scan_lo)s/%(scan_hi)s are constants
# covering the batch's windows (%(pos_lo)s/%(pos_hi)s its vehicles'), so that TimescaleDB
# excludes chunks at plan time.
SEGMENTS = f"""
WITH d AS MATERIALIZED (SELECT * FROM usage_dirty WHERE wide = %(wide)s),
rec_ev AS (
    SELECT e.device_id, e.time, e.event, (e.payload->>'duration_s')::float8 AS duration_s,
           lead(e.time) OVER w AS next_time, lag(e.event) OVER w AS prev_event
    FROM device_events e JOIN d ON d.device_id = e.device_id
    WHERE e.event IN ('record_start', 'record_stop') AND NOT e.skewed
      AND e.time >= d.lo - %(cap)s AND e.time < d.hi + %(cap)s
      AND e.time >= %(scan_lo)s::timestamptz - %(cap)s
      AND e.time < %(scan_hi)s::timestamptz + %(cap)s
    WINDOW w AS (PARTITION BY e.device_id ORDER BY e.time, e.seq)
),
rec AS (
    SELECT device_id, time AS t0,
           least(coalesce(next_time, greatest(%(until)s, time)), time + %(cap)s) AS t1
    FROM rec_ev WHERE event = 'record_start'
  UNION ALL
    SELECT device_id, time - make_interval(secs => least(duration_s, %(cap_s)s)), time
    FROM rec_ev
    WHERE event = 'record_stop' AND prev_event IS DISTINCT FROM 'record_start'
      AND duration_s > 0
),
fixes AS MATERIALIZED (
    SELECT p.device_id, p.time, p.seq, p.lat, p.lon, p.speed_kmh,
           (p.payload->>'odometer_km')::float8 AS odo, (p.payload->>'acc_on')::boolean AS acc
    FROM positions p JOIN d ON d.device_id = p.device_id
    WHERE p.device_type = 'vehicle_tracker' AND NOT p.skewed
      AND p.time >= d.lo - %(gap)s AND p.time < d.hi + %(gap)s
      AND p.time >= %(pos_lo)s::timestamptz - %(gap)s
      AND p.time < %(pos_hi)s::timestamptz + %(gap)s
),
legs AS (
    SELECT device_id, prev_time AS t0, time AS t1,
           date_part('epoch', time - prev_time) AS dt, odo - prev_odo AS d_odo,
           prev_acc AND greatest(speed_kmh, prev_speed) >= 2 AS moving,
           2 * 6371.0088 * asin(least(1, sqrt(
               sin(radians(lat - prev_lat) / 2) ^ 2
               + cos(radians(prev_lat)) * cos(radians(lat)) * sin(radians(lon - prev_lon) / 2) ^ 2
           ))) AS dist
    FROM (
        SELECT f.*, lag(time) OVER w AS prev_time, lag(odo) OVER w AS prev_odo,
               lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon,
               lag(acc) OVER w AS prev_acc, lag(speed_kmh) OVER w AS prev_speed
        FROM fixes f WINDOW w AS (PARTITION BY device_id ORDER BY time, seq)
    ) s
    WHERE prev_time IS NOT NULL AND time - prev_time <= %(gap)s
),
km AS (
    SELECT device_id, t0, t1,
           CASE WHEN d_odo >= 0 AND d_odo <= %(max_kmh)s * dt / 3600 + 0.5 THEN d_odo
                WHEN t1 - t0 <= %(hav_gap)s AND moving
                     AND dist <= %(max_kmh)s * dt / 3600 THEN dist
                ELSE 0 END AS km
    FROM legs
),
acc AS (
    SELECT device_id, time, 1 AS src, acc AS on_ FROM fixes WHERE acc IS NOT NULL
  UNION ALL
    SELECT e.device_id, e.time, 0, e.event = 'ignition_on'
    FROM device_events e JOIN d ON d.device_id = e.device_id
    WHERE e.event IN ('ignition_on', 'ignition_off') AND NOT e.skewed
      AND e.time >= d.lo - %(gap)s AND e.time < d.hi + %(gap)s
      AND e.time >= %(scan_lo)s::timestamptz - %(gap)s
      AND e.time < %(scan_hi)s::timestamptz + %(gap)s
),
engine AS (
    SELECT device_id, time AS t0, next_time AS t1
    FROM (
        SELECT device_id, time, on_,
               lead(time) OVER (PARTITION BY device_id ORDER BY time, src) AS next_time
        FROM acc
    ) s
    WHERE on_ AND next_time > time AND next_time - time <= %(gap)s
),
pages AS (
    SELECT DISTINCT ON (pr.printer_id, pr.job_id) pr.printer_id AS device_id, pr.time, pr.pages
    FROM ({_PRINTS.format(where="e.time >= %(scan_lo)s AND e.time < %(scan_hi)s")}) pr
    JOIN d ON d.device_id = pr.printer_id
    WHERE pr.time >= d.lo AND pr.time < d.hi AND pr.pages > 0
    ORDER BY pr.printer_id, pr.job_id, pr.time, pr.seq
),
pres_win AS MATERIALIZED (
    SELECT pe.device_id, pe.time, pe.state, pe.previous
    FROM presence_events pe JOIN d ON d.device_id = pe.device_id
    WHERE pe.time >= d.lo AND pe.time < d.hi
      AND pe.time >= %(scan_lo)s AND pe.time < %(scan_hi)s
),
pres AS (
    SELECT device_id, time, state FROM pres_win
  UNION ALL
    -- The state each device enters its window in (just before lo): the one its first change
    -- in the window left (the gateway records it as `previous`) ...
    SELECT device_id, t, previous
    FROM (
        SELECT DISTINCT ON (w.device_id) w.device_id, d.lo - interval '1 microsecond' AS t,
               w.previous
        FROM pres_win w JOIN d ON d.device_id = w.device_id
        ORDER BY w.device_id, w.time
    ) first_change
  UNION ALL
    -- ... or, unchanged through the window, the current one if it began before the window
    -- (device_latest.presence_since is written with the presence_events row) ...
    SELECT d.device_id, l.presence_since, l.presence
    FROM d JOIN device_latest l ON l.device_id = d.device_id
    WHERE l.presence_since <= d.lo
  UNION ALL
    -- ... or else the last change before the window (an index probe; rarely needed).
    SELECT d.device_id, b.time, b.state
    FROM d LEFT JOIN device_latest l ON l.device_id = d.device_id
    CROSS JOIN LATERAL (
        SELECT pe.time, pe.state FROM presence_events pe
        WHERE pe.device_id = d.device_id AND pe.time < d.lo
        ORDER BY pe.time DESC LIMIT 1
    ) b
    WHERE (l.presence_since IS NULL OR l.presence_since > d.lo)
      AND NOT EXISTS (SELECT 1 FROM pres_win w WHERE w.device_id = d.device_id)
),
online AS (
    SELECT device_id, time AS t0, coalesce(next_time, greatest(%(until)s, time)) AS t1
    FROM (
        SELECT device_id, time, state,
               lead(time) OVER (PARTITION BY device_id ORDER BY time) AS next_time
        FROM pres
    ) s
    WHERE state = 'online'
),
segs (device_id, metric, t0, t1, amount) AS (
    SELECT device_id, 'recording', t0, t1, 0::float8 FROM rec WHERE t1 > t0
  UNION ALL
    SELECT device_id, 'engine', t0, t1, 0 FROM engine
  UNION ALL
    SELECT device_id, 'km', t0, t1, km FROM km WHERE km > 0
  UNION ALL
    SELECT device_id, 'pages', time, time, pages FROM pages
  UNION ALL
    SELECT device_id, 'online', t0, t1, 0 FROM online WHERE t1 > t0
),
alloc AS (
    -- durations: the overlap with the hour; distance: pro rata by time; pages: where they fall
    SELECT s.device_id, b.bucket, s.metric,
           CASE WHEN s.metric = 'pages' OR s.t1 = s.t0 THEN s.amount
                ELSE date_part('epoch', least(s.t1, b.bucket + interval '1 hour')
                                        - greatest(s.t0, b.bucket))
                     * CASE WHEN s.metric = 'km'
                            THEN s.amount / date_part('epoch', s.t1 - s.t0) ELSE 1 END
           END AS v
    FROM segs s JOIN d ON d.device_id = s.device_id
    CROSS JOIN LATERAL generate_series(
        ehub_bucket('1 hour', greatest(s.t0, d.lo), %(origin)s),
        least(CASE WHEN s.t1 > s.t0 THEN s.t1 - interval '1 microsecond' ELSE s.t0 END,
              d.hi - interval '1 microsecond'),
        interval '1 hour'
    ) AS b (bucket)
),
computed AS (
    SELECT a.device_id, d.device_type, a.bucket,
           coalesce(sum(v) FILTER (WHERE metric = 'recording'), 0) AS recording_s,
           coalesce(sum(v) FILTER (WHERE metric = 'km'), 0) AS km,
           coalesce(sum(v) FILTER (WHERE metric = 'engine'), 0) AS engine_s,
           coalesce(sum(v) FILTER (WHERE metric = 'pages'), 0)::int AS pages,
           coalesce(sum(v) FILTER (WHERE metric = 'online'), 0) AS online_s
    FROM alloc a JOIN d ON d.device_id = a.device_id
    GROUP BY a.device_id, d.device_type, a.bucket
)
"""

UPSERT = (
    SEGMENTS
    + """
INSERT INTO usage_hourly AS u
    (bucket, device_id, device_type, recording_s, km, engine_s, pages, online_s, refreshed_at)
SELECT bucket, device_id, device_type, recording_s, km, engine_s, pages, online_s, now()
FROM computed
WHERE recording_s > 0 OR km > 0 OR engine_s > 0 OR pages > 0 OR online_s > 0
ON CONFLICT (device_id, bucket) DO UPDATE SET
    device_type = EXCLUDED.device_type, recording_s = EXCLUDED.recording_s, km = EXCLUDED.km,
    engine_s = EXCLUDED.engine_s, pages = EXCLUDED.pages, online_s = EXCLUDED.online_s,
    refreshed_at = EXCLUDED.refreshed_at
"""
)

# Hours of the dirty windows this refresh did not write now hold nothing (a late stop shortened
# a session, a duplicate was removed): the upsert stamped every row it wrote with now().
CLEAR_STALE = """
DELETE FROM usage_hourly u USING usage_dirty d
WHERE u.device_id = d.device_id AND u.bucket >= d.lo AND u.bucket < d.hi
  AND u.refreshed_at < now()
"""


_BOUNDS = """
SELECT min(lo), max(hi), min(lo) FILTER (WHERE device_type = 'vehicle_tracker'),
       max(hi) FILTER (WHERE device_type = 'vehicle_tracker')
FROM usage_dirty WHERE wide = %s
"""


async def _batch(conn: AConn, wide: bool, until: datetime) -> dict[str, Any] | None:
    """The parameters of SEGMENTS for one batch, or None if it is empty."""
    cur = await conn.execute(_BOUNDS, (wide,))
    bounds = await cur.fetchone()
    if bounds is None or bounds[0] is None:
        return None
    lo, hi, pos_lo, pos_hi = bounds
    return {
        **_PARAMS,
        "wide": wide,
        "until": until,
        "scan_lo": lo,
        "scan_hi": hi,
        # No vehicle in the batch: an empty range, which excludes every chunk.
        "pos_lo": pos_lo or lo,
        "pos_hi": pos_hi or lo,
    }


async def recompute(conn: AConn, until: datetime) -> int:
    """Rewrite the dirty hours of every dirty device; returns the rows written."""
    written = 0
    for wide in (False, True):
        params = await _batch(conn, wide, until)
        if params is not None:
            cur = await conn.execute(UPSERT, params)
            written += cur.rowcount
    await conn.execute(CLEAR_STALE)
    return written


# The five figures summed over hourly rows, rounded as every report shows them.
SUMS = """
    round((coalesce(sum(recording_s), 0) / 3600)::numeric, 4)::float8 AS recording_h,
    round(coalesce(sum(km), 0)::numeric, 3)::float8 AS km,
    round((coalesce(sum(engine_s), 0) / 3600)::numeric, 4)::float8 AS engine_h,
    coalesce(sum(pages), 0)::int AS pages,
    round((coalesce(sum(online_s), 0) / 3600)::numeric, 4)::float8 AS online_h
"""


async def raw_totals(conn: AConn, until: datetime) -> list[dict[str, Any]]:
    """Totals by device kind straight from raw telemetry (no rollup), for the devices and the
    window given to ``mark_all``: a baseline and a check."""
    params = await _batch(conn, False, until)
    if params is None:
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        SEGMENTS + "SELECT device_type," + SUMS + " FROM computed GROUP BY 1 ORDER BY 1", params
    )
    return await cur.fetchall()
