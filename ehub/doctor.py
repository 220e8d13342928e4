"""``ehub doctor``: check a deployment and say what is wrong in plain words.

Each check returns ``Finding``s: ``ok``, ``warn`` (works, but look at it) or ``problem``
(something does not work, or will not). The command prints one line per finding and exits 1
if any is a problem, so it fits a cron job or a deployment pipeline as well as a person.

Checks: the database answers and has every migration; TimescaleDB's build (hypertables,
licence, so which retention path the hub takes); the clock of this machine against the
database's; the disk where the database keeps its data (when on this machine) and the given
paths; the broker accepts the service account of ``EHUB_MQTT_URL`` and its dynamic-security
roles and service accounts are what ``schemas.broker`` says; and any ``--probe`` URL (a
process's ``/readyz``) answers 200.
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from hub.broker import dynsec
from schemas.broker import SERVICE_ROLES, Acl, MqttEndpoint
from schemas.db import HYPERTABLES, detect_features, migration_files

MAX_SKEW_S = 2.0  # tokens, checkpoints and the rollup's watermark all compare times
DISK_WARN = 0.10  # free share of a filesystem below which doctor warns
DISK_PROBLEM = 0.03


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # ok | warn | problem
    check: str
    text: str

    def line(self) -> str:
        return f"{self.level.upper():<8}{self.check}: {self.text}"


def ok(check: str, text: str) -> Finding:
    return Finding("ok", check, text)


def warn(check: str, text: str) -> Finding:
    return Finding("warn", check, text)


def problem(check: str, text: str) -> Finding:
    return Finding("problem", check, text)


# -- database ---------------------------------------------------------------------------------
def check_database(conninfo: str, *, now: float | None = None) -> list[Finding]:
    try:
        conn = psycopg.connect(conninfo, connect_timeout=5, autocommit=True)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return [problem("database", f"cannot connect ({first}); is it running, is the URL right?")]
    out: list[Finding] = []
    with conn:
        version = conn.execute("SHOW server_version").fetchone()
        out.append(ok("database", f"reachable, PostgreSQL {version[0] if version else '?'}"))
        out += _migrations(conn)
        out += _timescaledb(conn)
        out += _clock(conn, now if now is not None else time.time())
        out += _db_disk(conn)
    return out


def _migrations(conn: psycopg.Connection[Any]) -> list[Finding]:
    table = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if table is None or table[0] is None:
        return [problem("migrations", "the database was never migrated: run `ehub migrate`")]
    done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    missing = [name for name, _sql in migration_files() if name not in done]
    if missing:
        return [
            problem(
                "migrations",
                f"{len(missing)} not applied ({', '.join(missing)}): run `ehub migrate` (the"
                " hub, gateway and worker also migrate when they start)",
            )
        ]
    unknown = sorted(done - {name for name, _ in migration_files()})
    if unknown:
        return [
            warn(
                "migrations",
                f"the database has migrations this version does not know ({', '.join(unknown)}):"
                " a newer EnforceHub migrated it",
            )
        ]
    return [ok("migrations", f"all {len(done)} applied")]


def _timescaledb(conn: psycopg.Connection[Any]) -> list[Finding]:
    f = detect_features(conn)
    if not f.hypertables:
        return [
            warn(
                "timescaledb",
                "not installed in this database: plain PostgreSQL works, but telemetry tables"
                " are not partitioned and retention deletes row by row in batches",
            )
        ]
    rows = conn.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables"
        " WHERE hypertable_schema = 'public'"
    ).fetchall()
    have = {r[0] for r in rows}
    missing = sorted(set(HYPERTABLES) - have)
    how = {
        "timescale": "community licence: retention and compression by TimescaleDB's policies",
        "apache": "Apache licence: no policies or compression; the hub drops old chunks itself",
    }.get(f.license or "", f"licence {f.license!r}: treated as Apache")
    out = [ok("timescaledb", f"{f.timescaledb_version}, {how}")]
    if missing:
        out.append(problem("timescaledb", f"not hypertables: {', '.join(missing)}"))
    return out


def _clock(conn: psycopg.Connection[Any], now: float) -> list[Finding]:
    row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    skew = float(row[0]) - now if row else 0.0
    text = f"this machine and the database differ by {skew:+.2f} s"
    if abs(skew) > MAX_SKEW_S:
        return [problem("clock", f"{text} (more than {MAX_SKEW_S:g} s): check NTP on both")]
    return [ok("clock", text)]


def _db_disk(conn: psycopg.Connection[Any]) -> list[Finding]:
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    out = [ok("database size", f"{(size[0] if size else 0) / 2**20:.0f} MiB")]
    try:
        datadir = conn.execute("SHOW data_directory").fetchone()
    except psycopg.Error:  # not a superuser: the data directory is not ours to see
        return out
    if datadir and Path(str(datadir[0])).exists():
        out += check_disk([Path(str(datadir[0]))], label="database disk")
    return out


# -- disk ---------------------------------------------------------------------------------------
def check_disk(paths: Iterable[Path], *, label: str = "disk") -> list[Finding]:
    out = []
    for path in paths:
        try:
            usage = shutil.disk_usage(path)
        except OSError as e:
            out.append(problem(label, f"{path}: {e.strerror or e}"))
            continue
        free = usage.free / usage.total if usage.total else 0.0
        text = (
            f"{path}: {usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} ({free:.0%})"
        )
        if free < DISK_PROBLEM:
            out.append(problem(label, f"{text}: nearly full, writes will fail"))
        elif free < DISK_WARN:
            out.append(warn(label, f"{text}: running low"))
        else:
            out.append(ok(label, text))
    return out


# -- broker -------------------------------------------------------------------------------------
def check_broker(mqtt_url: str, *, timeout_s: float = 10.0) -> list[Finding]:
    ep = MqttEndpoint.parse(mqtt_url)
    who = ep.username or "anonymous"
    commands: list[dict[str, Any]] = [{"command": "getDefaultACLAccess"}]
    services = [n for n in SERVICE_ROLES if not n.endswith("-subscriber")]
    commands += [{"command": "getRole", "rolename": n} for n in SERVICE_ROLES]
    commands += [{"command": "getClient", "username": n} for n in services]
    try:
        responses = dynsec.run(ep, commands, timeout_s=timeout_s)
    except dynsec.BrokerRefused as e:
        return [problem("broker", f"the dynamic-security plugin refused {e.command}: {e.error}")]
    except dynsec.BrokerUnreachable as e:
        return [
            problem(
                "broker",
                f"{ep.host}:{ep.port} with account {who}: {e} (down, wrong password, or the"
                " account may not use the control topic)",
            )
        ]
    out = [ok("broker", f"{ep.host}:{ep.port} accepts {who} and answers its control topic")]
    out += compare_acls(responses, services)
    return out


def compare_acls(responses: list[dict[str, Any]], services: list[str]) -> list[Finding]:
    """The plugin's answers (default access, each service role, each service account) against
    ``schemas.broker``."""
    out: list[Finding] = []
    default = {a["acltype"]: a["allow"] for a in _data(responses[0]).get("acls", [])}
    for acltype in ("publishClientSend", "subscribe"):
        if default.get(acltype, True):
            out.append(
                problem(
                    "broker ACLs",
                    f"default access allows {acltype}: anything not granted must be denied",
                )
            )
    roles = responses[1 : 1 + len(SERVICE_ROLES)]
    for (name, expected), resp in zip(SERVICE_ROLES.items(), roles, strict=True):
        if resp.get("error"):
            out.append(problem("broker ACLs", f"role {name}: {resp['error']}"))
            continue
        got = {
            Acl(a["acltype"], a["topic"], bool(a.get("allow", False)))
            for a in _data(resp).get("role", {}).get("acls", [])
        }
        want = set(expected)
        if got != want:
            parts = []
            if want - got:
                parts.append("missing " + ", ".join(_acl(a) for a in sorted(want - got, key=str)))
            if got - want:
                parts.append("extra " + ", ".join(_acl(a) for a in sorted(got - want, key=str)))
            out.append(problem("broker ACLs", f"role {name}: {'; '.join(parts)}"))
    for name, resp in zip(services, responses[1 + len(SERVICE_ROLES) :], strict=True):
        if resp.get("error"):
            out.append(problem("broker ACLs", f"service account {name}: {resp['error']}"))
            continue
        client = _data(resp).get("client", {})
        has = {r.get("rolename") for r in client.get("roles", [])}
        if name not in has:
            out.append(problem("broker ACLs", f"service account {name} lacks its role {name}"))
        if client.get("disabled"):
            out.append(problem("broker ACLs", f"service account {name} is disabled"))
    if not out:
        out.append(
            ok("broker ACLs", f"deny by default; {len(SERVICE_ROLES)} service roles as expected")
        )
    return out


def _data(resp: dict[str, Any]) -> dict[str, Any]:
    data = resp.get("data")
    return data if isinstance(data, dict) else {}


def _acl(a: Acl) -> str:
    return f"{'allow' if a.allow else 'deny'} {a.acltype} {a.topic}"


# -- probes -------------------------------------------------------------------------------------
def check_probes(urls: Iterable[str]) -> list[Finding]:
    out = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                out.append(ok("probe", f"{url}: {r.status}"))
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace").strip()[:300]
            out.append(problem("probe", f"{url}: {e.code} {body}"))
        except OSError as e:
            out.append(problem("probe", f"{url}: no answer ({getattr(e, 'reason', e)})"))
    return out


def run(
    database_url: str | None,
    mqtt_url: str | None,
    *,
    disks: Iterable[Path] = (),
    probes: Iterable[str] = (),
) -> list[Finding]:
    findings: list[Finding] = []
    if database_url:
        findings += check_database(database_url)
    else:
        findings.append(problem("database", "no URL: set EHUB_DATABASE_URL or --database"))
    if mqtt_url:
        findings += check_broker(mqtt_url)
    else:
        findings.append(
            problem("broker", "no URL: set EHUB_MQTT_URL (the hub's account) or --broker")
        )
    findings += check_disk(disks)
    findings += check_probes(probes)
    return findings


def main(
    database_url: str | None,
    mqtt_url: str | None,
    *,
    disks: Iterable[Path] = (),
    probes: Iterable[str] = (),
) -> int:
    findings = run(database_url, mqtt_url, disks=disks, probes=probes)
    for f in findings:
        print(f.line())
    problems = sum(f.level == "problem" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"doctor: {problems} problem(s), {warnings} warning(s) at {at}")
    return 1 if problems else 0
