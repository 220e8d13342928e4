"""``ehub bench hub``: the hub's read paths at city scale, with their baselines, in one run.

In a scratch database on the test server (dropped at the end): ``--devices`` devices over
``--teams`` street teams, a device_latest row for each, and ``--days`` of telemetry for 50
devices of each kind in the first team (camera recording sessions, vehicle fixes every
``--fix-interval`` s with odometer and ignition, terminal presence and print jobs). Then:

0. the usage rollup: the first (full) refresh, an incremental one after 10 more minutes of
   fixes, and one with nothing new; the rollup's totals checked against the generator's;
1. GET /api/v1/devices-latest for every device (city admin), through uvicorn on a real port
   and httpx: median of ``--runs`` (target <= 50 ms). It is served from the live index
   (hub/live), which its loop keeps current every 0.5 s; baselines: that catch-up and the
   document's assembly alone, the catch-up after 2,000 devices changed, and the designs
   it replaced (the document built by PostgreSQL with string_agg or json_agg; rows encoded in
   Python), and the scoped join alone;
2. GET /api/v1/usage/teams/<team> over the 30 days: median; baseline: the same totals computed
   from raw telemetry without the rollup (and whether they agree);
3. requests/s of /api/v1/devices-latest against a bare Starlette endpoint returning the same
   bytes from its own live index, kept current the same way (no auth, no validation), each under
   ``--concurrency`` clients for ``--seconds`` (target
   >= 0.6x), for the city (every device) and for one team.

The servers run as separate processes (``uvicorn --factory``), so the client's Python does
not share their interpreter. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ehub.pgcluster import free_port, wait_for_port
from hub.api.app import create_app
from hub.live.index import LiveIndex
from hub.live.loop import run_live_loop
from hub.repositories import org
from hub.repositories import usage as usage_repo
from hub.security import hash_password
from hub.services.usage import refresh_rollup
from hub.settings import HubSettings
from schemas.db import migrate

if TYPE_CHECKING:
    import httpx  # a dev dependency: imported when the benchmark runs, not when ehub starts

CITY, TEAM = "bench-city", "bench-t000"
KINDS = ("body_camera", "vehicle_tracker", "mobile_terminal", "bt_printer")
PER_KIND = 50  # devices of each kind with telemetry, in TEAM
PASSWORD = "bench-password-not-secret"
AConn = psycopg.AsyncConnection[Any]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=50_000)
    p.add_argument("--teams", type=int, default=100)
    p.add_argument("--days", type=int, default=30, help="days of telemetry for one team")
    p.add_argument("--fix-interval", type=int, default=60, help="seconds between vehicle fixes")
    p.add_argument("--runs", type=int, default=15, help="requests per latency figure (median)")
    p.add_argument("--concurrency", type=int, default=4, help="clients in the throughput runs")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each throughput run")
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))


def _say(msg: str) -> None:
    print(msg, flush=True)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- the two servers (``uvicorn --factory`` entry points; settings from EHUB_*) ----------------
def hub_app() -> Any:
    # As ``ehub hub`` runs it: with its background loops (the live index's among them).
    return create_app(HubSettings(), background=True)


def bare_app() -> Starlette:
    """One Starlette route, no auth, no validation: the same index and bytes as the hub's."""
    settings = HubSettings()
    index = LiveIndex()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[AConn] = AsyncConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=settings.hub_db_pool_max,
            open=False,
            kwargs={"autocommit": True},
        )
        await pool.open(wait=True)
        stop = asyncio.Event()
        loop = asyncio.create_task(run_live_loop(pool, index, settings.hub_live_interval_s, stop))
        async with pool.connection() as conn:
            app.state.scopes = {
                "city": await org.subtree(conn, CITY),
                "team": await org.subtree(conn, TEAM),
            }
        app.state.pool = pool
        try:
            yield
        finally:
            stop.set()
            await loop
            await pool.close()

    async def latest(request: Request) -> Response:
        scope = request.app.state.scopes[request.path_params["which"]]
        async with request.app.state.pool.connection() as conn:
            await index.current(conn, 2 * settings.hub_live_interval_s)
        return Response(index.document(scope), media_type="application/json")

    return Starlette(routes=[Route("/latest/{which}", latest)], lifespan=lifespan)


