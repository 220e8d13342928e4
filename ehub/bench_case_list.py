"""The case-list figures of ``ehub bench cases`` (issue 10 §11), each with a same-run baseline.

A district of ``--list-cases`` (1,000,000) cases is bulk-loaded with COPY into the tables of
migration 020: ten street teams of uneven size, 40 officers each (two on every case), the
starter catalog's matters, five years of cases whose state follows their age (most archived,
the recent ones still open with a running deadline, some of them yellow or red), a party per
case (repeat offenders share one), ``--list-events-per-case`` events for every case and, for
``--list-detail-cases`` of them, a full file: 50 events, documents, evidence, approval steps and
timers. Then, through the functions the API uses (``hub.services.cases.queries``):

- the case list filtered by team + state, first page and a deep page, for an open state and for
  ``archived`` (the largest): target p95 <= 50 ms;
- the case detail with a 50-event timeline: target p95 <= 30 ms;
- the same two over HTTP (``GET /api/v1/cases``, ``GET /api/v1/cases/{id}``, in process), if
  the read routes are there;
- baseline: a bare primary-key ``SELECT`` of one case row, on the same connection.

Medians and p95 in milliseconds, PASS or MISS against the targets; ``main`` returns 1 on a
MISS. ``case_list_figures(admin_url, args)`` is what ``ehub bench cases`` calls, with the
``--list-*`` options of ``add_arguments``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from hub.domain.principal import Principal
from hub.domain.roles import Role
from schemas.db import migrate

AConn = psycopg.AsyncConnection[Any]
LIST_TARGET_MS = 50.0
DETAIL_TARGET_MS = 30.0
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the bench's "now" (10:00 in Shenzhen)
TODAY = date(2026, 12, 1)
DISTRICT = "bench-district"
TEAMS = [f"bench-team-{i}" for i in range(10)]
TEAM_WEIGHTS = [22, 16, 13, 11, 9, 8, 7, 6, 5, 3]  # busy streets and quiet ones
OFFICERS_PER_TEAM = 40
PAGE = 50
DEEP_OFFSET = 5000  # page 101
SUPERVISOR = "bench-supervisor"

# States by age: a case opened long ago is archived (or ended otherwise); a recent one is still
# being handled. (state, share among cases older than 120 days, share among younger ones)
STATES = [
    ("archived", 86.0, 8.0),
    ("closed", 1.0, 6.0),
    ("on_spot_filed", 9.0, 22.0),
    ("not_filed", 2.0, 4.0),
    ("withdrawn", 1.0, 2.0),
    ("performed", 0.6, 6.0),
    ("served", 0.2, 6.0),
    ("decided", 0.1, 6.0),
    ("statement", 0.0, 4.0),
    ("notified", 0.0, 3.0),
    ("reported", 0.05, 6.0),
    ("filed", 0.05, 20.0),
    ("clue", 0.0, 7.0),
]
OPEN = {"clue", "filed", "reported", "notified", "statement", "decided", "served"}
SOURCES = ["patrol", "patrol", "patrol", "incident", "citizen", "12345", "referral"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The case-list options, prefixed ``--list-`` so that they sit beside ``ehub bench
    cases``'s own (``--runs`` and ``--database-url`` are that command's)."""
    p.add_argument("--list-cases", type=int, default=1_000_000, help="cases in the district")
    p.add_argument("--list-events-per-case", type=int, default=2, help="background events per case")
    p.add_argument("--list-detail-cases", type=int, default=200, help="cases with a 50-event file")
    p.add_argument("--list-runs", type=int, default=200, help="timed calls per list figure")
    p.add_argument("--list-keep", action="store_true", help="keep the loaded database")
    p.add_argument("--list-reuse", help="measure a database a --list-keep run loaded (its URL)")


def _say(msg: str) -> None:
    print(msg, flush=True)


def _p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * 0.95))]


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.2f} ms, p95 {_p95(xs) * 1000:.2f} ms"


# ---------------------------------------------------------------------------- load ------
def _text(v: Any) -> str:
    """One COPY text field (the values here never hold tabs, newlines or backslashes)."""
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, list):
        return "{" + ",".join(v) + "}"
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def _copy(
    conn: psycopg.Connection[Any], table: str, cols: str, rows: Iterator[tuple[Any, ...]]
) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        buf: list[str] = []
        for row in rows:
            buf.append("\t".join(_text(v) for v in row))
            n += 1
            if len(buf) >= 5000:
                cp.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            cp.write("\n".join(buf) + "\n")
    return n


