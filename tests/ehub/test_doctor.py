"""``ehub doctor`` on the real database and broker: a healthy deployment passes, and each kind
of fault is found and said in plain words (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from ehub import doctor
from ehub.services import Services
from hub.broker import dynsec
from schemas.broker import SERVICE_ROLES, MqttEndpoint
from schemas.ops import serve_probes

pytestmark = pytest.mark.integration


def levels(findings: list[doctor.Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.check, set()).add(f.level)
    return out


def test_a_healthy_deployment_passes_every_check(
    db_url: str, service_mqtt_url: Callable[[str], str], tmp_path: Path
) -> None:
    hub = service_mqtt_url("ehub-hub")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ehub")), "doctor", "--disk", str(tmp_path)],
        env={**os.environ, "EHUB_DATABASE_URL": db_url, "EHUB_MQTT_URL": hub},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for check in (
        "database",
        "migrations",
        "timescaledb",
        "clock",
        "broker",
        "broker ACLs",
        "disk",
    ):
        assert any(line.startswith("OK") and f" {check}:" in line for line in lines), check
    assert "doctor: 0 problem(s)" in lines[-1]


def test_unmigrated_and_partly_migrated_databases(services: Services, db_url: str) -> None:
    admin = services.database_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS doctor_empty WITH (FORCE)")
        conn.execute("CREATE DATABASE doctor_empty")
    try:
        empty = admin.rsplit("/", 1)[0] + "/doctor_empty"
        (f,) = [f for f in doctor.check_database(empty) if f.check == "migrations"]
        assert f.level == "problem" and "never migrated: run `ehub migrate`" in f.text
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS doctor_empty WITH (FORCE)")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name = '007_usage.sql'")
    (f,) = [f for f in doctor.check_database(db_url) if f.check == "migrations"]
    assert f.level == "problem" and "1 not applied (007_usage.sql)" in f.text


def test_database_down_and_clock_skew(db_url: str) -> None:
    (f,) = doctor.check_database("postgresql://postgres@127.0.0.1:1/none")
    assert f.level == "problem" and "cannot connect" in f.text
    skewed = doctor.check_database(db_url, now=time.time() - 30)  # this machine 30 s behind
    (clock,) = [f for f in skewed if f.check == "clock"]
    assert clock.level == "problem" and "+30" in clock.text and "NTP" in clock.text


def test_broker_refusing_the_account(service_mqtt_url: Callable[[str], str]) -> None:
    ep = MqttEndpoint.parse(service_mqtt_url("ehub-hub"))
    wrong = ep.with_credentials("ehub-hub", "not-the-password")
    url = f"mqtt://ehub-hub:not-the-password@{wrong.host}:{wrong.port}"
    (f,) = doctor.check_broker(url, timeout_s=3)
    assert f.level == "problem" and "account ehub-hub" in f.text


def test_acls_that_drifted_are_named(service_mqtt_url: Callable[[str], str]) -> None:
    """The real broker's answers, then one role with an ACL gone and one added."""
    ep = MqttEndpoint.parse(service_mqtt_url("ehub-hub"))
    services = [n for n in SERVICE_ROLES if not n.endswith("-subscriber")]
    commands = [{"command": "getDefaultACLAccess"}]
    commands += [{"command": "getRole", "rolename": n} for n in SERVICE_ROLES]
    commands += [{"command": "getClient", "username": n} for n in services]
    responses = dynsec.run(ep, commands)
    assert [f.level for f in doctor.compare_acls(responses, services)] == ["ok"]
    gw = next(i for i, n in enumerate(SERVICE_ROLES, start=1) if n == "ehub-gateway")
    acls = responses[gw]["data"]["role"]["acls"]
    removed = acls.pop(0)
    acls.append({"acltype": "publishClientSend", "topic": "ehub/v1/#", "allow": True})
    responses[0]["data"]["acls"] = [{"acltype": "subscribe", "allow": True}]
    found = doctor.compare_acls(responses, services)
    texts = " | ".join(f.text for f in found if f.level == "problem")
    assert f"missing allow {removed['acltype']} {removed['topic']}" in texts
    assert "extra allow publishClientSend ehub/v1/#" in texts
    assert "default access allows subscribe" in texts


def test_disk_thresholds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    usage = namedtuple("usage", "total used free")
    for free, level in ((50, "ok"), (5, "warn"), (1, "problem")):
        monkeypatch.setattr(doctor.shutil, "disk_usage", lambda _p, f=free: usage(100, 100 - f, f))
        (f,) = doctor.check_disk([tmp_path])
        assert f.level == level, (free, f)


def test_probes_say_why_a_process_is_not_ready() -> None:
    reason: list[str | None] = ["MQTT not connected and subscribed"]
    server = serve_probes(CollectorRegistry(), 0, "127.0.0.1", lambda: reason[0])
    try:
        url = f"http://127.0.0.1:{server.port}/readyz"
        (f,) = doctor.check_probes([url])
        assert f.level == "problem" and "503 not ready: MQTT not connected" in f.text
        reason[0] = None
        (f,) = doctor.check_probes([url])
        assert f.level == "ok"
    finally:
        server.stop()