def start_server(
    factory: str, db: str, log: Any, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """``factory`` of this module under uvicorn on a free port, with fresh secrets and
    ``settings`` as ``EHUB_*`` variables; its output to ``log``."""
    port = free_port()
    env = {
        **os.environ,
        "EHUB_DATABASE_URL": db,
        "EHUB_HUB_JWT_SECRET": secrets.token_hex(32),
        "EHUB_HUB_ID_HASH_KEY": secrets.token_hex(32),
        # The hub's other loops run one cycle at start (waited out below), not during the runs.
        "EHUB_HUB_ALERT_INTERVAL_S": "3600",
        "EHUB_HUB_USAGE_INTERVAL_S": "3600",
        **settings,
    }
    cmd = [sys.executable, "-m", "uvicorn", f"ehub.bench_hub:{factory}", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen([*cmd, "--no-access-log"], env=env, stdout=log, stderr=log)
    wait_for_port("127.0.0.1", port, 60)
    return proc, f"http://127.0.0.1:{port}"


# -- data ------------------------------------------------------------------------------------
def seed(db: str, args: argparse.Namespace, start: datetime) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name) VALUES (%s, NULL, 'city', 'bench')",
            (CITY,),
        )
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name)"
            " SELECT 'bench-t' || lpad(t::text, 3, '0'), %s, 'street', 'team ' || t"
            " FROM generate_series(0, %s - 1) t",
            (CITY, args.teams),
        )
        # Device i: team i % teams, kind by (i / teams) % 4: every team gets every kind.
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id, status)"
            " SELECT 'bench-' || lpad(i::text, 6, '0'), (%s::text[])[1 + (i / %s) %% 4],"
            " 'bench-t' || lpad((i %% %s)::text, 3, '0'),"
            " CASE WHEN i %% 3 = 0 THEN 'assigned' ELSE 'in_stock' END"
            " FROM generate_series(0, %s - 1) i",
            (list(KINDS), args.teams, args.teams, args.devices),
        )
        conn.execute(
            "INSERT INTO device_latest (device_id, device_type, last_seen, battery_pct, lat, lon,"
            " presence, presence_since)"
            " SELECT device_id, device_type, now() - (i % 3600) * interval '1 second',"
            " (i % 101)::real, 22.45 + (i % 997) * 0.0002, 113.9 + (i % 991) * 0.0004,"
            " (ARRAY['online', 'stale', 'offline'])[1 + i % 3],"
            " now() - (i % 72) * interval '1 hour' - interval '5 minutes'"
            " FROM (SELECT device_id, device_type, row_number() OVER () AS i FROM devices) d"
        )
        pw = hash_password(PASSWORD)
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id) VALUES"
            " ('bench-admin', %s, 'admin', %s), ('bench-team', %s, 'equipment_manager', %s)",
            (pw, CITY, pw, TEAM),
        )
        conn.execute(
            "CREATE TABLE bench_tdev AS SELECT device_id, device_type, idx FROM ("
            " SELECT device_id, device_type, row_number() OVER (PARTITION BY device_type"
            " ORDER BY device_id) - 1 AS idx FROM devices WHERE org_unit_id = %s) x"
            " WHERE idx < %s",
            (TEAM, PER_KIND),
        )
        # Every device's presence as the gateway leaves it: device_latest and the transition
        # that led there (but for the team, whose figures are the generator's, below).
        conn.execute(
            "UPDATE device_latest SET presence = 'unknown', presence_since = NULL"
            " WHERE device_id IN (SELECT device_id FROM devices WHERE org_unit_id = %s)",
            (TEAM,),
        )
        conn.execute(
            "INSERT INTO presence_events (time, device_id, state, previous, reason)"
            " SELECT presence_since, device_id, presence, 'unknown', 'message' FROM device_latest"
            " WHERE presence_since IS NOT NULL"
        )
        p = {"start": start, "days": args.days, "fix": args.fix_interval}
        # Cameras: four 40-minute sessions a day.
        conn.execute(
            "INSERT INTO device_events (time, device_id, seq, received_at, device_type, event,"
            " payload) SELECT t, device_id, seq, t, 'body_camera', ev, payload FROM ("
            " SELECT c.device_id, %(start)s::timestamptz + d * interval '1 day'"
            " + interval '1 hour' + k * interval '2 hours' + (c.idx %% 10) * interval '1 minute'"
            " + s * interval '40 minutes' AS t, d * 8 + k * 2 + s + 1 AS seq,"
            " CASE s WHEN 0 THEN 'record_start' ELSE 'record_stop' END AS ev,"
            ' CASE s WHEN 0 THEN \'{"event": "record_start"}\'::jsonb'
            ' ELSE \'{"event": "record_stop", "duration_s": 2400}\'::jsonb END AS payload'
            " FROM bench_tdev c, generate_series(0, %(days)s - 1) d, generate_series(0, 3) k,"
            " generate_series(0, 1) s WHERE c.device_type = 'body_camera') x",
            p,
        )
        # Vehicles: two 4-hour trips a day (01:00 and 07:00 UTC), a fix every --fix-interval s
        # at 24 km/h by the odometer, engine on from 30 s before the first fix to the last fix
        # (which says off).
        n_fix = 4 * 3600 // args.fix_interval
        p |= {"n": n_fix, "km": 24 * args.fix_interval / 3600}
        conn.execute(
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " speed_kmh, heading_deg, payload)"
            " SELECT t, device_id, seq, t, 'vehicle_tracker', lat, lon, 24, 0,"
            " jsonb_build_object('lat', lat, 'lon', lon, 'speed_kmh', 24, 'heading_deg', 0,"
            " 'acc_on', i < %(n)s, 'odometer_km', round(odo::numeric, 3)) FROM ("
            " SELECT v.device_id, %(start)s::timestamptz + d * interval '1 day'"
            " + interval '1 hour' + trip * interval '6 hours'"
            " + i * %(fix)s * interval '1 second' AS t,"
            " (d * 2 + trip) * (%(n)s + 1) + i + 1 AS seq,"
            " 22.5 + v.idx * 0.001 + i * 0.0001 AS lat, 114.0 + trip * 0.01 AS lon,"
            " 1000 + ((d * 2 + trip) * %(n)s + i) * %(km)s AS odo, i"
            " FROM bench_tdev v, generate_series(0, %(days)s - 1) d, generate_series(0, 1) trip,"
            " generate_series(0, %(n)s) i WHERE v.device_type = 'vehicle_tracker') x",
            p,
        )
        conn.execute(
            "INSERT INTO device_events (time, device_id, seq, received_at, device_type, event,"
            " payload) SELECT t, device_id, seq, t, 'vehicle_tracker', ev,"
            " jsonb_build_object('event', ev) FROM ("
            " SELECT v.device_id, %(start)s::timestamptz + d * interval '1 day'"
            " + interval '1 hour' + trip * interval '6 hours'"
            " + CASE s WHEN 0 THEN interval '-30 seconds'"
            " ELSE %(n)s * %(fix)s * interval '1 second' + interval '30 seconds' END AS t,"
            " 10000000 + (d * 2 + trip) * 2 + s AS seq,"
            " CASE s WHEN 0 THEN 'ignition_on' ELSE 'ignition_off' END AS ev"
            " FROM bench_tdev v, generate_series(0, %(days)s - 1) d, generate_series(0, 1) trip,"
            " generate_series(0, 1) s WHERE v.device_type = 'vehicle_tracker') x",
            p,
        )
        # Terminals: online 10 hours a day; ten print jobs a day on "their" printer.
        conn.execute(
            "INSERT INTO presence_events (time, device_id, state, reason)"
            " SELECT %(start)s::timestamptz + d * interval '1 day' + s * interval '10 hours',"
            " device_id, CASE s WHEN 0 THEN 'online' ELSE 'offline' END, 'message'"
            " FROM bench_tdev, generate_series(0, %(days)s - 1) d, generate_series(0, 1) s"
            " WHERE device_type = 'mobile_terminal'",
            p,
        )
        conn.execute(
            "INSERT INTO device_events (time, device_id, seq, received_at, device_type, event,"
            " payload) SELECT t, device_id, seq, t, 'mobile_terminal', 'print_done', payload"
            " FROM (SELECT te.device_id, %(start)s::timestamptz + d * interval '1 day'"
            " + interval '1 hour' + j * interval '30 minutes' AS t, 1000000 + d * 10 + j AS seq,"
            " jsonb_build_object('event', 'print_done', 'job_id', 'j' || d || '-' || j,"
            " 'pages', 1 + j %% 3, 'printer_id', pr.device_id) AS payload"
            " FROM bench_tdev te JOIN bench_tdev pr ON pr.device_type = 'bt_printer'"
            " AND pr.idx = te.idx, generate_series(0, %(days)s - 1) d, generate_series(0, 9) j"
            " WHERE te.device_type = 'mobile_terminal') x",
            p,
        )
        conn.execute("ANALYZE")


