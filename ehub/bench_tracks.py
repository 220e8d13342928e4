"""``ehub bench tracks``: one vehicle's 24 h patrol track, through the service and the HTTP API.

In a scratch database on the test server (dropped at the end): ``--vehicles`` vehicles with
24 h of fixes every ``--fleet-interval`` s (the rest of the table), plus two measured vehicles:
one with a fix every 10 s (8,640 fixes, a tracker's usual rate) and one at 1 Hz (86,400).
For each, ``--runs`` times (median and p95; target <= 20 ms):

- the service, ``hub.services.tracks.track`` (access checks, custody-free vehicle lookup, the
  fixes, distance / stops / moving time in Python);
- GET /api/v1/tracks/vehicles/<id> in process (FastAPI TestClient: auth, JSON of every point);
- baselines, same run: the bare ``SELECT`` of the fixes (the floor for any Python track), and
  the computation alone on fixes already in memory.

The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain import tracks as rules
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.repositories import tracks as repo
from hub.security import hash_password
from hub.services import tracks as service
from hub.settings import HubSettings
from schemas.db import migrate

CITY, TEAM = "bench-city", "bench-team"
PASSWORD = "bench-password-not-secret"
MEASURED = {"bench-veh-10s": 10, "bench-veh-1hz": 1}
TARGET_MS = 20.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vehicles", type=int, default=2000, help="other vehicles in the table")
    # 60 s keeps the seeding under a minute (2.9 million rows); 30 s doubles the table and the
    # seeding time, and changes the figures by less than their noise (an index lookup).
    p.add_argument("--fleet-interval", type=int, default=60, help="their seconds between fixes")
    p.add_argument("--runs", type=int, default=20, help="calls per figure (a third at 1 Hz)")
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))


def _say(msg: str) -> None:
    print(msg, flush=True)


def seed(db: str, args: argparse.Namespace, start: datetime) -> int:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name) VALUES (%s, NULL, 'city', 'b'),"
            " (%s, %s, 'street', 't')",
            (CITY, TEAM, CITY),
        )
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id, status)"
            " SELECT 'bench-trk-' || i, 'vehicle_tracker', %s, 'assigned'"
            " FROM generate_series(1, %s) i",
            (TEAM, args.vehicles + len(MEASURED)),
        )
        conn.execute(
            "INSERT INTO vehicles (vehicle_id, plate, org_unit_id, tracker_id)"
            " SELECT vid, 'B' || n, %s, 'bench-trk-' || n"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS v(vid, n)",
            (TEAM, list(MEASURED)),
        )
        # A patrol pattern: up and down a street (no teleport back), weaving on a slow sine.
        body = (
            " SELECT %(start)s::timestamptz + i * %(dt)s * interval '1 second', d, i + 1, now(),"
            " 'vehicle_tracker',"
            " 22.5 + abs(mod((i * %(step)s)::numeric, 7200) - 3600)::float8 * 0.00007,"
            " 114.0 + 0.002 * sin(i * %(dt)s / 600.0), 25, 0, '{}'::jsonb"
            " FROM generate_series(0, %(n)s::int - 1) i"
        )
        insert = (
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " speed_kmh, heading_deg, payload)"
        )
        conn.execute(
            insert
            + body.replace(", d,", ", 'bench-trk-' || v,")
            + ", generate_series(%(first)s::int, %(last)s::int) v",
            {
                "start": start,
                "dt": args.fleet_interval,
                "n": 86400 // args.fleet_interval,
                "step": args.fleet_interval / 10,
                "first": len(MEASURED) + 1,
                "last": len(MEASURED) + args.vehicles,
            },
        )
        for n, (_vid, dt) in enumerate(MEASURED.items(), 1):
            conn.execute(
                insert + body.replace(", d,", ", %(dev)s,"),
                {
                    "start": start,
                    "dt": dt,
                    "n": 86400 // dt,
                    "step": dt / 10,
                    "dev": f"bench-trk-{n}",
                },
            )
        pw = hash_password(PASSWORD)
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " VALUES ('bench-dispatcher', %s, 'dispatcher', %s)",
            (pw, TEAM),
        )
        conn.execute("ANALYZE")
        row = conn.execute("SELECT count(*) FROM positions").fetchone()
        return int(row[0]) if row else 0


def _fig(ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 2 else ms[0]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    await fn()  # warm: plans, caches
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def service_figures(
    db: str, start: datetime, end: datetime, runs: int
) -> dict[str, dict[str, list[float]]]:
    p = Principal("bench", Role.DISPATCHER, TEAM, frozenset({TEAM}))
    out: dict[str, dict[str, list[float]]] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for n, (vid, dt) in enumerate(MEASURED.items(), 1):
            dev = f"bench-trk-{n}"
            k = runs if dt >= 10 else max(5, runs // 3)  # a 1 Hz day takes ~0.5 s a call

            async def svc(vid: str = vid) -> None:
                await service.track(conn, p, service.Subject.VEHICLE, vid, start=start, end=end)

            async def bare(dev: str = dev) -> None:
                await repo.fixes(conn, dev, start, end)

            rows = await repo.fixes(conn, dev, start, end)
            fixes: list[rules.Fix] = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
            flags = [r[5] for r in rows]

            async def compute(fixes: list[rules.Fix] = fixes, flags: list[bool] = flags) -> None:
                rules.compute(fixes, flags)

            out[vid] = {
                "service": await _timed(svc, k),
                "select": await _timed(bare, k),
                "compute": await _timed(compute, k),
            }
    return out


def http_figures(db: str, start: datetime, end: datetime, runs: int) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient  # noqa: PLC0415 - httpx is a dev dependency

    from hub.api.app import create_app  # noqa: PLC0415 - only this part needs the app

    settings = HubSettings(
        database_url=db, hub_jwt_secret=secrets.token_hex(32), hub_id_hash_key=secrets.token_hex(32)
    )
    out: dict[str, list[float]] = {}
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/api/v1/auth/token", data={"username": "bench-dispatcher", "password": PASSWORD}
        )
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        params = {"from": start.isoformat(), "to": end.isoformat()}
        for vid, dt in MEASURED.items():
            url = f"/api/v1/tracks/vehicles/{vid}"
            client.get(url, params=params, headers=h).raise_for_status()
            ms = []
            for _ in range(runs if dt >= 10 else max(5, runs // 3)):
                t = time.perf_counter()
                client.get(url, params=params, headers=h).raise_for_status()
                ms.append((time.perf_counter() - t) * 1000)
            out[vid] = ms
    return out


def main(args: argparse.Namespace) -> int:
    admin = args.database_url
    if not admin:
        _say("bench: needs --database-url or EHUB_TEST_DATABASE_URL (source .services/env)")
        return 2
    db_name = f"ehub_bench_tracks_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = admin.rsplit("/", 1)[0] + f"/{db_name}"
    try:
        features = migrate(db)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=1)
        t = time.perf_counter()
        total = seed(db, args, start)
        _say(
            f"bench tracks: {total:,} fixes in positions ({args.vehicles:,} vehicles x 24 h at"
            f" {args.fleet_interval} s, plus the two measured); seeded in"
            f" {time.perf_counter() - t:.1f} s; timescaledb {features.timescaledb_version};"
            f" {os.cpu_count()} cores; {args.runs} runs per figure"
        )
        svc = asyncio.run(service_figures(db, start, end, args.runs))
        http = http_figures(db, start, end, args.runs)
        summary: dict[str, Any] = {}
        for vid, dt in MEASURED.items():
            f = svc[vid]
            med = statistics.median(f["service"])
            verdict = "PASS" if med <= TARGET_MS else "MISS"
            _say(
                f"{vid}: {86400 // dt:,} fixes (every {dt} s) — service {_fig(f['service'])}"
                f"  -> {verdict} (target <= {TARGET_MS:.0f} ms)"
            )
            _say(f"    HTTP GET /api/v1/tracks/vehicles/{vid} (in process): {_fig(http[vid])}")
            _say(f"    baseline, the bare SELECT of the fixes: {_fig(f['select'])}")
            _say(f"    baseline, the computation alone (fixes in memory): {_fig(f['compute'])}")
            summary[vid] = {
                "fixes": 86400 // dt,
                "service_ms": round(med, 1),
                "http_ms": round(statistics.median(http[vid]), 1),
                "select_ms": round(statistics.median(f["select"]), 1),
                "compute_ms": round(statistics.median(f["compute"]), 1),
                "pass": med <= TARGET_MS,
            }
        print(json.dumps(summary), flush=True)
        return 0
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
