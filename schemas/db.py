"""Apply the SQL migrations in ``schemas/sql`` and detect what the TimescaleDB build offers.

Migrations are plain SQL files applied once each, in name order, inside one transaction per
file, recorded in ``schema_migrations``. Time-series tables become hypertables when the
extension is available; without it the same tables stay plain and every query still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

# table -> chunk interval. One day keeps a chunk of a busy fleet's positions in memory.
HYPERTABLES: dict[str, str] = {
    "device_status": "1 day",
    "positions": "1 day",
    "device_events": "7 days",
    "dead_letters": "7 days",
    "presence_events": "7 days",
}
TIME_COLUMN = {"dead_letters": "received_at"}


@dataclass(frozen=True)
class DbFeatures:
    """What this database offers: None/"apache"/"timescale" for the TimescaleDB license."""

    timescaledb_version: str | None
    license: str | None

    @property
    def hypertables(self) -> bool:
        return self.timescaledb_version is not None

    @property
    def continuous_aggregates(self) -> bool:
        # The Apache build lacks continuous aggregates, compression and retention policies.
        return self.license == "timescale"


def detect_features(conn: psycopg.Connection[tuple[object, ...]]) -> DbFeatures:
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        return DbFeatures(None, None)
    lic = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()
    return DbFeatures(str(row[0]), str(lic[0]) if lic and lic[0] else None)


def _try_enable_timescaledb(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if available is None:
        return
    # Installed but not preloaded: CREATE EXTENSION would end the session with a FATAL (not an
    # error the transaction below could catch), so ask first and run as plain PostgreSQL.
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    if preload is None or "timescaledb" not in str(preload[0]):
        return
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error:
        # Installed but not preloaded (shared_preload_libraries): run as plain PostgreSQL.
        pass


def migration_files() -> list[tuple[str, str]]:
    folder = Path(__file__).with_name("sql")
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.glob("*.sql"))


def migrate(conninfo: str) -> DbFeatures:
    """Bring the database at ``conninfo`` to the newest schema; safe to run concurrently."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # One migrator at a time (several gateways may start together).
        conn.execute("SELECT pg_advisory_lock(4242001)")
        try:
            _try_enable_timescaledb(conn)
            features = detect_features(conn)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for name, sql in migration_files():
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    if features.hypertables:
                        _make_hypertables(conn)
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            return features
        finally:
            conn.execute("SELECT pg_advisory_unlock(4242001)")


def _make_hypertables(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for table, interval in HYPERTABLES.items():
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if exists is None or exists[0] is None:
            continue
        conn.execute(
            "SELECT create_hypertable(%s, %s, chunk_time_interval => %s::interval,"
            " if_not_exists => true)",
            (table, TIME_COLUMN.get(table, "time"), interval),
        )
