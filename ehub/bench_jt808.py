"""``ehub bench jt808``: JT/T 808 location frames decoded and published per second, one core.

Runs ``ehub jt808-bridge`` as a subprocess against the real services, connects ``--terminals``
simulated terminals over TCP (authenticated with pre-registered codes), and has each send
its fixes one frame after another, each waiting for the 0x8001 reply (which the bridge sends
only after Mosquitto has taken the v1 messages). ``--batch N`` packs N fixes into each 0x0704
batch frame instead of one 0x0200 per fix.

Each of ``--repeat`` rounds starts a fresh bridge (so no round pays for another's resends)
and prints the fixes/s seen by the terminals, the bridge's own CPU seconds (fixes per
CPU-second = the one-core rate), and the baseline measured right after it in this process:
pure split + decode + translate + JSON per CPU-second, with the ratio of the two. CPU
seconds rather than wall time, because other work on the machine slows the wall clock;
then the median of each figure over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationReport,
    Message,
    MsgId,
)
from device_drivers.vehicle_tracker.jt808.session import to_v1_location
from ehub.pgcluster import free_port, wait_for_port
from ehub.services import Services, clear_retained
from schemas.db import migrate

ROUND_TIMEOUT_S = 300.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--terminals", type=int, default=200)
    p.add_argument("--frames", type=int, default=100, help="location fixes per terminal")
    p.add_argument(
        "--batch", type=int, default=1, help="fixes per frame: 1 = 0x0200, more = 0x0704 batches"
    )
    p.add_argument("--repeat", type=int, default=3, help="rounds, each with a fresh bridge")


def _phone(i: int) -> str:
    return f"0139{i:08d}"


def _report(i: int, n: int) -> LocationReport:
    return LocationReport(
        0,
        3,
        22.5 + i * 1e-5,
        114.05 + n * 1e-6,
        12,
        36.0,
        90,
        datetime.now(UTC).replace(microsecond=0),
        {0x01: (1000 + n).to_bytes(4, "big"), 0x31: b"\x0a"},
    )


def _frames(i: int, fixes: int, batch: int) -> list[tuple[bytes, int]]:
    """Terminal ``i``'s location frames and the fixes in each, encoded before the clock starts."""
    out = []
    for serial, first in enumerate(range(0, fixes, batch), start=1):
        reports = tuple(_report(i, n) for n in range(first, min(first + batch, fixes)))
        header = Header(
            MsgId.LOCATION_BATCH if batch > 1 else MsgId.LOCATION_REPORT, _phone(i), serial
        )
        body = LocationBatch(0, reports) if batch > 1 else reports[0]
        out.append((encode(Message(header, body)), len(reports)))
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Terminal(asyncio.Protocol):
    """Sends its frames one at a time, each when the one before it has been answered."""

    def __init__(self, i: int, frames: list[tuple[bytes, int]], done: Callable[[], None]) -> None:
        self.i, self.frames, self.done = i, frames, done
        self.transport: asyncio.Transport
        self.splitter = FrameSplitter()
        self.answers: asyncio.Queue[GeneralResponse | None] = asyncio.Queue()
        self.sending = False
        self.sent = self.ok = self.fixes = 0  # frames sent, frames answered OK, their fixes
        self.wrong: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.answers.put_nowait(None)
        if self.sending:
            self.sending = False
            self.done()

    def data_received(self, data: bytes) -> None:
        for frame in self.splitter.feed(data):
            body = decode(frame).body
            assert isinstance(body, GeneralResponse)
            if not self.sending:
                self.answers.put_nowait(body)
                continue
            if body.result == 0 and body.reply_serial == self.sent:
                self.ok += 1
                self.fixes += self.frames[self.sent - 1][1]
            elif len(self.wrong) < 3:
                self.wrong.append(f"frame {self.sent} of terminal {self.i} answered {body}")
            self.next()

    def next(self) -> None:
        if self.sent == len(self.frames):
            self.sending = False
            self.transport.close()
            self.done()
            return
        self.transport.write(self.frames[self.sent][0])
        self.sent += 1

    async def authenticate(self) -> None:
        msg = Message(Header(MsgId.AUTHENTICATE, _phone(self.i), 0), Authenticate(f"c{self.i}"))
        self.transport.write(encode(msg))
        answer = await asyncio.wait_for(self.answers.get(), 30)
        if answer is None or answer.result != 0:
            raise RuntimeError(f"terminal {self.i} not authenticated ({answer})")