def _pick_state(rng: random.Random, old: bool) -> str:
    weights = [w_old if old else w_new for _, w_old, w_new in STATES]
    return rng.choices([s for s, *_ in STATES], weights)[0]


def _seed_units_and_people(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    from hub.security import hash_password  # noqa: PLC0415

    conn.execute(
        "INSERT INTO org_units (id, parent_id, level, name, name_en) VALUES"
        " ('bench-city', NULL, 'city', '深圳市', 'Shenzhen'),"
        " (%s, 'bench-city', 'district', '福田区', 'Futian')",
        (DISTRICT,),
    )
    officers: dict[str, list[str]] = {}
    staff: list[tuple[str, str, str, str]] = []
    for t, team in enumerate(TEAMS):
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name, name_en)"
            " VALUES (%s, %s, 'street', %s, %s)",
            (team, DISTRICT, f"第{t + 1}街道综合行政执法队", f"Street team {t + 1}"),
        )
        officers[team] = [f"bo-{t}-{i}" for i in range(OFFICERS_PER_TEAM)]
        staff += [
            (s, f"执法员{t}{i}", f"B{t:02d}{i:03d}", team) for i, s in enumerate(officers[team])
        ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status)"
            " VALUES (%s, %s, %s, 'officer', %s, 'on_duty')",
            staff,
        )
    conn.execute(
        "INSERT INTO users (username, password_hash, role, org_unit_id)"
        " VALUES (%s, %s, 'supervisor', %s)",
        (SUPERVISOR, hash_password("bench-password"), DISTRICT),
    )
    return officers


