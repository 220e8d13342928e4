"""``ehub bench poison``: one batch holding rows the database refuses, isolated two ways.

The gateway writes a batch in one transaction; when the database refuses it (a row it cannot
store), the batch must be split to find the bad rows. This measures, on the real database,
the gateway's fallback (``Gateway._write_isolating``: bisect, one bad row costs about
2·log2(n) transactions) against the fallback it replaced (one transaction per message), on
``--messages`` fixes of which ``--poison`` (a fraction) carry a NUL escape that jsonb refuses.
The contract refuses NUL since then, so the poison is injected after validation, as a row
the database refuses for any other reason would arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from ehub.services import Services
from gateway.classify import Classified, DataRow, Limits, classify
from gateway.service import Gateway, _merge, _rejected
from gateway.settings import GatewaySettings
from gateway.writer import BatchResult
from schemas.db import migrate

DEVICES = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", type=int, default=2000, help="messages in the batch")
    p.add_argument("--poison", type=float, default=0.01, help="fraction the database refuses")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--mqtt-url", default=os.environ.get("EHUB_TEST_MQTT_URL"))
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))


def build_items(n: int, poison: float, seq0: int) -> list[Classified]:
    """``n`` valid fixes from ``DEVICES`` trackers, every ``1/poison``-th made unstorable."""
    every = round(1 / poison) if poison > 0 else n + 1
    now = datetime.now(UTC)
    items: list[Classified] = []
    for i in range(n):
        device, seq = f"poison-{i % DEVICES:03d}", seq0 + i // DEVICES + 1
        fix = {
            "v": 1,
            "seq": seq,
            "ts": (now - timedelta(seconds=n - i)).isoformat(),
            "lat": 22.5 + i * 1e-5,
            "lon": 114.0,
            "speed_kmh": 30.0,
            "heading_deg": 90.0,
            "acc_on": True,
        }
        item = classify(
            f"ehub/v1/vehicle_tracker/{device}/location", json.dumps(fix).encode(), now, Limits()
        )
        assert isinstance(item, DataRow)
        if i % every == every // 2:
            item.values = (*item.values[:-1], item.values[-1][:-1] + ', "x": "\\u0000"}')
        items.append(item)
    return items


def one_by_one(gw: Gateway, items: list[Classified], _exc: psycopg.Error) -> BatchResult:
    """The fallback before bisection: one transaction per message."""
    total = BatchResult()
    for item in items:
        try:
            res = gw.writer.write([item], gw.clock())
        except psycopg.Error as exc:
            res = gw.writer.write([_rejected(item, exc)], gw.clock())
        _merge(total, res)
    return total


def run(
    gw: Gateway,
    items: list[Classified],
    fallback: Callable[[Gateway, list[Classified], psycopg.Error], BatchResult],
) -> tuple[float, int, BatchResult]:
    """Write ``items`` as the gateway does (whole batch, then ``fallback`` once refused);
    returns (seconds, transactions, result)."""
    calls = 0
    write = gw.writer.write

    def counted(batch: list[Classified], now: datetime) -> BatchResult:
        nonlocal calls
        calls += 1
        return write(batch, now)

    gw.writer.write = counted  # type: ignore[method-assign,assignment]
    try:
        t0 = time.perf_counter()
        try:
            res = gw.writer.write(items, gw.clock())
        except psycopg.Error as exc:
            res = fallback(gw, items, exc)
        return time.perf_counter() - t0, calls, res
    finally:
        gw.writer.write = write  # type: ignore[method-assign]


def gateway_for(db: str, mqtt_url: str) -> Gateway:
    gw = Gateway(GatewaySettings(mqtt_url=mqtt_url, database_url=db))
    gw.writer.connect()
    return gw


def register(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type) VALUES (%s, 'vehicle_tracker')",
            [(f"poison-{d:03d}",) for d in range(DEVICES)],
        )


def main(args: argparse.Namespace) -> int:
    svc = Services.load()
    mqtt_url = args.mqtt_url or (svc.mqtt_url if svc else None)
    admin = args.database_url or (svc.database_url if svc else None)
    if not mqtt_url or not admin:
        print("bench: start the services first: ./scripts/services up", file=sys.stderr)
        return 2
    name = f"ehub_bench_poison_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(db)
        register(db)
        gw = gateway_for(db, mqtt_url)
        n, per_run = args.messages, args.messages // DEVICES + 1
        print(f"bench poison: {n:,} messages, {args.poison:.1%} refused by the database")
        out: dict[str, dict[str, float]] = {}
        for k, (label, fallback) in enumerate(
            (("one by one (before)", one_by_one), ("bisect (now)", Gateway._write_isolating))
        ):
            runs = []
            for r in range(args.repeat):
                seq0 = (k * args.repeat + r) * per_run
                runs.append(run(gw, build_items(n, args.poison, seq0), fallback))
            secs = statistics.median(t for t, _, _ in runs)
            tx = statistics.median(c for _, c, _ in runs)
            res = runs[0][2]
            stored = sum(res.stored.values())
            print(
                f"{label:<20} {secs:7.2f} s median ({', '.join(f'{t:.2f}' for t, _, _ in runs)})"
                f"  {tx:.0f} transactions  stored {stored}  dead letters"
                f" {dict(res.dead_letters)}"
            )
            out[label.split()[0]] = {"seconds": round(secs, 3), "transactions": tx}
        print(json.dumps(out))
        gw.writer.close()
        return 0
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
