"""``ehub bench livemap``: the live map's fan-out, with browsers' streams on real sockets.

In a scratch database on the test server (dropped at the end): ``--devices`` devices with a
position over ``--teams`` street teams. The hub runs as ``ehub hub`` runs it (uvicorn, its
background loops, the live index refreshed every ``--interval`` s). A feeder moves
``--rate`` devices a second in ``device_latest`` (as the gateway would), and
``--browsers`` SSE clients (in a separate process, so their parsing is not the hub's) hold
``/api/v1/live/stream``: half a city dispatcher's reach, half one team's.

Each moved device carries the feeder's clock in its latitude's decimals, so a client can tell
how long a position took from the database to its socket. Printed per configuration: updates
delivered per client per second, latency p50/p95, and the hub process's CPU. Baseline: the same
feed to one browser, measured in the same run; the ratio of the hub's CPU tells what the other
49 cost. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ehub.bench_hub import start_server
from hub.security import hash_password
from schemas.db import migrate

CITY = "bench-city"
PASSWORD = "bench-password-not-secret"
BASE_LAT = 22.0
STAMP_MOD_MS = 100_000  # the feeder's clock modulo 100 s, in the latitude's 6 decimals


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--teams", type=int, default=20)
    p.add_argument("--browsers", type=int, default=50)
    p.add_argument("--rate", type=int, default=2000, help="position updates per second")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each measurement")
    p.add_argument("--interval", type=float, default=0.25, help="live index refresh, seconds")
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))
    # The client process (internal): --client URL SECONDS TOKEN...
    p.add_argument("--client", nargs="+", help=argparse.SUPPRESS)


def _say(msg: str) -> None:
    print(msg, flush=True)


def _now_stamp() -> float:
    return (time.time_ns() // 1_000_000) % STAMP_MOD_MS


# -- the browsers (a process of their own) ----------------------------------------------------
_LAT = re.compile(rb'^\["[^"]*","[^"]*","[^"]*",[^,]*,[^,]*,(2[0-9]\.[0-9]+)')


async def _browser(url: str, token: str, seconds: float, out: dict[str, Any]) -> None:
    """One browser: an SSE stream read off a raw socket (what EventSource does, no more)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=1 << 26)
    # HTTP/1.0: the body comes unchunked, so lines are lines.
    writer.write(
        f"GET /api/v1/live/stream HTTP/1.0\r\nHost: {parts.netloc}\r\n"
        f"Cookie: ehub_session={token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    rows, lat_ms, snapshot = 0, list[float](), False
    first = last = 0.0  # the first and last update frames: the rate is taken between them
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(reader.readline(), deadline - time.monotonic())
            except TimeoutError:
                break
            if not line.startswith(b"data: "):
                continue
            if not snapshot:  # the snapshot: measuring starts after it
                snapshot = True
                continue
            last = time.monotonic()
            if not first:
                first = last
            else:  # the first frame's rows came before the clock started
                rows += line.count(b"],[") + 1
            body = line[len(b'data: {"rows":[') : -3]
            m = _LAT.match(body)
            if m:  # one row per frame: the feeder's clock in its latitude
                sent = round((float(m.group(1)) - BASE_LAT) * 1e6)
                lat_ms.append((_now_stamp() - sent) % STAMP_MOD_MS)
    finally:
        writer.close()
    out["rows_per_s"] = rows / (last - first) if last > first else 0.0
    out["latency_ms"] = lat_ms


def client_main(argv: list[str]) -> int:
    url, seconds, tokens = argv[0], float(argv[1]), argv[2:]
    results: list[dict[str, Any]] = [{} for _ in tokens]

    async def run() -> None:
        await asyncio.gather(
            *(_browser(url, tok, seconds, results[i]) for i, tok in enumerate(tokens))
        )

    asyncio.run(run())
    print(json.dumps(results), flush=True)
    return 0


# -- the hub and the feed ---------------------------------------------------------------------
def seed(db: str, devices: int, teams: int) -> None:
    pw = hash_password(PASSWORD)
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name) VALUES (%s, NULL, 'city', 'c')",
            (CITY,),
        )
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name)"
            " SELECT 'bench-t' || lpad(i::text, 3, '0'), %s, 'street', 't' || i"
            " FROM generate_series(0, %s - 1) i",
            (CITY, teams),
        )
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id)"
            " SELECT 'dev-' || i, 'mobile_terminal', 'bench-t' || lpad((i %% %s)::text, 3, '0')"
            " FROM generate_series(1, %s) i",
            (teams, devices),
        )
        conn.execute(
            "INSERT INTO device_latest (device_id, device_type, last_seen, lat, lon, presence)"
            " SELECT device_id, device_type, now(), 22.05, 114.0 + random() * 0.2, 'online'"
            " FROM devices"
        )
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " VALUES ('bench-city', %s, 'dispatcher', %s), ('bench-team', %s, 'dispatcher',"
            " 'bench-t000')",
            (pw, CITY, pw),
        )


