"""The process set docker-compose.yml names, run for real: its commands and environments, with
only the wiring swapped for this machine's (the real Mosquitto and TimescaleDB of
``./scripts/services``, free ports, the test broker's service accounts).

Two gateways in one share group, the JT/T 808 bridge, the hub and the hub worker start; the
test waits for every ``/readyz``; the demo profile's three steps run (register the fleet,
issue its broker credentials, simulate it, trackers over JT/T 808); then data must have flowed
end to end — rows stored from both protocols, both gateways committing, the hub's live index
and loops, the worker's events. Last, a real Prometheus (Debian's package) scrapes every
process with ``dashboards/prometheus.yml`` and evaluates every rule of ``dashboards/alerts.yml``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from ehub.pgcluster import free_port
from ehub.services import Services, clear_retained, drop_session, start_prometheus
from schemas.broker import MqttEndpoint
from schemas.ops import METRICS_PATH, READY_PATH
from schemas.topics import Channel, device_topic
from tests.helpers import query, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
EHUB = str(Path(sys.executable).with_name("ehub"))
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
DEVICES = 12  # the demo's 200, scaled to this machine's two shared cores
PORT_VARS = ("EHUB_GATEWAY_METRICS_PORT", "EHUB_HUB_PORT", "EHUB_HUB_WORKER_METRICS_PORT",
             "EHUB_JT808_PORT", "EHUB_JT808_METRICS_PORT")  # fmt: skip
PROBE_VAR = {
    "gateway": "EHUB_GATEWAY_METRICS_PORT",
    "hub": "EHUB_HUB_PORT",
    "hub-worker": "EHUB_HUB_WORKER_METRICS_PORT",
    "jt808-bridge": "EHUB_JT808_METRICS_PORT",
}
LONG_RUNNING = ("gateway-1", "gateway-2", "jt808-bridge", "hub", "hub-worker")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    probe_port: int | None = None
    env: dict[str, str] | None = None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def _interpolate(value: str, secrets_: dict[str, str]) -> str:
    return re.sub(
        r"\$\{(EHUB_[A-Z0-9_]+)[^}]*\}", lambda m: secrets_.get(m.group(1), ""), str(value)
    )


def _env_for(
    name: str, db_url: str, account_url: Callable[[str], str], secrets_: dict[str, str]
) -> dict[str, str]:
    """The service's compose environment, with this machine's wiring."""
    env: dict[str, str] = {}
    for key, raw in COMPOSE[name].get("environment", {}).items():
        value = _interpolate(raw, secrets_)
        if key == "EHUB_DATABASE_URL":
            value = db_url
        elif key == "EHUB_MQTT_URL":  # the same service account, on the test broker
            value = account_url(MqttEndpoint.parse(value.split("?")[0]).username or "")
        elif key in PORT_VARS:
            value = str(free_port())
        elif key.endswith(("_ADDR", "_HOST")):
            value = "127.0.0.1"
        env[key] = value
    return env


def _base_env() -> dict[str, str]:
    # Nothing of the test runner's own EHUB_* settings leaks in: compose's env is the whole truth.
    return {k: v for k, v in os.environ.items() if not k.startswith("EHUB_") or "TEST" in k}


def _argv(name: str, subs: dict[str, str]) -> list[str]:
    args = [subs.get(a, a) for a in COMPOSE[name]["command"]]
    assert args[0] == "ehub"
    return [EHUB, *args[1:]]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def _wait_ready(p: Proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = (0, "")
    while time.monotonic() < deadline:
        if p.popen.poll() is not None:
            pytest.fail(f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}")
        last = _get(f"http://127.0.0.1:{p.probe_port}{READY_PATH}", timeout=3)
        if last[0] == 200:
            return
        time.sleep(0.5)
    pytest.fail(f"{p.name} not ready in {timeout}s ({last}):\n{p.tail()}")


def _metric(text: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        m = re.match(r'([a-zA-Z_:][\w:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
            found = True
    assert found, f"no sample of {name}{labels}"
    return total


@pytest.fixture()
def stack(
    db_url: str, services: Services, tmp_path: Path, service_mqtt_url: Callable[[str], str]
) -> Iterator[dict[str, Proc]]:
    secrets_ = {
        "EHUB_DB_PASSWORD": "unused-here",
        "EHUB_HUB_JWT_SECRET": secrets.token_urlsafe(40),
        "EHUB_HUB_ID_HASH_KEY": secrets.token_urlsafe(40),
    }
    client_ids = [
        v
        for n in LONG_RUNNING
        for k, v in COMPOSE[n].get("environment", {}).items()
        if k.endswith("_CLIENT_ID")
    ]
    for cid in client_ids:  # a previous run's persistent sessions must not hold messages
        drop_session(services.mqtt_url, cid)
    procs: dict[str, Proc] = {}
    try:
        for name in LONG_RUNNING:
            env = _env_for(name, db_url, service_mqtt_url, secrets_)
            log = tmp_path / f"{name}.log"
            popen = subprocess.Popen(
                _argv(name, {}),
                env={**_base_env(), **env},
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
            command = COMPOSE[name]["command"][1]
            procs[name] = Proc(name, popen, log, int(env[PROBE_VAR[command]]), env)
        for p in procs.values():
            _wait_ready(p)
        yield procs
    finally:
        for p in procs.values():
            p.popen.terminate()
        for p in procs.values():
            try:
                p.popen.wait(30)
            except subprocess.TimeoutExpired:
                p.popen.kill()
        for cid in client_ids:
            drop_session(services.mqtt_url, cid)
        # The fleet's and the bridge's retained states would reach every later test's gateway.
        devices = query(db_url, "SELECT device_type, device_id FROM devices")
        clear_retained(services.mqtt_url, [device_topic(t, d, Channel.STATE) for t, d in devices])


def _run(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    proc = subprocess.run(
        argv,
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{argv[1:3]} exited {proc.returncode}:\n{proc.stderr[-3000:]}"


def test_the_compose_process_set_runs_and_data_flows_end_to_end(
    stack: dict[str, Proc],
    db_url: str,
    services: Services,
    service_mqtt_url: Callable[[str], str],
    tmp_path: Path,
) -> None:
    bridge_port = stack["jt808-bridge"].env["EHUB_JT808_PORT"]  # type: ignore[index]
    hub_port = stack["hub"].probe_port
    csv_path = tmp_path / "sim-devices.csv"
    compose_db = "postgresql://postgres:${EHUB_DB_PASSWORD}@timescaledb:5432/ehub"
    subs = {
        "200": str(DEVICES),
        compose_db: db_url,
        "jt808-bridge:7808": f"127.0.0.1:{bridge_port}",
        "mqtt://mosquitto:1883": services.anonymous_url,
        "/demo/sim-devices.csv": str(csv_path),
    }
    # The demo profile, step by step, as compose runs it.
    _run(_argv("demo-register", subs), {}, tmp_path / "demo-register.log", 120)
    cred_env = _env_for("demo-credentials", db_url, service_mqtt_url, {})
    _run(_argv("demo-credentials", subs), cred_env, tmp_path / "demo-credentials.log", 120)
    issued = csv_path.read_text().splitlines()
    assert len(issued) == DEVICES + 1  # header + one account per device
    sim = [*_argv("simulator", subs), "--duration", "12", "--rate", "30"]
    _run(sim, {}, tmp_path / "simulator.log", 180)  # exit 0: every message acked
    # A device that got past the broker sends junk: a dead letter, as the ingest dashboard shows.
    first = issued[1].split(",")[0]
    kind = query(db_url, "SELECT device_type FROM devices WHERE device_id = %s", first)[0][0]
    _junk(services.mqtt_url, device_topic(kind, first, Channel.STATUS))
    wait_until(lambda: query(db_url, "SELECT count(*) FROM dead_letters")[0][0] >= 1)

    # Stored: MQTT devices' status and the trackers' positions that came over JT/T 808.
    by_type = dict(
        query(db_url, "SELECT device_type, count(*) FROM device_status GROUP BY device_type")
    )
    assert sum(by_type.values()) > 0
    trackers = query(
        db_url,
        "SELECT count(*) FROM positions p JOIN jt808_terminals t USING (device_id)",
    )[0][0]
    assert trackers > 0, "no position came through the JT/T 808 bridge"

    metrics = {
        n: _get(f"http://127.0.0.1:{p.probe_port}{METRICS_PATH}")[1] for n, p in stack.items()
    }
    # Both gateways of the share group committed part of the uplink.
    for gw in ("gateway-1", "gateway-2"):
        assert _metric(metrics[gw], "ehub_gateway_messages_stored_total") > 0, gw
    # The bridge decoded location reports and answered them after the broker's PUBACK.
    assert _metric(metrics["jt808-bridge"], "ehub_jt808_frames_total", msg_id="0x0200") > 0
    assert _metric(metrics["jt808-bridge"], "ehub_jt808_puback_seconds_count") > 0
    assert _metric(metrics["jt808-bridge"], "ehub_jt808_connections_opened_total") > 0
    # The hub: its live index holds the fleet, its loops ran (retention included), its own
    # probes were counted by route template.
    hub = _get(f"http://127.0.0.1:{hub_port}{METRICS_PATH}")[1]
    assert _metric(hub, "ehub_hub_live_index_devices") >= DEVICES
    for loop in ("live index", "usage", "alert", "retention"):
        assert _metric(hub, "ehub_hub_loop_runs_total", loop=loop) >= 1, loop
    assert _metric(hub, "ehub_hub_http_requests_total", route=READY_PATH, status="200") >= 1
    assert _metric(hub, "ehub_hub_db_up") == 1
    # The worker took the device events the fleet sent (its subscription's share of them).
    events = query(
        db_url,
        "SELECT count(*) FROM device_events WHERE device_type IN"
        " ('mobile_terminal', 'camera_dock', 'body_camera', 'vehicle_tracker')",
    )[0][0]
    if events:
        assert _metric(metrics["hub-worker"], "ehub_hub_worker_events_total") > 0
    assert _metric(metrics["hub-worker"], "ehub_hub_worker_mqtt_subscribed") == 1

    _prometheus_scrapes_and_evaluates(stack, tmp_path, db_url)


def _junk(mqtt_url: str, topic: str) -> None:
    ep = MqttEndpoint.parse(mqtt_url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"junk-{secrets.token_hex(4)}")
    ep.paho_setup(c)
    c.connect(ep.host, ep.port)
    c.loop_start()
    c.publish(topic, b"not json", qos=1).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


def _prometheus_scrapes_and_evaluates(stack: dict[str, Proc], tmp_path: Path, db_url: str) -> None:
    """dashboards/prometheus.yml and alerts.yml on a real Prometheus, targets rewritten."""
    shipped = yaml.safe_load((ROOT / "dashboards/prometheus.yml").read_text())
    rules = tmp_path / "alerts.yml"
    shutil.copy(ROOT / "dashboards/alerts.yml", rules)
    where = {}
    for name, p in stack.items():
        command = COMPOSE[name]["command"][1]
        compose_port = COMPOSE[name]["environment"][PROBE_VAR[command]]
        where[f"{name}:{compose_port}"] = f"127.0.0.1:{p.probe_port}"
    config = dict(shipped)
    config["global"] = {**shipped["global"], "scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    config["scrape_configs"] = [
        {
            **job,
            "static_configs": [
                {"targets": [where[t] for t in c["targets"]]} for c in job["static_configs"]
            ],
        }
        for job in shipped["scrape_configs"]
    ]
    assert sorted(where.values()) == sorted(
        t for j in config["scrape_configs"] for c in j["static_configs"] for t in c["targets"]
    )
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config))
    port = free_port()
    prom = start_prometheus(cfg, tmp_path / "prometheus", port)
    try:
        check = subprocess.run(
            ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
        api = f"http://127.0.0.1:{port}/api/v1"

        def targets_up() -> bool:
            code, body = _get(f"{api}/targets")
            if code != 200:
                return False
            active = json.loads(body)["data"]["activeTargets"]
            return len(active) == len(where) and all(t["health"] == "up" for t in active)

        deadline = time.monotonic() + 60
        while not targets_up():
            assert time.monotonic() < deadline, _get(f"{api}/targets")[1][:3000]
            time.sleep(1)
        time.sleep(3)  # a few scrapes, so rate()/increase() have two points

        def q(expr: str) -> list[Any]:
            code, body = _get(f"{api}/query?" + urllib.parse.urlencode({"query": expr}))
            doc = json.loads(body)
            assert code == 200 and doc["status"] == "success", (expr, body[:500])
            result: list[Any] = doc["data"]["result"]
            return result

        doc = yaml.safe_load(rules.read_text())
        exprs = [r["expr"] for g in doc["groups"] for r in g["rules"]]
        names = set()
        for expr in exprs:
            q(expr)  # every alert's expression evaluates on the real series
            names |= set(re.findall(r"\b(ehub_[a-z0-9_]+|up)\b", expr))
        # ... and every metric it names is one the processes really export (no typo'd name
        # that would make an alert silently never fire).
        for name in sorted(names):
            assert q(f"count({name})"), f"no series named {name}"
        # The rule groups loaded and are evaluated by the server itself.
        _code, body = _get(f"{api}/rules")
        groups = json.loads(body)["data"]["groups"]
        assert {r["name"] for g in groups for r in g["rules"]} == {
            r["alert"] for g in doc["groups"] for r in g["rules"]
        }
        assert all(r["health"] in ("ok", "unknown") for g in groups for r in g["rules"])
        _dashboards_evaluate(q, db_url)
    finally:
        prom.terminate()
        prom.wait(30)


# -- the Grafana dashboards' queries, on the same live data -------------------------------------
def _panels(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in doc.get("panels", []):
        yield panel
        yield from _panels(panel)  # rows hold panels of their own


def expand_macros(sql: str, frm: datetime, to: datetime, interval_s: int = 60) -> str:
    """Grafana's PostgreSQL macros, expanded as its SQL datasource does; an unknown one fails."""
    f, t = f"'{frm.isoformat()}'", f"'{to.isoformat()}'"

    def time_group(args: str, alias: bool) -> str:
        col, _, step = (a.strip() for a in args.partition(","))
        seconds = _duration_s(step.strip("'\" ")) if step else interval_s
        expr = f"floor(extract(epoch from {col})/{seconds})*{seconds}"
        return f'{expr} AS "time"' if alias else expr

    rules: list[tuple[str, Callable[[re.Match[str]], str]]] = [
        (r"\$__timeFilter\(([^)]*)\)", lambda m: f"{m.group(1)} BETWEEN {f} AND {t}"),
        (r"\$__timeFrom\(\)", lambda m: f),
        (r"\$__timeTo\(\)", lambda m: t),
        (r"\$__timeGroupAlias\(([^)]*)\)", lambda m: time_group(m.group(1), True)),
        (r"\$__timeGroup\(([^)]*)\)", lambda m: time_group(m.group(1), False)),
        (
            r"\$__unixEpochFilter\(([^)]*)\)",
            lambda m: (
                f"{m.group(1)} >= {int(frm.timestamp())} AND {m.group(1)} <= {int(to.timestamp())}"
            ),
        ),
        (r"\$__interval_ms\b", lambda m: str(interval_s * 1000)),
        (r"\$__interval\b", lambda m: f"{interval_s}s"),
    ]
    for pattern, repl in rules:
        sql = re.sub(pattern, repl, sql)
    assert "$__" not in sql, f"a Grafana macro this test does not expand: {sql}"
    return sql


