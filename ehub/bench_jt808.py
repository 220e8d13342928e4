"""``ehub bench jt808``: JT/T 808 location frames decoded and published per second, one core.

Runs ``ehub jt808-bridge`` as a subprocess against the real services, connects ``--terminals``
simulated terminals over TCP (authenticated with pre-registered codes), and has each send
location frames one after another, each waiting for the 0x8001 reply (which the bridge sends
only after Mosquitto has taken the v1 message). It prints the frames/s seen by the terminals,
the bridge's own CPU seconds (so frames per CPU-second = the one-core rate) and, as the
baseline measured in the same run, the pure split + decode + translate rate in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Header,
    LocationReport,
    Message,
    MsgId,
)
from device_drivers.vehicle_tracker.jt808.session import to_v1_location
from ehub.pgcluster import free_port, wait_for_port
from ehub.services import Services
from schemas.db import migrate


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--terminals", type=int, default=200)
    p.add_argument("--frames", type=int, default=100, help="frames per terminal")


def _phone(i: int) -> str:
    return f"0139{i:08d}"


def _frame(i: int, serial: int) -> bytes:
    rep = LocationReport(
        0,
        3,
        22.5 + i * 1e-5,
        114.05 + serial * 1e-6,
        12,
        36.0,
        90,
        datetime.now(UTC).replace(microsecond=0),
        {0x01: (1000 + serial).to_bytes(4, "big"), 0x31: b"\x0a"},
    )
    return encode(Message(Header(MsgId.LOCATION_REPORT, _phone(i), serial), rep))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _terminal(port: int, i: int, frames: int, go: asyncio.Event, ready: list[int]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    splitter = FrameSplitter()

    async def call(data: bytes) -> Message:
        writer.write(data)
        await writer.drain()
        while True:
            got = splitter.feed(await asyncio.wait_for(reader.read(4096), 30))
            if got:
                return decode(got[0])

    auth = encode(Message(Header(MsgId.AUTHENTICATE, _phone(i), 0), Authenticate(f"c{i}")))
    if (await call(auth)).body.result != 0:  # type: ignore[union-attr]
        raise RuntimeError(f"terminal {i} not authenticated")
    ready.append(i)
    await go.wait()  # time only the location frames, not connecting and authenticating
    ok = 0
    for serial in range(1, frames + 1):
        reply = await call(_frame(i, serial))
        ok += reply.body.result == 0  # type: ignore[union-attr]
    writer.close()
    return ok


def baseline(n: int) -> float:
    data = b"".join(_frame(i % 100, i & 0xFFFF) for i in range(n))
    t0 = time.perf_counter()
    for f in FrameSplitter().feed(data):
        body = decode(f).body
        assert isinstance(body, LocationReport)
        json.dumps(to_v1_location(body))
    return n / (time.perf_counter() - t0)


def main(args: argparse.Namespace) -> int:
    svc = Services.load()
    if svc is None:
        print("bench: start the services first: ./scripts/services up")
        return 2
    db_name = f"ehub_jt808_{os.getpid()}"
    with psycopg.connect(svc.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = svc.database_url.rsplit("/", 1)[0] + f"/{db_name}"
    bridge = None
    try:
        migrate(db)
        with psycopg.connect(db) as conn, conn.cursor() as cur:
            ids = [(f"jtrk-{i:05d}", _phone(i), f"c{i}") for i in range(args.terminals)]
            cur.executemany(
                "INSERT INTO devices (device_id, device_type) VALUES (%s, 'vehicle_tracker')",
                [(d,) for d, _, _ in ids],
            )
            cur.executemany(
                "INSERT INTO jt808_terminals (device_id, phone, auth_code) VALUES (%s, %s, %s)", ids
            )
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"{db_name}-bridge.log"
        bridge = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ehub",
                "jt808-bridge",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--broker",
                svc.mqtt_url,
                "--database",
                db,
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port("127.0.0.1", port, 30)
        base = baseline(20_000)
        marks: dict[str, float] = {}

        async def run_all() -> list[int]:
            go, ready = asyncio.Event(), list[int]()
            tasks = [
                asyncio.create_task(_terminal(port, i, args.frames, go, ready))
                for i in range(args.terminals)
            ]
            while len(ready) < args.terminals:
                await asyncio.sleep(0.05)
            marks["cpu0"], marks["t0"] = cpu_seconds(bridge.pid), time.perf_counter()
            go.set()
            return await asyncio.gather(*tasks)

        ok = sum(asyncio.run(run_all()))
        wall = time.perf_counter() - marks["t0"]
        cpu = cpu_seconds(bridge.pid) - marks["cpu0"]
        total = args.terminals * args.frames
        print(
            f"bench jt808: {args.terminals} terminals x {args.frames} location frames "
            f"over TCP, each answered after Mosquitto took the v1 message"
        )
        print(f"baseline (split + decode + translate + JSON, in-process): {base:,.0f} frames/s")
        print(
            f"bridge: {ok:,}/{total:,} answered OK in {wall:.2f} s = {ok / wall:,.0f} frames/s;"
            f" bridge CPU {cpu:.2f} s = {ok / cpu:,.0f} frames per CPU-second (one core)"
        )
        print(
            json.dumps(
                {
                    "frames_per_s": round(ok / wall),
                    "frames_per_cpu_s": round(ok / cpu),
                    "baseline_frames_per_s": round(base),
                    "ok": ok,
                    "total": total,
                }
            )
        )
        return 0 if ok == total else 1
    finally:
        if bridge is not None:
            bridge.terminate()
            bridge.wait(30)
        with psycopg.connect(svc.database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