async def feed(db: str, ids: list[str], rate: int, seconds: float) -> int:
    """Move ``rate`` devices a second, in ten batches a second, each stamped with the clock."""
    moved = 0
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        tick, batch = 0.1, max(1, rate // 10)
        start = time.monotonic()
        while (now := time.monotonic()) - start < seconds:
            lat = BASE_LAT + _now_stamp() / 1e6
            await conn.execute(
                "UPDATE device_latest SET lat = %s, lon = lon + 0.00001, last_seen = now()"
                " WHERE device_id = ANY(%s)",
                (lat, random.sample(ids, batch)),
            )
            moved += batch
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - now)))
    return moved


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    hub: subprocess.Popen[bytes], url: str, db: str, tokens: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "ehub.bench_livemap", "--client", url, str(args.seconds + 2)]
    clients = subprocess.Popen([*cmd, *tokens], stdout=subprocess.PIPE)
    time.sleep(1.5)  # every stream has its snapshot
    with psycopg.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT device_id FROM devices")]
    cpu0, t0 = _cpu_s(hub.pid), time.monotonic()
    moved = asyncio.run(feed(db, ids, args.rate, args.seconds))
    cpu = (_cpu_s(hub.pid) - cpu0) / (time.monotonic() - t0)
    out, _ = clients.communicate(timeout=120)
    results = json.loads(out)
    lat = [x for r in results for x in r["latency_ms"]]
    return {
        "browsers": len(tokens),
        "fed_per_s": moved / args.seconds,
        "rows_per_s": [r["rows_per_s"] for r in results],
        "p50_ms": _pct(lat, 0.5),
        "p95_ms": _pct(lat, 0.95),
        "hub_cpu": cpu,
    }


def _line(r: dict[str, Any], teams: int) -> str:
    city = r["rows_per_s"][::2]
    team = r["rows_per_s"][1::2]
    team_part = (
        f"; team dispatchers {statistics.median(team):,.0f}/s (1/{teams} of the city)"
        if team
        else ""
    )
    return (
        f"{r['browsers']:>3} browsers, {r['fed_per_s']:,.0f} updates/s fed: city dispatchers"
        f" receive a median {statistics.median(city):,.0f} rows/s{team_part}; database to"
        f" browser p50 {r['p50_ms']:,.0f} ms, p95 {r['p95_ms']:,.0f} ms; hub CPU"
        f" {r['hub_cpu'] * 100:.0f}% of a core"
    )


def main(args: argparse.Namespace) -> int:
    if args.client:
        return client_main(args.client)
    admin = args.database_url
    if not admin:
        _say("bench: needs --database-url or EHUB_TEST_DATABASE_URL (source .services/env)")
        return 2
    import httpx  # noqa: PLC0415 - a dev dependency

    logging.getLogger("httpx").setLevel(logging.WARNING)
    db_name = f"ehub_bench_livemap_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = admin.rsplit("/", 1)[0] + f"/{db_name}"
    hub: subprocess.Popen[bytes] | None = None
    try:
        migrate(db)
        seed(db, args.devices, args.teams)
        # The hub as ``ehub hub`` runs it, its output shown (a crash should be seen).
        hub, url = start_server(
            "hub_app", db, sys.stderr, EHUB_HUB_LIVE_INTERVAL_S=str(args.interval)
        )
        with httpx.Client(base_url=url, timeout=60) as c:
            tokens = [
                c.post("/api/v1/auth/token", data={"username": u, "password": PASSWORD}).json()[
                    "access_token"
                ]
                for u in ("bench-city", "bench-team")
            ]
        time.sleep(3)  # the hub's first alert and usage cycles at start
        _say(
            f"bench livemap: {args.devices:,} devices in {args.teams} teams, {args.rate:,}"
            f" position updates/s for {args.seconds:.0f} s per run, live index refreshed every"
            f" {args.interval} s; {os.cpu_count()} cores (hub, database, feeder and browsers"
            " share them)"
        )
        one = measure(hub, url, db, tokens[:1], args)
        _say("baseline: " + _line(one, args.teams))
        many = measure(hub, url, db, [tokens[i % 2] for i in range(args.browsers)], args)
        _say("fan-out:  " + _line(many, args.teams))
        cost = many["hub_cpu"] / one["hub_cpu"] if one["hub_cpu"] else float("nan")
        city_rate = statistics.median(many["rows_per_s"][::2])
        # A device moved twice within one refresh is sent once, at its latest: a few percent.
        kept_up = city_rate >= 0.9 * many["fed_per_s"]
        _say(
            f"hub CPU with {args.browsers} browsers = {cost:.2f}x that with one; city"
            f" dispatchers received {city_rate / many['fed_per_s']:.0%} of the updates fed"
            f" (kept up: {'yes' if kept_up else 'NO'}; a device moved twice within one refresh"
            " is sent once)"
        )
        print(
            json.dumps(
                {
                    "browsers": args.browsers,
                    "rate": args.rate,
                    "city_rows_per_s": round(city_rate),
                    "p50_ms": round(many["p50_ms"]),
                    "p95_ms": round(many["p95_ms"]),
                    "hub_cpu": round(many["hub_cpu"], 3),
                    "hub_cpu_one": round(one["hub_cpu"], 3),
                    "kept_up": kept_up,
                }
            ),
            flush=True,
        )
        return 0
    finally:
        if hub is not None:
            hub.terminate()
            hub.wait(30)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":  # the browsers' process
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
