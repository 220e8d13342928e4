"""Schemathesis against the running hub (uvicorn, real TimescaleDB): whatever it generates from
the OpenAPI document, valid or not, no request may end in a 5xx."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from ehub.pgcluster import free_port
from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city

pytestmark = pytest.mark.integration


def test_generated_requests_never_get_a_server_error(db_url, tmp_path):
    settings = HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
        hub_log_signing_key="B" * 43 + "=",  # 32 bytes: the public /transparency API answers
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "hub did not start"
            time.sleep(0.05)
        seed_city(db_url)
        import httpx

        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "city-admin", "password": PASSWORD},
        ).json()["access_token"]
        cli = Path(sys.executable).with_name("schemathesis")
        run = subprocess.run(
            [
                str(cli),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error",
                "--phases",
                # Not "coverage": its schema walk trips a CPython 3.11.7 bug inside Hypothesis
                # ("SystemError: AST constructor recursion depth mismatch", seen in a fresh-
                # clone run), which fails the run without any finding about the hub.
                "examples,fuzzing",
                "--max-examples",
                "5",
                "--seed",
                "808",
                "--workers",
                "2",
                "--exclude-path-regex",
                "stream$",  # server-sent events never end
                "--max-time",
                "60",
                "--warnings",
                "off",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,  # the exit code is asserted below, with the report
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        assert "No issues found" in run.stdout, run.stdout[-3000:]
    finally:
        server.should_exit = True
        thread.join(15)
