"""Migration 013 against real TimescaleDB: devices retired or lost before it get retired_at
(audited), and registry changes are announced on ``ehub_registry`` when they commit."""

from __future__ import annotations

import os

import psycopg

from schemas.db import migration_files


def test_013_backfills_retired_at_for_devices_already_retired_or_lost_and_audits_it(services):
    admin = services.database_url
    name = f"ehub_m013_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            for file, sql in migration_files():
                if file.startswith("013"):
                    conn.execute(
                        "INSERT INTO devices (device_id, device_type, status) VALUES"
                        " ('cam-old1', 'body_camera', 'lost'), ('cam-old2', 'body_camera',"
                        " 'retired'), ('cam-old3', 'body_camera', 'in_stock')"
                    )
                conn.execute(sql.encode())
            rows = conn.execute(
                "SELECT device_id, retired_at IS NOT NULL FROM devices ORDER BY 1"
            ).fetchall()
            assert rows == [("cam-old1", True), ("cam-old2", True), ("cam-old3", False)]
            audit = conn.execute(
                "SELECT actor, action, entity_id FROM audit_log ORDER BY entity_id"
            ).fetchall()
            assert audit == [
                ("migration:013", "device.retired_at.backfill", "cam-old1"),
                ("migration:013", "device.retired_at.backfill", "cam-old2"),
            ]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_retire_and_terminal_changes_notify_on_commit_and_a_rollback_notifies_nobody(db_url):
    with psycopg.connect(db_url, autocommit=True) as listener, psycopg.connect(db_url) as conn:
        listener.execute("LISTEN ehub_registry")
        conn.execute(
            "INSERT INTO devices (device_id, device_type) VALUES ('trk-n1', 'vehicle_tracker'),"
            " ('cam-n1', 'body_camera')"
        )
        conn.commit()
        conn.execute("UPDATE devices SET model = 'x' WHERE device_id = 'trk-n1'")  # irrelevant
        conn.commit()
        conn.execute("UPDATE devices SET retired_at = now() WHERE device_id = 'cam-n1'")
        conn.rollback()  # nobody hears of it
        conn.execute("UPDATE devices SET retired_at = now() WHERE device_id = 'cam-n1'")
        conn.commit()
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone) VALUES ('trk-n1', %s)", ("0" * 12,)
        )
        conn.commit()
        got = [n.payload for n in listener.notifies(timeout=2.0)]
    assert sorted(got) == ["cam-n1", "trk-n1"]
