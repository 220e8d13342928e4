"""``ehub bench ingest``: how fast the gateway stores telemetry, against the ceilings around it.

Measured in one run, on the real services from ``scripts/services up`` (same payloads
throughout: vehicle-tracker location fixes from ``--devices`` trackers):

1. broker ceiling: ``mosquitto_pub -l`` -> Mosquitto -> ``mosquitto_sub`` (QoS 1);
2. client ceiling: a receive-only paho client draining N messages queued in its session;
3. database ceiling: binary COPY of the same rows into the same ``positions`` hypertable,
   10k rows per transaction;
4. gateway end to end: N messages queued for the gateway's session, then ``ehub gateway``
   (a subprocess) drains them: first receive -> last commit; its peak RSS from /proc;
5. latency: 50 trackers publishing (``mosquitto_pub``) at half that rate for
   ``--latency-seconds``; latency is publish -> the device ``ack`` that covers the message
   (so: committed, then acked), p50/p99.

The last line is JSON: ``{"e2e_msgs_per_s", "ceiling_msgs_per_s", "ratio", "p99_ms", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ehub.services import Services, drop_session
from gateway.classify import COLUMNS, PG_TYPES, Limits, Table, classify
from gateway.settings import MqttEndpoint
from schemas.db import migrate
from schemas.topics import upstream_filter

GW_CLIENT = "bench-gateway"


@dataclass(frozen=True)
class Bench:
    """Where the benchmark runs: broker, database, gateway batch size, gateway log."""

    ep: MqttEndpoint
    mqtt_url: str
    db: str
    batch: int
    log: Path
    gateways: int = 1  # >1: that many processes splitting one MQTT 5 shared subscription
    # The gateway's own broker account (ACLs on); the publishers use ``mqtt_url``'s.
    gateway_url: str = ""

    @property
    def share_group(self) -> str | None:
        return "ehub-bench" if self.gateways > 1 else None

    def client_ids(self) -> list[str]:
        """The MQTT client ids ``ehub gateway --processes N`` gives its children."""
        if self.gateways == 1:
            return [GW_CLIENT]
        return [f"{GW_CLIENT}-{i}" for i in range(1, self.gateways + 1)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", type=int, default=200_000, help="N per measurement")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=5000, help="gateway batch size")
    p.add_argument("--latency-seconds", type=float, default=15.0)
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; medians are printed")
    p.add_argument(
        "--gateways",
        type=int,
        default=1,
        help="gateway processes sharing the load (MQTT 5 shared subscription)",
    )
    p.add_argument("--mqtt-url", default=os.environ.get("EHUB_TEST_MQTT_URL"))
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))


def _say(msg: str) -> None:
    print(msg, flush=True)


# -- payloads --------------------------------------------------------------------------------
def payloads(n: int, devices: int, seq0: int = 0) -> list[tuple[str, bytes]]:
    """``n`` location fixes, round-robin over ``devices`` trackers, seq continuing at seq0+1."""
    base = datetime.now(UTC).replace(microsecond=0)
    out = []
    for i in range(n):
        d, k = i % devices, seq0 + i // devices + 1
        ts = (base + timedelta(milliseconds=i)).isoformat()
        body = (
            f'{{"v":1,"seq":{k},"ts":"{ts}","lat":{22.50 + d * 1e-4:.6f},'
            f'"lon":{114.05 + (k % 1000) * 1e-5:.6f},"speed_kmh":36.5,"heading_deg":90.0,'
            f'"altitude_m":12.0,"satellites":14,"acc_on":true,"odometer_km":{1000 + k * 0.01:.2f},'
            f'"alarms":[]}}'
        )
        out.append((f"ehub/v1/vehicle_tracker/bench-{d:05d}/location", body.encode()))
    return out


# -- MQTT helpers ----------------------------------------------------------------------------
def _client(ep: MqttEndpoint, client_id: str, **kw: Any) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **kw)
    ep.paho_setup(c)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


def _props(expiry: int = 3600, receive_max: int = 20_000) -> Properties:
    p = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    p.SessionExpiryInterval = expiry
    p.ReceiveMaximum = receive_max
    return p


def create_session(ep: MqttEndpoint, client_id: str, topic: str) -> None:
    """A persistent session subscribed to ``topic``, left offline so the broker queues for it."""
    c = _client(ep, client_id)
    done = threading.Event()
    c.on_subscribe = lambda *_a: done.set()
    c.connect(ep.host, ep.port, clean_start=True, properties=_props())
    c.loop_start()
    c.subscribe(topic, qos=1)
    if not done.wait(10):
        raise RuntimeError("no SUBACK")
    c.disconnect()
    c.loop_stop()


def publish_all(ep: MqttEndpoint, msgs: list[tuple[str, bytes]]) -> float:
    """Publish at full speed (QoS 1) and wait for every PUBACK; returns msg/s."""
    c = _client(ep, f"bench-pub-{os.getpid()}")
    # paho's message ids are 16-bit: more than 65535 unacked publishes would collide, so keep
    # a window of 20k in flight.
    window = threading.Semaphore(20_000)
    c.on_publish = lambda *_a: window.release()
    c.connect(ep.host, ep.port, properties=_props(0))
    c.loop_start()
    t0 = time.perf_counter()
    for topic, body in msgs:
        window.acquire()
        c.publish(topic, body, qos=1)
    for _ in range(20_000):
        window.acquire()
    rate = len(msgs) / (time.perf_counter() - t0)
    c.disconnect()
    c.loop_stop()
    return rate


# -- 1. broker ceiling -------------------------------------------------------------------------
def broker_ceiling(ep: MqttEndpoint, msgs: list[tuple[str, bytes]]) -> float:
    # mosquitto_pub -l does not wait for PUBACKs; given 100k lines at once it overruns the
    # broker (seen: "disconnected due to out of memory"), so feed it 10k lines at a time.
    chunks = []
    for i in range(0, len(msgs), 10_000):
        with tempfile.NamedTemporaryFile("wb", suffix=".lines", delete=False) as f:
            f.write(b"".join(body + b"\n" for _t, body in msgs[i : i + 10_000]))
            chunks.append(f.name)
    # Inside the test account's ehub/v1/# but four levels deep: no gateway subscription matches.
    args = ["-h", ep.host, "-p", str(ep.port), "-q", "1", "-t", "ehub/v1/bench/broker"]
    if ep.username:
        args += ["-u", ep.username, "-P", ep.password or ""]
    sub = subprocess.Popen(
        ["mosquitto_sub", *args, "-C", str(len(msgs))], stdout=subprocess.DEVNULL
    )
    time.sleep(0.5)  # let the subscription land; mosquitto_sub has no "ready" signal
    t0 = time.perf_counter()
    for path in chunks:
        with open(path, "rb") as stdin:
            subprocess.run(["mosquitto_pub", *args, "-l"], stdin=stdin, check=True)
        os.unlink(path)
    try:
        sub.wait(timeout=120)
    except subprocess.TimeoutExpired:
        sub.kill()
        raise RuntimeError("mosquitto_sub did not receive every message") from None
    return len(msgs) / (time.perf_counter() - t0)


# -- 2. client ceiling -------------------------------------------------------------------------
def client_ceiling(mqtt_url: str, msgs: list[tuple[str, bytes]]) -> float:
    ep = MqttEndpoint.parse(mqtt_url)
    cid = "bench-receiver"
    create_session(ep, cid, upstream_filter())
    publish_all(ep, msgs)
    c = _client(ep, cid)
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got == len(msgs):
            last = time.perf_counter()
            done.set()

    c.on_message = on_message
    c.connect(ep.host, ep.port, clean_start=False, properties=_props())
    c.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"receiver got {got}/{len(msgs)}")
    c.disconnect()
    c.loop_stop()
    drop_session(mqtt_url, cid)
    return len(msgs) / (last - first)


# -- 3. database ceiling -----------------------------------------------------------------------
def database_ceiling(db: str, msgs: list[tuple[str, bytes]]) -> float:
    rx = datetime.now(UTC)
    limits = Limits()
    rows = []
    for topic, body in msgs:
        r = classify(topic, body, rx, limits)
        assert hasattr(r, "values"), r
        rows.append(r.values)
    cols = COLUMNS[Table.POSITIONS]
    types = [PG_TYPES[c] for c in cols]
    types[-1] = "jsonb"
    with psycopg.connect(db) as conn:
        conn.execute("TRUNCATE positions")
        conn.commit()
        t0 = time.perf_counter()
        for i in range(0, len(rows), 10_000):
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY positions ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(types)
                for row in rows[i : i + 10_000]:
                    copy.write_row((*row[:-1], json.loads(row[-1])))
            conn.commit()
        rate = len(rows) / (time.perf_counter() - t0)
        conn.execute("TRUNCATE positions")
        conn.commit()
    return rate


# -- 4. gateway end to end -------------------------------------------------------------------
def _stored(db: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT coalesce(sum(messages_stored), 0) FROM device_latest")
        return int(row.fetchone()[0])  # type: ignore[index]


def start_gateways(b: Bench) -> list[subprocess.Popen[bytes]]:
    """``ehub gateway --processes N``, exactly as an operator would run it."""
    env = {
        **os.environ,
        "EHUB_MQTT_URL": b.gateway_url or b.mqtt_url,
        "EHUB_DATABASE_URL": b.db,
        "EHUB_GATEWAY_CLIENT_ID": GW_CLIENT,
        "EHUB_GATEWAY_BATCH_SIZE": str(b.batch),
        "EHUB_GATEWAY_SESSION_EXPIRY_S": "3600",
        "EHUB_GATEWAY_PROCESSES": str(b.gateways),
    }
    if b.share_group:
        env["EHUB_GATEWAY_SHARE_GROUP"] = b.share_group
    cmd = [sys.executable, "-m", "ehub", "gateway"]
    return [subprocess.Popen(cmd, env=env, stdout=b.log.open("ab"), stderr=subprocess.STDOUT)]


def stop_gateways(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)


def _gateway_pids(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """The gateway processes themselves: the children of a supervisor, or the process."""
    pids = []
    for p in procs:
        kids = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
        pids += [int(k) for k in kids] or [p.pid]
    return pids


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gateway_e2e(b: Bench, msgs: list[tuple[str, bytes]]) -> tuple[float, float]:
    """Queue ``msgs`` for the gateway session(s), start the gateway(s), time the drain:
    first receive -> all committed. Returns (msg/s, peak RSS of the largest gateway)."""
    for cid in b.client_ids():
        create_session(b.ep, cid, upstream_filter(b.share_group))
    pub_rate = publish_all(b.ep, msgs)
    _say(f"  (queued {len(msgs)} messages for the gateway at {pub_rate:,.0f} msg/s)")
    before, t_before = _stored(b.db), datetime.now(UTC)
    gws = start_gateways(b)
    try:
        deadline = time.monotonic() + 900
        while _stored(b.db) - before < len(msgs):
            if any(g.poll() is not None for g in gws) or time.monotonic() > deadline:
                raise RuntimeError(f"gateway stopped early; see {b.log}")
            time.sleep(0.02)
        t_done = datetime.now(UTC)
        rss = max(peak_rss_mb(pid) for pid in _gateway_pids(gws))
        with psycopg.connect(b.db) as conn:
            first = conn.execute(
                "SELECT min(received_at) FROM positions WHERE received_at > %s", (t_before,)
            ).fetchone()
        assert first is not None
        return len(msgs) / (t_done - first[0]).total_seconds(), rss
    finally:
        stop_gateways(gws)


# -- 5. latency at a fixed rate --------------------------------------------------------------
LATENCY_DEVICES = 50


def latency(b: Bench, rate: float, seconds: float, seq0: int) -> list[float]:
    """Publish at ``rate`` for ``seconds`` from 50 trackers; latency = publish -> device ack.

    The load comes from one ``mosquitto_pub -l`` process per tracker, fed paced lines through
    a pipe: a Python publisher would need most of a core at 10k msg/s and starve the gateway
    on a 2-core machine, measuring the harness instead of the gateway.
    """
    n = int(rate * seconds) // LATENCY_DEVICES * LATENCY_DEVICES
    msgs = payloads(n, LATENCY_DEVICES, seq0=seq0)
    gws = start_gateways(b)
    c = _client(b.ep, f"bench-lat-{os.getpid()}")
    sent: dict[str, list[tuple[int, float]]] = {}
    lat: list[float] = []
    lock = threading.Lock()
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        device = m.topic.split("/")[3]
        seq = json.loads(m.payload)["seq"]
        with lock:
            pending = sent.get(device, [])
            while pending and pending[0][0] <= seq:
                lat.append(now - pending.pop(0)[1])

    c.on_message = on_message
    c.on_subscribe = lambda *_a: subscribed.set()
    c.connect(b.ep.host, b.ep.port, properties=_props(0))
    c.loop_start()
    c.subscribe("ehub/v1/vehicle_tracker/+/ack", qos=1)
    subscribed.wait(10)
    pubs = {}
    for d in range(LATENCY_DEVICES):
        topic = msgs[d][0]
        pubs[topic] = subprocess.Popen(
            [
                "mosquitto_pub",
                "-h",
                b.ep.host,
                "-p",
                str(b.ep.port),
                "-q",
                "1",
                "-t",
                topic,
                "-l",
                "-i",
                f"bench-lat-{d}",
                *(["-u", b.ep.username, "-P", b.ep.password or ""] if b.ep.username else []),
            ],
            stdin=subprocess.PIPE,
        )
    time.sleep(2.0)  # the gateway and the publishers connect
    t0 = time.perf_counter()
    i = 0
    while i < n:
        due = min(n, int((time.perf_counter() - t0) * rate) + 1)
        now = time.perf_counter()
        with lock:
            for k in range(i, due):
                topic = msgs[k][0]
                sent.setdefault(topic.split("/")[3], []).append(
                    (seq0 + k // LATENCY_DEVICES + 1, now)
                )
        for k in range(i, due):
            stdin = pubs[msgs[k][0]].stdin
            assert stdin is not None
            stdin.write(msgs[k][1] + b"\n")
        for p in pubs.values():
            assert p.stdin is not None
            p.stdin.flush()
        i = due
        time.sleep(0.002)
    deadline = time.monotonic() + 60
    while len(lat) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in pubs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait(10)
    c.disconnect()
    c.loop_stop()
    stop_gateways(gws)
    if len(lat) < n:
        raise RuntimeError(f"only {len(lat)}/{n} messages acked; see {b.log}")
    return lat


def _median(label: str, unit: str, values: list[float]) -> float:
    med = statistics.median(values)
    runs = ", ".join(f"{v:,.0f}" for v in values)
    _say(f"{label}: {med:,.0f} {unit}  (median of {len(values)}: {runs})")
    return med


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main(args: argparse.Namespace) -> int:
    svc = Services.load()
    mqtt_url = args.mqtt_url or (svc.mqtt_url if svc else None)
    admin = args.database_url or (svc.database_url if svc else None)
    if not mqtt_url or not admin:
        _say("bench: start the services first: ./scripts/services up")
        return 2
    ep = MqttEndpoint.parse(mqtt_url)
    db_name = f"ehub_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db_name}")
    db = admin.rsplit("/", 1)[0] + f"/{db_name}"
    log = Path(tempfile.gettempdir()) / f"{db_name}-gateway.log"
    try:
        features = migrate(db)
        with psycopg.connect(db) as conn:
            conn.cursor().executemany(
                "INSERT INTO devices (device_id, device_type) VALUES (%s, 'vehicle_tracker')",
                [(f"bench-{d:05d}",) for d in range(args.devices)],
            )
        n, per_dev = args.messages, args.messages // args.devices
        n = per_dev * args.devices  # whole rounds, so seqs stay contiguous per device
        msgs = payloads(n, args.devices)
        _say(
            f"bench ingest: {n:,} location fixes from {args.devices} trackers; "
            f"{os.cpu_count()} cores; timescaledb {features.timescaledb_version} "
            f"({features.license}); {len(msgs[0][1])} bytes/message"
        )
        r = args.repeat
        broker = _median(
            "broker ceiling   (mosquitto_pub -> mosquitto_sub, QoS 1)",
            "msg/s",
            [broker_ceiling(ep, msgs) for _ in range(r)],
        )
        client = _median(
            "client ceiling   (paho receive-only, QoS 1)",
            "msg/s",
            [client_ceiling(mqtt_url, msgs) for _ in range(r)],
        )
        dbc = _median(
            "database ceiling (binary COPY into positions, 10k/tx)",
            "rows/s",
            [database_ceiling(db, msgs) for _ in range(r)],
        )
        bench = Bench(
            ep,
            mqtt_url,
            db,
            args.batch_size,
            log,
            args.gateways,
            gateway_url=svc.mqtt_url_for("ehub-gateway") if svc and not args.mqtt_url else "",
        )
        runs = [gateway_e2e(bench, payloads(n, args.devices, seq0=k * per_dev)) for k in range(r)]
        ceiling = min(client, dbc)
        e2e = _median(
            f"gateway e2e      ({args.gateways} process(es), queued -> committed, "
            f"batch {args.batch_size})",
            "msg/s",
            [x[0] for x in runs],
        )
        _say(f"  = {e2e / ceiling:.2f} x min(client, database) ceiling")
        rss = max(x[1] for x in runs)
        _say(f"gateway peak RSS: {rss:.0f} MB")
        half = e2e / 2
        lat = latency(bench, half, args.latency_seconds, seq0=r * per_dev)
        p50, p99 = pct(lat, 0.50) * 1000, pct(lat, 0.99) * 1000
        _say(
            f"latency at {half:,.0f} msg/s (publish -> device ack after commit): "
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(lat) * 1000:.0f} ms "
            f"({len(lat):,} messages, mean {statistics.fmean(lat) * 1000:.0f} ms)"
        )
        print(
            json.dumps(
                {
                    "e2e_msgs_per_s": round(e2e),
                    "ceiling_msgs_per_s": round(ceiling),
                    "ratio": round(e2e / ceiling, 3),
                    "p99_ms": round(p99, 1),
                    "p50_ms": round(p50, 1),
                    "broker_msgs_per_s": round(broker),
                    "client_msgs_per_s": round(client),
                    "database_rows_per_s": round(dbc),
                    "gateway_peak_rss_mb": round(rss),
                    "latency_rate_msgs_per_s": round(half),
                    "messages": n,
                    "gateways": args.gateways,
                    "repeat": args.repeat,
                }
            ),
            flush=True,
        )
        return 0
    finally:
        for cid in Bench(ep, mqtt_url, "", 0, log, args.gateways).client_ids():
            drop_session(mqtt_url, cid)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
