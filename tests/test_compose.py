"""docker-compose.yml is valid YAML whose services run real commands with real settings.

No Docker engine runs here, so ``docker compose config`` cannot; this checks what it would
need: the files it mounts exist, every ``ehub`` command parses with our CLI, and every
``EHUB_*`` variable it sets is a setting the gateway reads.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from ehub.cli import build_parser
from gateway.settings import GatewaySettings
from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_has_the_production_services(compose):
    assert {
        "mosquitto",
        "timescaledb",
        "gateway",
        "hub-worker",
        "simulator",
        "prometheus",
        "grafana",
    } <= set(compose["services"])
    assert compose["services"]["timescaledb"]["image"].startswith("timescale/timescaledb:")


def test_mounted_files_exist(compose):
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"{name} mounts missing {src}"


def test_commands_are_our_console_script_and_parse(compose):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    parser = build_parser()
    built = [s for s in compose["services"].values() if "build" in s]
    assert built
    for svc in built:
        cmd = svc["command"]
        argv = cmd if isinstance(cmd, list) else shlex.split(cmd)
        assert argv[0] in scripts
        parser.parse_args(argv[1:])  # SystemExit if a flag or subcommand does not exist


@pytest.mark.parametrize(
    ("service", "settings"), [("gateway", GatewaySettings), ("hub-worker", HubSettings)]
)
def test_environment_names_real_settings(compose, service, settings):
    fields = {f"EHUB_{name.upper()}" for name in settings.model_fields}
    env = compose["services"][service]["environment"]
    for key in env:
        assert key in fields, f"{key} is not a {service} setting"


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
