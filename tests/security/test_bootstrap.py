"""`ehub broker init` writes the plugin's file offline: its password hashes must be exactly
what Mosquitto's own tool writes (the vector comes from the real `mosquitto_ctrl`), and a
broker started on it must take the service accounts and refuse everyone else."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from ehub.pgcluster import free_port, wait_for_port
from hub.broker import dynsec
from hub.broker.bootstrap import hash_password, init
from schemas.broker import MqttEndpoint

pytestmark = pytest.mark.integration


def test_password_hash_matches_what_mosquitto_ctrl_writes(tmp_path):
    f = tmp_path / "dynsec.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(f), "admin", "correct horse"],
        check=True,
        capture_output=True,
    )
    [client] = json.loads(f.read_text())["clients"]
    ours = hash_password("correct horse", salt=base64.b64decode(client["salt"]))
    assert ours["iterations"] == client["iterations"]
    assert ours["password"] == client["password"]


def test_a_broker_started_on_the_init_file_is_locked_down_from_the_first_second(tmp_path):
    made = init(tmp_path / "data" / "dynsec.json", tmp_path / "secrets")
    assert "ehub-hub" in made and "ehub-admin" in made
    assert init(tmp_path / "data" / "dynsec.json", tmp_path / "secrets") == []  # never again
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
        f"plugin_opt_config_file {tmp_path}/data/dynsec.json\nuser root\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, 10)
        pw = (tmp_path / "secrets" / "ehub-hub").read_text().strip()
        [r] = dynsec.run(
            MqttEndpoint("127.0.0.1", port, "ehub-hub", pw), [{"command": "listRoles"}]
        )
        assert "ehub-gateway" in r["data"]["roles"]
        with pytest.raises(dynsec.BrokerUnreachable, match="connect refused"):
            dynsec.run(
                MqttEndpoint("127.0.0.1", port, "ehub-hub", "wrong"), [{"command": "listRoles"}]
            )
        with pytest.raises(dynsec.BrokerUnreachable, match="connect refused"):
            dynsec.run(MqttEndpoint("127.0.0.1", port), [{"command": "listRoles"}])
    finally:
        proc.terminate()
        proc.wait(10)
