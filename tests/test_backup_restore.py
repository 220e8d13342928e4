"""Backup and restore as README "Production" tells it: ``pg_dump -Fc`` of a running system, a
fresh database with TimescaleDB's pre/post restore around ``pg_restore``, then the hub starts
on it and ``ehub cases verify`` passes. PostgreSQL 17's own client tools from the harness's
root (the host's are older), as ``docker compose exec timescaledb`` would run them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ehub.services import PG_BINDIR, Services
from hub.api.app import create_app
from hub.transparency import store
from schemas.db import migrate
from tests.factories.hub import seed_city
from tests.helpers import RunningHub, query, wait_until
from tests.hub.test_usage import H, T, known_day, refresh
from tests.hub.transparency.helpers import ORIGIN, SEED, evidence, settings

pytestmark = pytest.mark.integration

TABLES = (
    *("positions", "device_events", "device_status", "presence_events", "audit_log"),
    *("usage_hourly", "tlog_leaves", "tlog_checkpoints", "schema_migrations", "users"),
)


def pg_tool(services: Services, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL 17 client tool inside the harness's root (paths are the root's)."""
    argv = [f"{PG_BINDIR}/{tool}", "-h", "127.0.0.1", "-p", str(services.pg_port), "-U", "postgres"]
    return subprocess.run(
        ["chroot", services.tsdb_root, *argv, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def counts(db_url: str) -> dict[str, int]:
    return {t: query(db_url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def _append_leaves(db_url: str, n: int) -> None:
    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            for i in range(n):
                async with conn.transaction():
                    await store.append(conn, evidence(i))

    asyncio.run(go())


def test_dump_of_a_running_system_restores_and_the_hub_starts_and_verifies(
    db_url: str, services: Services
) -> None:
    seed_city(db_url)
    known_day(db_url)
    refresh(db_url, known_day_end())
    hub_settings = settings(
        db_url,
        hub_broker_provisioning=False,
        hub_log_sequence_interval_s=0.2,
        hub_log_checkpoint_interval_s=0.5,
    )
    hub = RunningHub(hub_settings)
    restored = f"ehub_restored_{uuid.uuid4().hex[:8]}"
    dump = f"/tmp/{restored}.dump"  # inside the root
    try:
        _append_leaves(db_url, 25)
        wait_until(lambda: query(db_url, "SELECT count(*) FROM tlog_leaves")[0][0] == 25, 30)
        wait_until(lambda: query(db_url, "SELECT max(size) FROM tlog_checkpoints")[0][0] == 25, 30)
        # The dump, with the hub and its loops writing. What it must hold is counted in the
        # very snapshot it reads (exported from this transaction, given to pg_dump).
        name = db_url.rsplit("/", 1)[1]
        with psycopg.connect(db_url) as snap:
            snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            snapshot = snap.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
            before = {t: snap.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
            t0 = time.monotonic()
            out = pg_tool(services, "pg_dump", "-Fc", f"--snapshot={snapshot}", "-f", dump, name)
            assert out.returncode == 0, out.stderr
            dump_s = time.monotonic() - t0
    finally:
        hub.stop()

    admin = services.database_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {restored}")
    restored_url = admin.rsplit("/", 1)[0] + f"/{restored}"
    try:
        with psycopg.connect(restored_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION timescaledb")
            conn.execute("SELECT timescaledb_pre_restore()")
        t0 = time.monotonic()
        out = pg_tool(services, "pg_restore", "-d", restored, dump)
        restore_s = time.monotonic() - t0
        assert out.returncode == 0, out.stderr
        with psycopg.connect(restored_url, autocommit=True) as conn:
            conn.execute("SELECT timescaledb_post_restore()")
        print(f"\nbackup: pg_dump {dump_s:.2f} s, pg_restore {restore_s:.2f} s, "
              f"{Path(services.tsdb_root + dump).stat().st_size / 1024:.0f} KiB")  # fmt: skip

        assert counts(restored_url) == before
        hypertables = query(
            restored_url, "SELECT count(*) FROM timescaledb_information.hypertables"
        )[0][0]
        assert hypertables == 5
        migrate(restored_url)  # nothing to do, and no error
        assert counts(restored_url)["schema_migrations"] == before["schema_migrations"]

        # The hub starts on the restored database and is ready.
        with TestClient(create_app(settings(restored_url, hub_broker_provisioning=False))) as c:
            r = c.get("/readyz")
            assert r.status_code == 200, r.text
            assert c.get("/transparency/checkpoint").status_code == 200

        env: dict[str, Any] = {
            **os.environ,
            "EHUB_HUB_LOG_SIGNING_KEY": SEED,
            "EHUB_HUB_LOG_ORIGIN": ORIGIN,
        }
        verify = subprocess.run(
            [
                str(Path(sys.executable).with_name("ehub")),
                "cases",
                "verify",
                "--database",
                restored_url,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "PROBLEM" not in verify.stdout
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {restored} WITH (FORCE)")
        Path(services.tsdb_root + dump).unlink(missing_ok=True)


def known_day_end() -> Any:
    return T + 48 * H
