"""The hub's and the worker's operator endpoints: liveness, readiness (and its refusal in plain
words), and Prometheus metrics with bounded labels — a route's template, never the device id
in its path — on the real database and broker."""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from ehub.pgcluster import free_port
from ehub.services import drop_session
from hub.api.app import create_app
from hub.settings import HubSettings
from hub.worker import HubWorker
from tests.helpers import msg, register, wait_until
from tests.hub.test_device_events_integration import T0, ev, hand_out, pair

pytestmark = pytest.mark.integration


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as c:
        yield c


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = re.match(r'([a-zA-Z_:][\w:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)$', line)
        if m and m.group(1) == name:
            out.append((dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")), float(m.group(3))))
    return out


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "alive"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_readiness_refuses_in_plain_words_when_the_database_is_gone(client: TestClient) -> None:
    pool = client.app.state.pool  # type: ignore[attr-defined]
    client.portal.call(pool.close)  # type: ignore[union-attr]
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not ready"
    assert any("database does not answer" in p for p in r.json()["problems"])
    assert client.get("/livez").status_code == 200  # alive: not a reason to restart it


def test_metrics_count_requests_by_route_template_never_by_device_id(client: TestClient) -> None:
    secret_id = f"cam-{uuid.uuid4().hex[:10]}"
    assert client.get(f"/api/v1/devices/{secret_id}").status_code == 401  # no login
    client.get("/readyz")
    text = client.get("/metrics").text
    assert secret_id not in text
    reqs = samples(text, "ehub_hub_http_requests_total")
    routes = {(s["route"], s["status"]) for s, _ in reqs}
    assert ("/api/v1/devices/{device_id}", "401") in routes
    assert ("/readyz", "200") in routes
    assert samples(text, "ehub_hub_http_request_duration_seconds_count")
    # State read at scrape time: the pool, open alerts (none yet), SSE clients, the DB.
    assert samples(text, "ehub_hub_db_up") == [({}, 1.0)]
    assert samples(text, "ehub_hub_db_pool_max_connections") == [({}, 10.0)]
    assert {s["stream"] for s, _ in samples(text, "ehub_hub_sse_clients")} == {"live", "alerts"}
    assert samples(text, "ehub_hub_live_index_devices")


def test_open_alerts_by_kind(client: TestClient, db_url: str) -> None:
    register(db_url, ("cam-o1", "body_camera"), ("cam-o2", "body_camera"))
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO alerts (device_id, kind, severity, state, opened_at, last_seen_at) VALUES"
            " ('cam-o1', 'battery_low', 'warning', 'active', now(), now()),"
            " ('cam-o2', 'battery_low', 'warning', 'acked', now(), now()),"
            " ('cam-o2', 'offline', 'warning', 'resolved', now(), now())"
        )
    text = client.get("/metrics").text
    assert samples(text, "ehub_hub_open_alerts") == [({"kind": "battery_low"}, 2.0)]


def test_loops_report_runs_errors_and_last_success() -> None:
    """hub.periodic.every reports to the metrics its context carries (set by the lifespan)."""
    from hub.metrics import LOOP_METRICS, HubMetrics
    from hub.periodic import every

    m = HubMetrics()
    calls = 0

    async def cycle() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")
        if calls == 3:
            stop.set()

    stop = asyncio.Event()

    async def main() -> None:
        LOOP_METRICS.set(m)
        await asyncio.create_task(every("test", 0.01, stop, cycle))

    asyncio.run(main())
    assert m.loop_runs.labels("test")._value.get() == 3
    assert m.loop_errors.labels("test")._value.get() == 1
    assert m.loop_last_success.labels("test")._value.get() > 0


@pytest.fixture()
def worker_with_probes(
    db_url: str, mqtt_url: str, service_mqtt_url: Callable[[str], str]
) -> Iterator[tuple[HubWorker, int]]:
    port = free_port()
    worker = HubWorker(
        HubSettings(
            mqtt_url=service_mqtt_url("ehub-hub-worker"),
            database_url=db_url,
            hub_worker_client_id=f"hubw-{uuid.uuid4().hex[:8]}",
            hub_worker_session_expiry_s=120,
            hub_worker_metrics_port=port,
        )
    )
    ready = threading.Event()
    t = threading.Thread(target=worker.run, kwargs={"ready": ready}, daemon=True)
    t.start()
    assert ready.wait(20)
    yield worker, port
    worker.request_stop()
    t.join(15)
    drop_session(mqtt_url, worker.settings.hub_worker_client_id)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_worker_metrics_events_pairings_print_jobs_and_readiness(
    db_url: str, publisher, worker_with_probes
) -> None:
    worker, port = worker_with_probes
    base = f"http://127.0.0.1:{port}"
    assert _get(f"{base}/readyz")[0] == 200
    assert _get(f"{base}/livez")[0] == 200
    register(db_url, ("term-m1", "mobile_terminal"), ("prn-m1", "bt_printer"))
    hand_out(db_url, ("term-m1", "SZ-M"))
    pair(publisher, "term-m1", 1, "prn-m1", "SZ-M")  # accepted
    pair(publisher, "term-m1", 2, "prn-zz", "SZ-M")  # not in the inventory: refused
    topic = ev("mobile_terminal", "term-m1")
    publisher.publish(topic, msg(3, T0, event="print_queued", job_id="j1", printer_id="prn-m1"))
    publisher.publish(
        ev("mobile_terminal", "term-unknown"), msg(1, T0, event="print_queued", job_id="x")
    )
    results = "ehub/v1/mobile_terminal/term-m1/cmd_result"
    publisher.publish(results, msg(4, T0, cmd_id="pair-term-m1-1", status="done", detail="ok"))

    def scraped() -> str | None:
        text = _get(f"{base}/metrics")[1]
        done = sum(v for _, v in samples(text, "ehub_hub_worker_events_total"))
        return text if done >= 5 else None

    text = wait_until(scraped)
    events = {
        (s["kind"], s["outcome"]): v for s, v in samples(text, "ehub_hub_worker_events_total")
    }
    assert events[("printer_paired", "handled")] == 2
    assert events[("print_queued", "handled")] == 1
    assert events[("print_queued", "refused")] == 1  # a device not in the registry
    assert events[("cmd_result", "handled")] == 1
    assert samples(text, "ehub_hub_worker_command_results_total") == [({"status": "done"}, 1.0)]
    pairings = {s["outcome"]: v for s, v in samples(text, "ehub_hub_worker_pairings_total")}
    assert pairings == {"accepted": 1.0, "refused": 1.0}
    assert samples(text, "ehub_hub_worker_print_job_events_total") == [
        ({"event": "print_queued"}, 1.0)
    ]
    assert samples(text, "ehub_hub_worker_commands_published_total") == [({}, 2.0)]
    assert samples(text, "ehub_hub_worker_event_lag_seconds_count") == [({}, 4.0)]
    assert "term-m1" not in text and "prn-m1" not in text  # never a device id as a label
    # Not subscribed any more: not ready, and says why.
    worker.client.disconnect()
    _code, body = wait_until(lambda: (r := _get(f"{base}/readyz"))[0] == 503 and r)
    assert "MQTT not connected" in body