def _duration_s(text: str) -> int:
    n, unit = int(text[:-1]), text[-1]
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def _dashboards_evaluate(q: Callable[[str], list[Any]], db_url: str) -> None:
    """Every panel of every shipped dashboard: PromQL through the real Prometheus returns series;
    SQL (macros expanded) runs on the real TimescaleDB and returns the columns the panel's
    format needs."""
    files = sorted((ROOT / "dashboards/grafana").glob("*.json"))
    assert files
    now = datetime.now(UTC)
    checked = 0
    for path in files:
        doc = json.loads(path.read_text())
        for panel in _panels(doc):
            ds = (panel.get("datasource") or {}).get("type", "")
            for target in panel.get("targets", []):
                where = f"{path.name} / {panel.get('title')} / {target.get('refId')}"
                if "prometheus" in ds:
                    assert q(target["expr"]), f"{where}: no series"
                elif "postgres" in ds:
                    sql = expand_macros(target["rawSql"], now - timedelta(hours=1), now)
                    with psycopg.connect(db_url) as conn:
                        cur = conn.execute(sql)
                        cols = [c.name for c in cur.description or []]
                        rows = cur.fetchall()
                    assert rows, f"{where}: no rows"
                    if target.get("format") == "time_series":
                        assert cols[0] == "time", f"{where}: a time series needs time first"
                        assert len(cols) >= 2
                else:
                    pytest.fail(f"{where}: unknown datasource {ds!r}")
                checked += 1
    assert checked >= 9  # the ingest dashboard: 7 PromQL targets, 2 SQL
