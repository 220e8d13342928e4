"""Telemetry retention on every database build the tests can start: TimescaleDB's Apache build
(the harness's, ``drop_chunks``) and plain PostgreSQL (a second cluster without the extension
preloaded, ``DELETE`` in batches). The community build's policies are planned (pure test) but
cannot run here: Debian's package has no TSL library.

Each run checks that the usage rollup's figures are unchanged after the raw rows are gone, and
that no evidence, case, transparency-log or audit table is ever touched."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError

from ehub.pgcluster import PgCluster, free_port
from ehub.services import PG_BINDIR, Services
from hub import retention
from hub.domain import retention as rules
from hub.settings import HubSettings
from schemas.db import DbFeatures, migrate
from tests.factories.hub import seed_city
from tests.helpers import query
from tests.hub.test_usage import known_day, refresh

pytestmark = pytest.mark.integration

T = datetime.fromisoformat("2025-03-10T00:00:00+08:00")  # known_day's day
DAY = timedelta(days=1)
# The tables the brief names as never to be touched, by their names' shape.
PROTECTED_NAME = re.compile(r"evidence|^case_|^cases$|^tlog_|audit")


def _tables(db_url: str) -> list[str]:
    rows = query(db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return sorted(r[0] for r in rows)


def _protected(db_url: str) -> list[str]:
    return [t for t in _tables(db_url) if PROTECTED_NAME.search(t)]


def _apply(db_url: str, now: datetime, days: dict[str, int]) -> dict[str, int]:
    async def run() -> dict[str, int]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await retention.apply(conn, now, days)

    return asyncio.run(run())


def _usage(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT device_id, bucket, recording_s, km, engine_s, pages, online_s FROM usage_hourly"
        " WHERE bucket >= %s AND bucket < %s ORDER BY device_id, bucket",
        T,
        T + DAY,
    )


def _seed_protected(db_url: str) -> None:
    """Old rows in an evidence table and the audit log, far older than any cutoff."""
    old = T - 400 * DAY
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id)"
            " VALUES (%s, 'test', 'device.create', 'device', 'cam-a1')",
            (old,),
        )
        conn.execute(
            "INSERT INTO evidence_files (dock_id, seq, received_at, camera_id, file_id,"
            " started_at, ended_at, size_bytes, media_type, sha256, registered_sha256,"
            " integrity, storage_uri, offload_resumed, manifest) VALUES ('dock-1', 1, %s,"
            " 'cam-a1', 'f1', %s, %s, 10, 'video/mp4', 'x', 'x', 'ok', 's3://x', false, '{}')",
            (old, old, old),
        )


def _counts(db_url: str, tables: list[str]) -> dict[str, int]:
    return {t: query(db_url, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def _raw_day_rows(db_url: str) -> dict[str, int]:
    return {
        t: query(db_url, f"SELECT count(*) FROM {t} WHERE time >= %s AND time < %s", T, T + DAY)[0][
            0
        ]
        for t in ("positions", "device_events", "presence_events")
    }


KEEP = dict.fromkeys(rules.RETAINABLE, rules.MIN_DAYS)


def _retention_keeps_usage_and_protected(db_url: str, *, expect_how: str) -> dict[str, int]:
    seed_city(db_url)
    known_day(db_url)
    _seed_protected(db_url)
    protected = _protected(db_url)
    before = _counts(db_url, protected)
    # The rollup reads everything up to a month later; its figures for the day are the truth.
    refresh(db_url, T + 30 * DAY)
    usage = _usage(db_url)
    assert usage and any(r[3] > 0 for r in usage) and any(r[2] > 0 for r in usage)
    assert all(n > 0 for n in _raw_day_rows(db_url).values())

    # Long after: the cutoff is min(now - 8 days, watermark - 1 day) = T + 29 days.
    removed = _apply(db_url, T + 60 * DAY, KEEP)
    assert set(removed) == set(rules.RETAINABLE)
    assert removed["positions"] > 0 and removed["device_events"] > 0
    assert _raw_day_rows(db_url) == {"positions": 0, "device_events": 0, "presence_events": 0}

    refresh(db_url, T + 31 * DAY)  # the rollup goes on, raw data gone
    assert _usage(db_url) == usage
    assert _counts(db_url, protected) == before  # evidence, cases, log, audit: untouched
    assert {s.how for s in rules.plan(_features(db_url), {}, {})} == {expect_how}
    return removed


def _features(db_url: str) -> DbFeatures:
    from schemas.db import detect_features

    with psycopg.connect(db_url) as conn:
        return detect_features(conn)


def test_apache_build_drops_old_chunks_and_usage_figures_stay(db_url: str) -> None:
    assert _features(db_url).license == "apache"
    _retention_keeps_usage_and_protected(db_url, expect_how="drop_chunks")


@pytest.fixture(scope="module")
def plain_pg(services: Services) -> Iterator[str]:
    """A second PostgreSQL 17 from the same root, without TimescaleDB preloaded: what
    ``migrate`` sees as plain PostgreSQL."""
    port = free_port()
    cluster = PgCluster(
        bindir=PG_BINDIR,
        datadir=f"/srv/ehub-plain-{port}",
        port=port,
        root=Path(services.tsdb_root),
        settings={"fsync": "off"},
    )
    cluster.initdb()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture()
def plain_db(plain_pg: str) -> str:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ehub_plain WITH (FORCE)")
        conn.execute("CREATE DATABASE ehub_plain")
    url = plain_pg.rsplit("/", 1)[0] + "/ehub_plain"
    assert migrate(url) == DbFeatures(None, None)
    return url


def test_plain_postgresql_deletes_in_batches_and_usage_figures_stay(
    plain_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 7)  # many batches for the day's ~80 rows
    removed = _retention_keeps_usage_and_protected(plain_db, expect_how="delete")
    assert removed["positions"] > 7  # went through several batches


def test_retention_waits_for_the_rollup(db_url: str) -> None:
    """Nothing goes before the usage rollup has read it, however old."""
    seed_city(db_url)
    known_day(db_url)
    rows = _raw_day_rows(db_url)
    assert _apply(db_url, T + 400 * DAY, KEEP)["positions"] == 0  # the rollup never ran
    refresh(db_url, T + DAY / 2)  # read only half the day
    _apply(db_url, T + 400 * DAY, KEEP)
    assert _raw_day_rows(db_url) == rows


def test_no_setting_can_name_a_protected_table(db_url: str) -> None:
    protected = _protected(db_url)
    # The schema has each kind the rule protects (cases tables arrive with other branches).
    assert {"audit_log", "evidence_files", "tlog_leaves"} <= set(protected)
    assert any(t.startswith("case_") for t in protected)
    assert not set(protected) & set(rules.RETAINABLE)
    for table in protected:
        for field in ("hub_retention_days", "hub_compress_after_days"):
            with pytest.raises(ValidationError, match="never touches"):
                HubSettings(**{field: {table: 30}})
        with pytest.raises(rules.RetentionError):
            rules.check_table(table)
    # Nor anything else that is not telemetry, nor too short a retention.
    with pytest.raises(ValidationError, match="only to the telemetry tables"):
        HubSettings(hub_retention_days={"devices": 30})
    with pytest.raises(ValidationError, match="below the minimum"):
        HubSettings(hub_retention_days={"positions": 3})
    assert HubSettings(hub_retention_days={"positions": 30}).hub_retention_days == {"positions": 30}


def test_plan_per_build_and_cutoff() -> None:
    tsl = rules.plan(DbFeatures("2.19.3", "timescale"), {"positions": 30}, {"positions": 7})
    by_table = {s.table: s for s in tsl}
    assert by_table["positions"] == rules.Step("positions", "policy", 30, 7)
    assert by_table["dead_letters"] == rules.Step("dead_letters", "policy", 30, None)
    assert {s.how for s in rules.plan(DbFeatures("2.19.3", "apache"), {}, {})} == {"drop_chunks"}
    assert {s.how for s in rules.plan(DbFeatures(None, None), {}, {})} == {"delete"}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.cutoff(now, 10, now) == now - 10 * DAY
    assert rules.cutoff(now, 10, now - 30 * DAY) == now - 31 * DAY
    assert rules.cutoff(now, 10, None) == datetime.min.replace(tzinfo=UTC)