async def _round(port: int, terminals: int, fixes: int, batch: int, pid: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    running = terminals

    def done() -> None:
        nonlocal running
        running -= 1
        if not running:
            finished.set()

    conns = []
    for i in range(terminals):
        _, term = await loop.create_connection(
            functools.partial(_Terminal, i, _frames(i, fixes, batch), done), "127.0.0.1", port
        )
        conns.append(term)
    await asyncio.gather(*(t.authenticate() for t in conns))
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    for term in conns:  # time only the location frames, not connecting and authenticating
        term.sending = True
        term.next()
    await asyncio.wait_for(finished.wait(), ROUND_TIMEOUT_S)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    for line in [w for t in conns for w in t.wrong][:5]:
        print(f"  wrong answer: {line}")
    return {
        "wall": wall,
        "cpu": cpu,
        "ok": sum(t.ok for t in conns),
        "frames": sum(len(t.frames) for t in conns),
        "fixes": sum(t.fixes for t in conns),
    }


def baseline(n: int) -> float:
    """Location frames per CPU-second through split + decode + translate + JSON, in-process."""
    data = b"".join(_frames(i % 100, 1, 1)[0][0] for i in range(n))
    t0 = time.process_time()
    for f in FrameSplitter().feed(data):
        body = decode(f).body
        assert isinstance(body, LocationReport)
        json.dumps(to_v1_location(body))
    return n / (time.process_time() - t0)


def _start_bridge(svc: Services, db: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "ehub", "jt808-bridge", "--port", str(port)]
    bridge_url = svc.mqtt_url_for("ehub-jt808-bridge")  # its own account, ACLs on
    cmd += ["--host", "127.0.0.1", "--broker", bridge_url, "--database", db]
    bridge = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_for_port("127.0.0.1", port, 30)
    return bridge, port


def main(args: argparse.Namespace) -> int:
    svc = Services.load()
    if svc is None:
        print("bench: start the services first: ./scripts/services up")
        return 2
    db_name = f"ehub_jt808_{os.getpid()}"
    with psycopg.connect(svc.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = svc.database_url.rsplit("/", 1)[0] + f"/{db_name}"
    log = Path(tempfile.gettempdir()) / f"{db_name}-bridge.log"
    unit = "frames" if args.batch == 1 else f"fixes (0x0704 batches of {args.batch})"
    print(
        f"bench jt808: {args.terminals} terminals x {args.frames} location {unit} over TCP,"
        f" each frame answered after Mosquitto took its v1 messages; {args.repeat} rounds"
    )
    rounds: list[dict[str, float]] = []
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
        for n in range(1, args.repeat + 1):
            bridge, port = _start_bridge(svc, db, log)
            try:
                r = asyncio.run(_round(port, args.terminals, args.frames, args.batch, bridge.pid))
            finally:
                bridge.terminate()
                bridge.wait(30)
            r |= {
                "fixes_per_s": r["fixes"] / r["wall"],
                "fixes_per_cpu_s": r["fixes"] / r["cpu"],
                "baseline_per_cpu_s": baseline(20_000),
            }
            r["ratio"] = r["fixes_per_cpu_s"] / r["baseline_per_cpu_s"]
            rounds.append(r)
            print(
                f"round {n}: {r['ok']:,.0f}/{r['frames']:,.0f} frames answered OK in"
                f" {r['wall']:.2f} s = {r['fixes_per_s']:,.0f} fixes/s; bridge CPU {r['cpu']:.2f} s"
                f" = {r['fixes_per_cpu_s']:,.0f} fixes per CPU-second; baseline (split + decode +"
                f" translate + JSON) {r['baseline_per_cpu_s']:,.0f}/CPU-s; ratio {r['ratio']:.2f}"
            )
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        print(
            f"median of {len(rounds)}: {med['fixes_per_cpu_s']:,.0f} fixes per bridge CPU-second"
            f" (one core), {med['fixes_per_s']:,.0f} fixes/s wall; baseline"
            f" {med['baseline_per_cpu_s']:,.0f}/CPU-s; ratio {med['ratio']:.2f}"
        )
        all_ok = all(r["ok"] == r["frames"] for r in rounds)
        summary = {
            "fixes_per_s": round(med["fixes_per_s"]),
            "fixes_per_cpu_s": round(med["fixes_per_cpu_s"]),
            "baseline_per_cpu_s": round(med["baseline_per_cpu_s"]),
            "ratio": round(med["ratio"], 3),
            "batch": args.batch,
            "rounds": [round(r["fixes_per_cpu_s"]) for r in rounds],
            "all_ok": all_ok,
        }
        print(json.dumps(summary))
        return 0 if all_ok else 1
    finally:
        # The bridge announced each tracker online (retained): leave no state behind.
        clear_retained(
            svc.mqtt_url,
            [f"ehub/v1/vehicle_tracker/jtrk-{i:05d}/state" for i in range(args.terminals)],
        )
        with psycopg.connect(svc.database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