def load(db: str, args: argparse.Namespace) -> dict[str, Any]:
    """The district, by COPY; what the figures need to know about it."""
    from ehub.cases_cli import seed_starter  # noqa: PLC0415

    t0 = time.monotonic()
    seed_starter(db)
    rng = random.Random(20261201)
    n = args.list_cases
    with psycopg.connect(db, autocommit=True) as conn:
        officers = _seed_units_and_people(conn)
        row = conn.execute("SELECT max(version) FROM catalog_versions").fetchone()
        version = int(row[0]) if row and row[0] is not None else 1
        matters = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM catalog_matters WHERE version = %s ORDER BY code", (version,)
            ).fetchall()
        ]
        parties = max(1, int(n * 0.7))  # three in ten cases are a repeat offender's
        _copy(
            conn,
            "case_parties",
            "id, party_type, name, created_by, created_at",
            (
                (f"bp{i}", "citizen" if i % 5 else "organisation", f"当事人{i}", "bench", AT)
                for i in range(parties)
            ),
        )
        plan: list[tuple[str, str, str, datetime]] = []  # (case id, team, state, opened_at)

        def cases() -> Iterator[tuple[Any, ...]]:
            for i in range(n):
                team = rng.choices(TEAMS, TEAM_WEIGHTS)[0]
                age = min(5 * 365, int(rng.expovariate(1 / 500)))  # days; most are old
                opened = AT - timedelta(days=age, seconds=rng.randrange(86400))
                state = _pick_state(rng, age > 120)
                two = rng.sample(officers[team], 2)
                cid = f"bc{i:07d}"
                plan.append((cid, team, state, opened))
                number = None if state == "clue" else f"深福城管罚〔{opened.year}〕{i:07d}号"
                due = warn = None
                if state in OPEN:
                    # the decision (90 days from filing) or the clue's 15: some past, some close
                    due = opened.date() + timedelta(days=15 if state == "clue" else 90)
                    warn = due - timedelta(days=3 if state == "clue" else 10)
                procedure = "simple" if state == "on_spot_filed" else "ordinary"
                snapshot = json.dumps(
                    {
                        "id": cid,
                        "state": state,
                        "procedure": procedure,
                        "matter": rng.choice(matters),
                        "officers": two,
                        "facts": {"area_m2": rng.randint(1, 30), "prior_offences": 0},
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                yield (
                    cid, number, "futian-cgj", procedure, state, team, rng.choice(matters),
                    version, f"bp{rng.randrange(parties)}",
                    "on_spot" if procedure == "simple" else rng.choice(SOURCES),
                    opened.date(), opened.date(), f"福田区某路{rng.randrange(500)}号",
                    22.52 + rng.random() * 0.05, 114.03 + rng.random() * 0.08, two[0], two,
                    "bench", opened, opened + timedelta(hours=1), args.list_events_per_case,
                    None if state in ("clue", "on_spot_filed") else opened.date(),
                    None, due, warn, rng.choice([None, 500, 1000, 2000]), snapshot,
                )  # fmt: skip

        loaded = _copy(
            conn,
            "cases",
            "id, number, legal_subject, procedure, state, org_unit_id, matter_code,"
            " catalog_version, party_id, source, act_date, discovered_on, place, lat, lon,"
            " lead_officer, officers, opened_by, opened_at, updated_at, seq, filed_on,"
            " decided_on, next_due, next_warn, decided_fine, snapshot",
            cases(),
        )
        t_cases = time.monotonic() - t0
        queue = iter(range(1, 1 << 62))
        detail = [p for p in plan if p[2] in ("decided", "served", "performed")]
        detail = rng.sample(detail, min(args.list_detail_cases, len(detail)))
        detail_ids = {p[0] for p in detail}

        def events() -> Iterator[tuple[Any, ...]]:
            for cid, _team, state, opened in plan:
                k = 50 if cid in detail_ids else args.list_events_per_case
                for seq in range(1, k + 1):
                    payload = f'{{"seq":{seq},"note":"bench"}}'
                    yield (
                        cid, seq, opened + timedelta(hours=seq), "bench", None,
                        "record_inquiry" if seq > 1 else "open_clue", "transition",
                        "filed" if seq > 1 else "clue", state if seq == k else "filed", None,
                        "{}", payload, hashlib.sha256(payload.encode()).hexdigest(), next(queue),
                    )  # fmt: skip

        n_events = _copy(
            conn,
            "case_events",
            "case_id, seq, at, actor, actor_staff, command, kind, state_from, state_to,"
            " case_number, refs, payload, payload_sha256, tlog_queue_id",
            events(),
        )
        conn.execute("UPDATE cases SET seq = 50 WHERE id = ANY(%s)", (sorted(detail_ids),))
        blob = "\\\\x" + os.urandom(1500).hex()  # a document's canonical bytes, as COPY text

        def documents() -> Iterator[tuple[Any, ...]]:
            for cid, *_ in detail:
                for k, doc in enumerate(
                    ("case_filing_approval", "inquiry_record", "inspection_record",
                     "prior_notice", "delivery_receipt", "decision", "delivery_receipt")
                ):  # fmt: skip
                    digest = hashlib.sha256(f"{cid}/{k}".encode()).hexdigest()
                    yield (
                        f"{cid}-d{k}", cid, k * 5 + 1, doc, f"{cid}-{k}", f"act-{k}", digest,
                        blob, AT, "bench", next(queue),
                    )  # fmt: skip

        _copy(
            conn,
            "case_documents",
            "id, case_id, seq, doc_type, number, ref, sha256, canonical, issued_at, issued_by,"
            " tlog_queue_id",
            documents(),
        )

        def evidence() -> Iterator[tuple[Any, ...]]:
            for cid, team, *_ in detail:
                for k in range(6):
                    digest = hashlib.sha256(f"{cid}/e{k}".encode()).hexdigest()
                    yield (
                        f"{cid}-e{k}", cid, k + 2, "audiovisual", digest, "bodycam",
                        f"file-{cid}-{k}", officers[team][:2], AT, "bench", AT, next(queue),
                    )  # fmt: skip

        _copy(
            conn,
            "case_evidence",
            "id, case_id, seq, evidence_type, sha256, source_kind, source_ref, collected_by,"
            " collected_at, added_by, added_at, tlog_queue_id",
            evidence(),
        )

        def timers() -> Iterator[tuple[Any, ...]]:
            for cid, _team, state, opened in plan:
                if state in OPEN or cid in detail_ids:
                    d = opened.date()
                    stopped = None if state in OPEN else AT
                    yield (
                        cid, "decision", "", d, d + timedelta(days=90), d + timedelta(days=80),
                        "calendar", 90, False, stopped, None if stopped is None else "decided",
                    )  # fmt: skip
                if cid in detail_ids:
                    d = opened.date() + timedelta(days=20)
                    for code, days in (("statement", 3), ("hearing_request", 5)):
                        yield (
                            cid, code, "", d, d + timedelta(days=days), d + timedelta(days=1),
                            "working", days, False, AT, "period ended",
                        )  # fmt: skip

        n_timers = _copy(
            conn,
            "case_timers",
            "case_id, code, ref, started_on, due_on, warn_on, unit, length, provisional,"
            " stopped_at, stop_reason",
            timers(),
        )

        def approvals() -> Iterator[tuple[Any, ...]]:
            for cid, team, *_ in detail:
                for k, act in enumerate(("filing", "decision", "decision", "closing")):
                    yield (
                        cid, act, 0 if k != 2 else 1,
                        "team_leader" if k != 2 else "legal_office",
                        "supervisor" if k != 2 else "legal_reviewer",
                        team if k != 2 else DISTRICT, AT, "bench", AT, "bench", "approved",
                    )  # fmt: skip

        _copy(
            conn,
            "case_approval_steps",
            "case_id, act, step_index, step_role, hub_role, org_unit_id, requested_at,"
            " requested_by, decided_at, decided_by, decision",
            approvals(),
        )
        conn.execute("VACUUM ANALYZE")
        by_state: dict[str, int] = dict(
            conn.execute(
                "SELECT state, count(*) FROM cases WHERE org_unit_id = %s GROUP BY state",
                (TEAMS[0],),
            ).fetchall()
        )
    return {
        "cases": loaded,
        "events": n_events,
        "timers": n_timers,
        "detail_ids": sorted(detail_ids),
        "seconds": time.monotonic() - t0,
        "cases_seconds": t_cases,
        "team0_by_state": by_state,
    }


def _loaded(db: str) -> dict[str, Any]:
    """What ``load`` said about a database it loaded earlier (``--list-reuse``)."""
    with psycopg.connect(db) as conn:
        one = conn.execute

        def count(q: str) -> int:
            row = one(q).fetchone()
            return int(row[0]) if row else 0

        ids = [r[0] for r in one("SELECT id FROM cases WHERE seq = 50 ORDER BY id").fetchall()]
        by_state: dict[str, int] = dict(
            one(
                "SELECT state, count(*) FROM cases WHERE org_unit_id = %s GROUP BY state",
                (TEAMS[0],),
            ).fetchall()
        )
        return {
            "cases": count("SELECT count(*) FROM cases"),
            "events": count("SELECT count(*) FROM case_events"),
            "timers": count("SELECT count(*) FROM case_timers"),
            "detail_ids": ids,
            "seconds": 0.0,
            "cases_seconds": 0.0,
            "team0_by_state": by_state,
        }


# ------------------------------------------------------------------------- figures ------
async def _timed(runs: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    for i in range(min(20, runs)):  # warm the plan cache and the buffers
        await call(i)
    out = []
    for i in range(runs):
        t = time.perf_counter()
        await call(i)
        out.append(time.perf_counter() - t)
    return out


async def _deep_offsets(conn: AConn, state: str) -> list[int]:
    """For the five busiest teams in turn: page 101 (offset 5,000), or the team's last full
    page if it has fewer cases in ``state``."""
    cur = await conn.execute(
        "SELECT org_unit_id, count(*) FROM cases WHERE state = %s GROUP BY 1", (state,)
    )
    counts: dict[str, int] = dict(await cur.fetchall())
    return [max(0, min(DEEP_OFFSET, (counts.get(t, 0) // PAGE - 1) * PAGE)) for t in TEAMS[:5]]


async def _service_figures(db: str, info: dict[str, Any], runs: int) -> dict[str, list[float]]:
    from hub.services.cases import queries  # noqa: PLC0415 - caseui's module

    p = Principal(SUPERVISOR, Role.SUPERVISOR, DISTRICT, frozenset([DISTRICT, *TEAMS]))
    detail_ids: list[str] = info["detail_ids"]
    out: dict[str, list[float]] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:

        def lister(state: str, offsets: list[int]) -> Callable[[int], Awaitable[Any]]:
            async def call(i: int) -> Any:
                page = await queries.list_cases(
                    conn,
                    p,
                    queries.CaseFilter(team=TEAMS[i % 5], state=state),
                    limit=PAGE,
                    offset=offsets[i % 5],
                    today=TODAY,
                )
                assert page.rows, (state, offsets[i % 5])
                return page

            return call

        for state in ("filed", "archived"):
            deep = await _deep_offsets(conn, state)
            out[f"list {state} first page"] = await _timed(runs, lister(state, [0] * 5))
            out[f"list {state} deep page (offsets {min(deep)}-{max(deep)})"] = await _timed(
                runs, lister(state, deep)
            )

        async def detail(i: int) -> Any:
            d = await queries.detail(conn, p, detail_ids[i % len(detail_ids)], today=TODAY)
            assert len(d["events"]) == 50
            return d

        out["detail (50 events)"] = await _timed(runs, detail)

        async def pk(i: int) -> Any:
            cur = await conn.execute(
                "SELECT * FROM cases WHERE id = %s", (detail_ids[i % len(detail_ids)],)
            )
            return await cur.fetchone()

        out["baseline: PK SELECT of a case row"] = await _timed(runs, pk)
    return out


def _http_figures(db: str, info: dict[str, Any], runs: int) -> dict[str, list[float]] | None:
    """The same reads over the API (in process), if the read routes are registered."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    # One line per timed request would bury the figures.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    from hub.api.app import create_app  # noqa: PLC0415
    from hub.settings import HubSettings  # noqa: PLC0415

    settings = HubSettings(
        database_url=db, hub_jwt_secret="b" * 40, hub_id_hash_key="k" * 40, hub_db_pool_max=4
    )
    out: dict[str, list[float]] = {}
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/api/v1/auth/token", data={"username": SUPERVISOR, "password": "bench-password"}
        )
        r.raise_for_status()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        probe = client.get("/api/v1/cases", params={"limit": 1}, headers=auth)
        if probe.status_code in (404, 405):
            return None

        def timed(get: Callable[[int], Any]) -> list[float]:
            for i in range(min(20, runs)):
                get(i)
            xs = []
            for i in range(runs):
                t = time.perf_counter()
                resp = get(i)
                xs.append(time.perf_counter() - t)
                assert resp.status_code == 200, resp.text[:300]
            return xs

        out["HTTP list archived first page"] = timed(
            lambda i: client.get(
                "/api/v1/cases",
                params={"team": TEAMS[i % 5], "state": "archived", "limit": PAGE},
                headers=auth,
            )
        )
        ids = info["detail_ids"]
        out["HTTP detail (50 events)"] = timed(
            lambda i: client.get(f"/api/v1/cases/{ids[i % len(ids)]}", headers=auth)
        )
        out["HTTP baseline: GET /api/v1/auth/me"] = timed(
            lambda i: client.get("/api/v1/auth/me", headers=auth)
        )
    return out


async def _deadline_figures(db: str) -> dict[str, Any]:
    """The deadline-alert evaluation over the district (``deadline_alerts.evaluate``): the run
    that opens every alert, then steady runs with nothing new; baseline: its timer query."""
    from hub.services.cases import deadline_alerts  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await conn.execute("DELETE FROM alerts WHERE kind = %s", (deadline_alerts.KIND.value,))
        t = time.perf_counter()
        opened = await deadline_alerts.evaluate(conn, AT)
        first = time.perf_counter() - t
        steady: list[float] = []
        for _ in range(3):
            t = time.perf_counter()
            again = await deadline_alerts.evaluate(conn, AT)
            steady.append(time.perf_counter() - t)
            assert again == [], "a steady run raised or changed alerts"
        bare: list[float] = []
        for _ in range(3):
            t = time.perf_counter()
            cur = await conn.execute(deadline_alerts._DUE_TIMERS, (TODAY,))
            due = len(await cur.fetchall())
            bare.append(time.perf_counter() - t)
    return {
        "opened": len(opened),
        "due_timers": due,
        "first_s": first,
        "steady_s": statistics.median(steady),
        "bare_s": statistics.median(bare),
    }


def _database(admin: str) -> str:
    name = f"ehub_bench_case_list_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    return url


def _drop(admin: str, url: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


async def _equality_shape(db: str, runs: int) -> dict[str, list[float]]:
    """The list's own SELECT (columns, joins, order) with ``c.org_unit_id = %s`` in place of
    ``= ANY(%s)``: what the list costs once it filters one street team that way."""
    from hub.services.cases import queries  # noqa: PLC0415

    sql = (
        f"SELECT {queries.LIST_COLUMNS} FROM {queries.LIST_SOURCE}"
        " WHERE c.org_unit_id = %s AND c.state = %s"
        " ORDER BY c.opened_at DESC, c.id DESC LIMIT %s OFFSET %s"
    )
    # ...and with an index that holds the tie-breaker, the page's ids first (an index-only
    # scan over the offset), then the 50 rows: a "deferred join".
    ids = (
        "(SELECT id FROM cases WHERE org_unit_id = %s AND state = %s"
        " ORDER BY opened_at DESC, id DESC LIMIT %s OFFSET %s) p JOIN cases c ON c.id = p.id"
    )
    deferred = (
        f"SELECT {queries.LIST_COLUMNS} FROM {queries.LIST_SOURCE.replace('cases c', ids, 1)}"
        " ORDER BY c.opened_at DESC, c.id DESC"
    )
    out: dict[str, list[float]] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for shape, query in (
            ("org_unit_id = one team", sql),
            ("+ index + deferred join", deferred),
        ):
            if query is deferred:
                await conn.execute(
                    "CREATE INDEX IF NOT EXISTS bench_whatif_idx"
                    " ON cases (org_unit_id, state, opened_at DESC, id DESC)"
                )
                await conn.execute("VACUUM ANALYZE cases")
            deep = await _deep_offsets(conn, "archived")
            for label, offsets in (("first page", [0] * 5), ("deep page", deep)):

                async def call(i: int, offsets: list[int] = offsets, q: str = query) -> Any:
                    cur = await conn.execute(q, (TEAMS[i % 5], "archived", PAGE, offsets[i % 5]))
                    rows = await cur.fetchall()
                    assert len(rows) == PAGE
                    return rows

                out[f"{shape}, archived {label}"] = await _timed(runs, call)
    return out


def _explain(db: str) -> None:
    """The plan of the slowest list query, for whoever has to make it faster."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
            " SELECT c.id FROM cases c WHERE c.org_unit_id = ANY(%s) AND c.state = 'archived'"
            " ORDER BY c.opened_at DESC, c.id DESC LIMIT %s OFFSET %s",
            ([TEAMS[0]], PAGE, DEEP_OFFSET),
        ).fetchall()
    for (line,) in rows:
        _say(f"    {line}")


def case_list_figures(admin: str, args: argparse.Namespace) -> bool:
    """Load the district in a fresh database, print the figures; True when all PASS."""
    db = args.list_reuse or _database(admin)
    try:
        info = _loaded(db) if args.list_reuse else load(db, args)
        _say(
            f"case list: loaded {info['cases']:,} cases, {info['events']:,} events and"
            f" {info['timers']:,} timers by COPY in {info['seconds']:.0f} s"
            f" (cases alone {info['cases_seconds']:.0f} s); team 0 by state:"
            f" {dict(sorted(info['team0_by_state'].items(), key=lambda kv: -kv[1]))}"
        )
        figures = asyncio.run(_service_figures(db, info, args.list_runs))
        try:
            http = _http_figures(db, info, max(20, args.list_runs // 4))
        except Exception as exc:  # the HTTP figure is extra; say why it is missing
            _say(f"  (no HTTP figures: {type(exc).__name__}: {exc})")
            http = None
        ok = True
        base = statistics.median(figures["baseline: PK SELECT of a case row"])
        for name, xs in figures.items():
            target = (
                LIST_TARGET_MS
                if name.startswith("list")
                else DETAIL_TARGET_MS
                if name.startswith("detail")
                else None
            )
            line = f"  {name}: {_ms(xs)}"
            if target is not None:
                passed = _p95(xs) * 1000 <= target
                ok &= passed
                ratio = statistics.median(xs) / base
                line += (
                    f" -> {'PASS' if passed else 'MISS'} (target p95 <= {target:.0f} ms;"
                    f" {ratio:.0f}x the PK SELECT)"
                )
            _say(line)
        if http is None:
            _say("  HTTP: the read routes (GET /api/v1/cases) are not registered in this build")
        else:
            for name, xs in http.items():
                _say(f"  {name}: {_ms(xs)}")
        d = asyncio.run(_deadline_figures(db))
        _say(
            f"  deadline alerts over the district: the first evaluation opened {d['opened']:,}"
            f" alerts in {d['first_s']:.2f} s; steady evaluations (nothing new) median"
            f" {d['steady_s'] * 1000:.0f} ms; baseline: reading the {d['due_timers']:,} due"
            f" timers alone {d['bare_s'] * 1000:.0f} ms"
        )
        if not ok:
            _say("  plan of the deep archived page:")
            _explain(db)
            for name, xs in asyncio.run(_equality_shape(db, args.list_runs)).items():
                _say(f"  what-if: the list's SELECT with {name}: {_ms(xs)}")
        return ok
    finally:
        if args.list_keep or args.list_reuse:
            _say(f"  kept: {db}")
        else:
            _drop(admin, db)


def main(args: argparse.Namespace) -> int:
    admin = args.database_url
    if not admin:
        _say("bench: needs --database-url or EHUB_TEST_DATABASE_URL (source .services/env)")
        return 2
    _say(f"bench case list: {args.list_cases:,} cases, {os.cpu_count()} cores")
    return 0 if case_list_figures(admin, args) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    parser.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))
    raise SystemExit(main(parser.parse_args()))
