"""Zero loss under failure, with real processes: the gateway and the simulated fleet run as
``ehub`` subprocesses against the real Mosquitto and TimescaleDB, and we break things mid-stream.

Each test ends with the same proof: the simulator reports every message acked (nothing left
in any device's outbox), and the database holds every ``(device, seq)`` from 1 to what the
device published, exactly once, with no dead letters.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from device_drivers.simulator.fleet import build_fleet
from ehub.registry import register_fleet
from ehub.services import Services, drop_session
from tests.helpers import clear_retained, query, wait_until

pytestmark = pytest.mark.slow

DEVICES = 24
RATE = 400.0  # messages per second for the whole fleet


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "ehub", *args],
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float) -> int:
        try:
            return self.p.wait(timeout=timeout)
        finally:
            self._fh.flush()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture()
def fleet_env(db_url: str, services: Services, tmp_path: Path) -> Iterator[dict[str, object]]:
    prefix = f"r{uuid.uuid4().hex[:4]}-"
    fleet = build_fleet(DEVICES, prefix=prefix)
    register_fleet(db_url, fleet)
    env = {
        **os.environ,
        "EHUB_MQTT_URL": services.mqtt_url_for("ehub-gateway"),
        "EHUB_DATABASE_URL": db_url,
        "EHUB_GATEWAY_CLIENT_ID": f"gw-{prefix}",
        "EHUB_GATEWAY_SESSION_EXPIRY_S": "600",
        "EHUB_GATEWAY_BATCH_TIMEOUT_MS": "50",
    }
    procs: list[Proc] = []
    ctx: dict[str, object] = {
        "env": env,
        "prefix": prefix,
        "tmp": tmp_path,
        "procs": procs,
        "db": db_url,
        "services": services,
    }
    yield ctx
    for p in procs:
        p.kill()
        p.wait(10)
    drop_session(services.mqtt_url, env["EHUB_GATEWAY_CLIENT_ID"])
    clear_retained(
        services.mqtt_url, [f"ehub/v1/{d.device_type.value}/{d.device_id}/state" for d in fleet]
    )


def gateway(ctx: dict[str, object]) -> Proc:
    """Start ``ehub gateway`` and wait until it is subscribed (its log says connected)."""
    tmp = ctx["tmp"]
    assert isinstance(tmp, Path)
    log = tmp / "gateway.log"
    before = log.read_text().count("MQTT subscribed") if log.exists() else 0
    proc = Proc(["gateway"], ctx["env"], log)  # type: ignore[arg-type]
    ctx["procs"].append(proc)  # type: ignore[attr-defined]
    wait_until(lambda: log.read_text().count("MQTT subscribed") > before, timeout=30)
    return proc


def simulator(ctx: dict[str, object], duration: float, drain: float) -> Proc:
    tmp = ctx["tmp"]
    assert isinstance(tmp, Path)
    services = ctx["services"]
    assert isinstance(services, Services)
    proc = Proc(
        [
            "simulate",
            "--devices",
            str(DEVICES),
            "--rate",
            str(RATE),
            "--broker",
            services.mqtt_url,
            "--duration",
            str(duration),
            "--drain-timeout",
            str(drain),
            "--prefix",
            str(ctx["prefix"]),
            "--report",
            str(tmp / "report.json"),
        ],
        ctx["env"],
        tmp / "simulate.log",
    )  # type: ignore[arg-type]
    ctx["procs"].append(proc)  # type: ignore[attr-defined]
    return proc


def stored_rows(db: str) -> int:
    return int(
        query(
            db,
            "SELECT (SELECT count(*) FROM device_status) + (SELECT count(*) FROM"
            " positions) + (SELECT count(*) FROM device_events)",
        )[0][0]
    )


def assert_exactly_once(ctx: dict[str, object], sim: Proc, timeout: float) -> dict[str, int]:
    code = sim.wait(timeout)
    assert code == 0, f"simulator left messages unacked:\n{sim.tail()}"
    tmp = ctx["tmp"]
    assert isinstance(tmp, Path)
    report = json.loads((tmp / "report.json").read_text())
    db = str(ctx["db"])
    rows = query(
        db,
        """
        SELECT device_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM (
          SELECT device_id, seq FROM device_status UNION ALL
          SELECT device_id, seq FROM positions UNION ALL
          SELECT device_id, seq FROM device_events) t GROUP BY device_id""",
    )
    got = {d: (n, nd, lo, hi) for d, n, nd, lo, hi in rows}
    published = {d: v["published"] for d, v in report["per_device"].items()}
    assert set(got) == set(published)
    for device_id, n in published.items():
        assert got[device_id] == (n, n, 1, n), (device_id, got[device_id], n)
    # (Retained state of other tests' devices, unknown here, may be dead-lettered: not ours.)
    assert (
        query(
            db,
            "SELECT reason, count(*) FROM dead_letters WHERE device_id LIKE %s GROUP BY 1",
            f"{ctx['prefix']}%",
        )
        == []
    )
    return published


def test_gateway_kill_9_mid_stream_then_restart_stores_everything_once(fleet_env):
    gw = gateway(fleet_env)
    sim = simulator(fleet_env, duration=10, drain=60)
    db = str(fleet_env["db"])
    wait_until(lambda: stored_rows(db) > 500, timeout=30)
    gw.kill(signal.SIGKILL)
    assert gw.wait(10) == -signal.SIGKILL
    at_kill = stored_rows(db)
    time.sleep(2)  # devices keep publishing into the broker meanwhile
    gateway(fleet_env)
    published = assert_exactly_once(fleet_env, sim, timeout=90)
    assert sum(published.values()) > at_kill


def test_broker_kill_9_and_restart_loses_nothing(fleet_env):
    services = fleet_env["services"]
    assert isinstance(services, Services)
    gateway(fleet_env)
    sim = simulator(fleet_env, duration=10, drain=60)
    db = str(fleet_env["db"])
    wait_until(lambda: stored_rows(db) > 500, timeout=30)
    services.stop_broker(signal.SIGKILL)
    time.sleep(2)
    services.start_broker()
    assert_exactly_once(fleet_env, sim, timeout=90)
    tmp = fleet_env["tmp"]
    assert isinstance(tmp, Path)
    report = json.loads((tmp / "report.json").read_text())
    assert report["reconnects"] >= DEVICES  # every device really lost its connection


def test_database_down_30s_mid_stream_loses_nothing_and_duplicates_nothing(fleet_env):
    services = fleet_env["services"]
    assert isinstance(services, Services)
    gw = gateway(fleet_env)
    sim = simulator(fleet_env, duration=40, drain=90)
    db = str(fleet_env["db"])
    wait_until(lambda: stored_rows(db) > 500, timeout=30)
    services.stop_db(mode="fast")
    try:
        time.sleep(30)
        assert gw.p.poll() is None, "the gateway must survive a database outage"
    finally:
        services.start_db()
    assert_exactly_once(fleet_env, sim, timeout=150)
    assert "database unavailable" in gw.log.read_text()


def test_sigterm_flushes_and_exits_cleanly_then_restart_completes(fleet_env):
    gw = gateway(fleet_env)
    sim = simulator(fleet_env, duration=8, drain=60)
    db = str(fleet_env["db"])
    wait_until(lambda: stored_rows(db) > 300, timeout=30)
    gw.kill(signal.SIGTERM)
    assert gw.wait(20) == 0, gw.tail()
    assert "flushing the current batch" in gw.log.read_text()
    gateway(fleet_env)
    assert_exactly_once(fleet_env, sim, timeout=90)


def test_gateway_processes_share_the_load_and_stop_together(fleet_env):
    """``ehub gateway --processes 2``: two children split the stream through one shared
    subscription, every device is acked to its last seq, SIGTERM stops all of them cleanly."""
    env = dict(fleet_env["env"])  # type: ignore[call-overload]
    env["EHUB_GATEWAY_SHARE_GROUP"] = f"g-{fleet_env['prefix']}".rstrip("-")
    fleet_env["env"] = env
    tmp = fleet_env["tmp"]
    assert isinstance(tmp, Path)
    log = tmp / "gateway.log"
    sup = Proc(["gateway", "--processes", "2"], env, log)
    fleet_env["procs"].append(sup)  # type: ignore[attr-defined]
    wait_until(lambda: log.read_text().count("MQTT subscribed") == 2, timeout=30)
    sim = simulator(fleet_env, duration=6, drain=60)
    assert_exactly_once(fleet_env, sim, timeout=90)
    sup.kill(signal.SIGTERM)
    assert sup.wait(30) == 0, sup.tail()
    assert log.read_text().count("gateway stopped after") == 2
    for i in (1, 2):
        drop_session(str(fleet_env["services"].mqtt_url), f"{env['EHUB_GATEWAY_CLIENT_ID']}-{i}")