def expected_totals(args: argparse.Namespace) -> dict[str, float]:
    """What the generator put in, by the definitions of 007_usage.sql."""
    n_fix = 4 * 3600 // args.fix_interval
    trips = 2 * args.days * PER_KIND
    return {
        "recording_h": PER_KIND * args.days * 4 * 40 / 60,
        "km": trips * n_fix * 24 * args.fix_interval / 3600,
        "engine_h": trips * (n_fix * args.fix_interval + 30) / 3600,
        "pages": PER_KIND * args.days * sum(1 + j % 3 for j in range(10)),
        "online_h": PER_KIND * args.days * 10.0,
    }


def _sum(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("recording_h", "km", "engine_h", "pages", "online_h")
    return {k: round(sum(float(r[k]) for r in rows), 1) for k in keys}


# -- measurements ----------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return statistics.median(values)


def _ms(values: list[float]) -> str:
    return f"{_median(values):.1f} ms (median of {len(values)}; min {min(values):.1f})"


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    await fn()  # warm: plans, caches, connections
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def refresh_figures(db: str, until: datetime, fix: int) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        full = await refresh_rollup(conn, until)
        # Ten more minutes of fixes for the team's vehicles, received now, in the hour after the
        # reported period (so the team's totals stay the generator's).
        t0 = until.replace(minute=0, second=0, microsecond=0)
        await conn.execute(
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " speed_kmh, heading_deg, payload)"
            " SELECT t, device_id, 50000000 + i, now(), 'vehicle_tracker', 22.5, 114.0, 24, 0,"
            " jsonb_build_object('acc_on', true, 'odometer_km', 900000 + i * 0.4)"
            " FROM (SELECT device_id, i, %s::timestamptz + i * %s * interval '1 second' AS t"
            " FROM bench_tdev, generate_series(0, 600 / %s) i"
            " WHERE device_type = 'vehicle_tracker') x",
            (t0, fix, fix),
        )
        incremental = await refresh_rollup(conn, datetime.now(UTC))
        idle = await refresh_rollup(conn, datetime.now(UTC))
        return {"full": full, "incremental": incremental, "idle": idle}


# The design the live index replaced: PostgreSQL builds the document (8 columns then).
SQL_ROW = (
    "'[\"' || d.device_id || '\",\"' || d.device_type"
    " || '\",\"' || coalesce(l.presence, 'unknown') || '\",'"
    " || coalesce(floor(date_part('epoch', l.last_seen))::bigint::text, 'null')"
    " || ',' || coalesce(l.battery_pct::text, 'null')"
    " || ',' || coalesce(l.lat::text, 'null') || ',' || coalesce(l.lon::text, 'null')"
    " || ',\"' || d.status || '\"]'"
)


async def churn(conn: AConn, n: int) -> None:
    """``n`` devices report: their latest state moves, as a gateway batch would move it."""
    await conn.execute(
        "UPDATE device_latest SET last_seen = now(), lat = lat + 0.0001"
        " WHERE device_id IN (SELECT device_id FROM device_latest ORDER BY random() LIMIT %s)",
        (n,),
    )


async def db_baselines(db: str, scope: frozenset[str], runs: int) -> dict[str, list[float]]:
    where = (
        "FROM devices d LEFT JOIN device_latest l USING (device_id) WHERE d.org_unit_id = ANY(%s)"
    )
    cols = (
        "d.device_id, d.device_type, l.presence, l.last_seen, l.battery_pct, l.lat, l.lon, d.status"
    )
    units = list(scope)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        index = LiveIndex()
        await index.refresh(conn)

        async def fresh() -> None:
            await index.fresh(conn)

        async def assemble() -> None:
            index.document(scope)

        churned: list[float] = []
        for _ in range(max(3, runs // 3)):
            await churn(conn, 2000)
            t = time.perf_counter()
            await index.fresh(conn)
            churned.append((time.perf_counter() - t) * 1000)

        async def string_agg() -> None:
            cur = conn.cursor(binary=True)
            await cur.execute(
                f"SELECT convert_to('[' || string_agg({SQL_ROW}, ',') || ']', 'UTF8') {where}",
                (units,),
            )
            await cur.fetchone()

        async def json_agg() -> None:
            cur = conn.cursor(binary=True)
            await cur.execute(
                f"SELECT convert_to(json_agg(json_build_object('device_id', d.device_id,"
                f" 'device_type', d.device_type, 'presence', l.presence, 'last_seen',"
                f" l.last_seen, 'battery_pct', l.battery_pct, 'lat', l.lat, 'lon', l.lon,"
                f" 'status', d.status))::text, 'UTF8') {where}",
                (units,),
            )
            await cur.fetchone()

        async def python() -> None:
            cur = conn.cursor(binary=True)
            await cur.execute(f"SELECT {cols} {where}", (units,))
            rows = await cur.fetchall()
            json.dumps(
                [[*r[:3], r[3] and int(r[3].timestamp()), *r[4:]] for r in rows],
                separators=(",", ":"),
            ).encode()

        async def join_only() -> None:
            await (await conn.execute(f"SELECT count(*) {where}", (units,))).fetchone()

        # What if each device's array were kept ready (a what-if, not what the hub does):
        await conn.execute(
            f"CREATE TEMP TABLE bench_frag AS SELECT d.device_id, {SQL_ROW} AS frag {where}",
            (units,),
        )

        async def stored() -> None:
            cur = conn.cursor(binary=True)
            await cur.execute(
                "SELECT convert_to('[' || string_agg(f.frag, ',') || ']', 'UTF8') FROM devices d"
                " JOIN bench_frag f USING (device_id) WHERE d.org_unit_id = ANY(%s)",
                (units,),
            )
            await cur.fetchone()

        return {
            "fresh": await _timed(fresh, runs),
            "assemble": await _timed(assemble, runs),
            "churn": churned,
            "string_agg": await _timed(string_agg, max(3, runs // 3)),
            "json_agg": await _timed(json_agg, max(3, runs // 3)),
            "python": await _timed(python, max(3, runs // 3)),
            "join": await _timed(join_only, runs),
            "stored": await _timed(stored, runs),
        }


async def raw_baseline(
    db: str, start: datetime, end: datetime, until: datetime
) -> tuple[list[float], list[dict[str, Any]]]:
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        cur = await conn.execute("SELECT device_id FROM devices WHERE org_unit_id = %s", (TEAM,))
        ids = [r[0] for r in await cur.fetchall()]
        rows: list[dict[str, Any]] = []

        async def once() -> None:
            nonlocal rows
            async with conn.transaction():
                await usage_repo.mark_all(conn, ids, start, end)
                rows = await usage_repo.raw_totals(conn, until)

        return await _timed(once, 3), rows


def http_latency(client: httpx.Client, url: str, headers: dict[str, str], runs: int) -> list[float]:
    client.get(url, headers=headers).raise_for_status()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def throughput(url: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    import httpx  # noqa: PLC0415 - a dev dependency (see the top)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as c:
        (await c.get(url, headers=headers)).raise_for_status()
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                r = await c.get(url, headers=headers)
                r.raise_for_status()
                done += 1

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - t)


def rate_ratio(
    hub: tuple[str, dict[str, str]], bare: str, args: argparse.Namespace
) -> tuple[float, float]:
    """Alternating runs (bare, hub, bare, hub), so drifting machine load hits both alike."""
    hub_r, bare_r = [], []
    for _ in range(2):
        bare_r.append(asyncio.run(throughput(bare, {}, args.concurrency, args.seconds)))
        hub_r.append(asyncio.run(throughput(hub[0], hub[1], args.concurrency, args.seconds)))
    return _median(hub_r), _median(bare_r)


def token(client: httpx.Client, base: str, user: str) -> dict[str, str]:
    r = client.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def main(args: argparse.Namespace) -> int:
    admin = args.database_url
    if not admin:
        _say("bench: needs --database-url or EHUB_TEST_DATABASE_URL (source .services/env)")
        return 2
    import httpx  # noqa: PLC0415 - a dev dependency (see the top)

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    db_name = f"ehub_bench_hub_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = admin.rsplit("/", 1)[0] + f"/{db_name}"
    procs: list[subprocess.Popen[bytes]] = []
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed in finally
    try:
        features = migrate(db)
        now = datetime.now(UTC)
        end = now.replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=args.days)
        t = time.perf_counter()
        seed(db, args, start)
        with psycopg.connect(db) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM positions),"
                " (SELECT count(*) FROM device_events), (SELECT count(*) FROM presence_events)"
            ).fetchone()
        assert counts is not None
        _say(
            f"bench hub: {counts[0]:,} devices in {args.teams} teams; {TEAM}: {args.days} days"
            f" of telemetry for {PER_KIND} devices of each kind ({counts[1]:,} fixes,"
            f" {counts[2]:,} events, {counts[3]:,} presence changes); seeded in"
            f" {time.perf_counter() - t:.1f} s; {os.cpu_count()} cores; timescaledb"
            f" {features.timescaledb_version} ({features.license}); continuous aggregates:"
            f" {'yes' if features.continuous_aggregates else 'no'} (not used: see 007_usage.sql)"
        )

        # 0. the rollup
        r = asyncio.run(refresh_figures(db, now, args.fix_interval))
        full, inc, idle = r["full"], r["incremental"], r["idle"]
        _say(
            f"rollup: first refresh {full.duration_ms:,.0f} ms ({full.devices:,} devices,"
            f" {full.rows:,} hourly rows); incremental after 10 min of fixes from"
            f" {PER_KIND} vehicles {inc.duration_ms:,.0f} ms ({inc.devices:,} devices, mostly"
            f" the fleet's online ones); nothing new {idle.duration_ms:,.0f} ms"
        )

        hub, hub_url = start_server("hub_app", db, log)
        procs.append(hub)
        bare, bare_url = start_server("bare_app", db, log)
        procs.append(bare)
        time.sleep(10)  # the hub's first alert evaluation and usage refresh at start
        with httpx.Client(timeout=120) as client:
            city_h = token(client, hub_url, "bench-admin")
            team_h = token(client, hub_url, "bench-team")
            latest_url = f"{hub_url}/api/v1/devices-latest"
            body = client.get(latest_url, headers=city_h).content
            bare_body = client.get(f"{bare_url}/latest/city").content
            doc = json.loads(body)
            same = json.loads(bare_body)["count"] == doc["count"] and len(body) == len(bare_body)

            # 1. latest state of every device
            lat_hub = http_latency(client, latest_url, city_h, args.runs)
            lat_bare = http_latency(client, f"{bare_url}/latest/city", {}, args.runs)
            with psycopg.connect(db) as conn:
                scope = frozenset(r[0] for r in conn.execute("SELECT id FROM org_units"))
            base = asyncio.run(db_baselines(db, scope, args.runs))
            _say(
                f"(a) GET /api/v1/devices-latest, {doc['count']:,} devices,"
                f" {len(body) / 1e6:.1f} MB: {_ms(lat_hub)}"
                f"  -> {_verdict(_median(lat_hub) <= 50)} (target <= 50 ms)"
            )
            alike = "same size" if same else "DIFFERENT"
            _say(f"    bare Starlette, same query and bytes ({alike}): {_ms(lat_bare)}")
            _say(
                f"    live index, no HTTP: catching up (nothing new) {_ms(base['fresh'])};"
                f" assembling the document {_ms(base['assemble'])};"
                f" catching up after 2,000 devices changed {_ms(base['churn'])}"
            )
            _say(
                "    the designs it replaced (8 columns, not 14): PostgreSQL builds the document"
                f" with string_agg {_ms(base['string_agg'])}; json_agg of objects"
                f" {_ms(base['json_agg'])}; rows to Python + json.dumps {_ms(base['python'])};"
                f" each device's array kept ready in a table {_ms(base['stored'])}"
            )
            _say(
                f"    floor of any SQL design: the scoped join alone, count(*) {_ms(base['join'])}"
            )

            # 2. a team's usage over the period
            params = {"from": start.isoformat(), "to": end.isoformat()}
            team_url = f"{hub_url}/api/v1/usage/teams/{TEAM}"
            lat_team = http_latency(
                client, f"{team_url}?{httpx.QueryParams(params)}", team_h, args.runs
            )
            summary = client.get(team_url, params=params, headers=team_h).json()
            raw_ms, raw_rows = asyncio.run(raw_baseline(db, start, end, now))
            got, raw, want = _sum(summary["kinds"]), _sum(raw_rows), expected_totals(args)
            agree = all(abs(got[k] - raw[k]) <= 0.05 and abs(got[k] - want[k]) <= 0.5 for k in want)
            _say(
                f"(b) GET /api/v1/usage/teams/{TEAM} over {args.days} days"
                f" ({len(summary['devices'])} devices): {_ms(lat_team)} (no target)"
            )
            _say(f"    baseline, the same totals from raw telemetry (no rollup): {_ms(raw_ms)}")
            _say(
                f"    totals {json.dumps(got)}; raw and generator agree: {'yes' if agree else 'NO'}"
            )
            if not agree:
                _say(f"    raw {json.dumps(raw)}; generator {json.dumps(want)}")

        # 3. the JSON endpoint against a bare one, under load
        hub_rps, bare_rps = rate_ratio((latest_url, city_h), f"{bare_url}/latest/city", args)
        ratio = hub_rps / bare_rps
        _say(
            f"(c) requests/s, {args.concurrency} clients x {args.seconds:.0f} s, every device:"
            f" hub {hub_rps:.2f}, bare Starlette {bare_rps:.2f} = {ratio:.2f}x"
            f"  -> {_verdict(ratio >= 0.6)} (target >= 0.6x)"
        )
        team_hub, team_bare = rate_ratio((latest_url, team_h), f"{bare_url}/latest/team", args)
        team_ratio = team_hub / team_bare
        _say(
            f"    one team ({args.devices // args.teams} devices): hub {team_hub:.0f},"
            f" bare {team_bare:.0f} = {team_ratio:.2f}x  -> {_verdict(team_ratio >= 0.6)}"
        )
        print(
            json.dumps(
                {
                    "devices": doc["count"],
                    "latest_ms": round(_median(lat_hub), 1),
                    "latest_bare_ms": round(_median(lat_bare), 1),
                    "latest_fresh_ms": round(_median(base["fresh"]), 1),
                    "latest_churn_ms": round(_median(base["churn"]), 1),
                    "latest_string_agg_ms": round(_median(base["string_agg"]), 1),
                    "latest_pass": _median(lat_hub) <= 50,
                    "team_usage_ms": round(_median(lat_team), 1),
                    "team_usage_raw_ms": round(_median(raw_ms), 1),
                    "rollup_full_ms": round(full.duration_ms),
                    "rollup_incremental_ms": round(inc.duration_ms),
                    "hub_rps": round(hub_rps, 2),
                    "bare_rps": round(bare_rps, 2),
                    "ratio": round(ratio, 3),
                    "ratio_pass": ratio >= 0.6,
                    "team_ratio": round(team_ratio, 3),
                    "totals_agree": agree,
                }
            ),
            flush=True,
        )
        return 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        log.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
