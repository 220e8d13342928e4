"""``ehub cases catalog|discretion|revisions|calendar``: the matter catalog, discretion standards
and working-day calendar from the command line, straight to the database (no running hub).

They go through the same services as the API, so the same rules hold: an import is a *proposed*
revision that another person approves (``ehub cases revisions approve ID --actor NAME`` or the
web UI); nothing is imported while any line is bad. The actor is ``cli:<name>``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import yaml


def add_commands(cases: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the ``ehub cases`` group."""
    c = cases.add_parser("catalog", help="the matter catalog (权责清单): import, export")
    cs = c.add_subparsers(dest="catalog_command", required=True)
    ci = cs.add_parser("import", help="propose a revision from a YAML catalog or a CSV of matters")
    ci.add_argument("file")
    ci.add_argument("--summary", help="what the revision changes and why (default: the file)")
    ce = cs.add_parser("export", help="the current catalog as YAML (default) or CSV of matters")
    ce.add_argument("--format", choices=("yaml", "csv"), default="yaml")
    ce.add_argument("-o", "--output", help="write here instead of standard output")
    d = cases.add_parser("discretion", help="discretion standards (裁量基准): import")
    ds = d.add_subparsers(dest="discretion_command", required=True)
    di = ds.add_parser("import", help="propose a new standard from a YAML file")
    di.add_argument("file")
    di.add_argument("--summary")
    r = cases.add_parser("revisions", help="proposed catalog and standard revisions")
    rs = r.add_subparsers(dest="revisions_command", required=True)
    rs.add_parser("list", help="revisions waiting for a decision")
    ra = rs.add_parser("approve", help="approve a revision (not your own)")
    ra.add_argument("id", type=int)
    ra.add_argument("--note")
    rr = rs.add_parser("reject", help="reject a revision with a note")
    rr.add_argument("id", type=int)
    rr.add_argument("--note", required=True)
    k = cases.add_parser("calendar", help="the official holiday schedule (working days)")
    ks = k.add_subparsers(dest="calendar_command", required=True)
    ks.add_parser("seed", help="load every year the installed chinesecalendar package knows")
    kl = ks.add_parser("load", help="load a year's published schedule from a YAML file")
    kl.add_argument("file")
    ks.add_parser("show", help="the years known and the last one")
    for p in (ci, ce, di, *rs.choices.values(), *ks.choices.values()):
        p.add_argument("--database", help="PostgreSQL URL (default: EHUB_DATABASE_URL)")
        p.add_argument("--actor", help="who does this (default: the login user)")
    for p in (c, d, r, k):
        p.set_defaults(func=main)


def seed_starter(db: str) -> str:
    """Load the shipped starter catalog and standard into an empty hub (the demo's seed)."""

    async def run() -> str:
        import psycopg

        from hub.services.cases import starter

        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
            return await starter.load(conn, "seed:demo-clerk", "seed:demo-legal")

    return asyncio.run(run())


def main(args: argparse.Namespace) -> int:
    db = args.database or os.environ.get("EHUB_DATABASE_URL")
    if not db:
        raise SystemExit("--database or EHUB_DATABASE_URL is needed")
    return asyncio.run(_run(args, db))


def _principal(actor: str) -> Any:
    from hub.domain.principal import Principal
    from hub.domain.roles import Role

    # Direct database access is an administrator's; the four-eyes rule still holds by name.
    return Principal(actor, Role.ADMIN, "", frozenset())


def read_file(path: Path) -> tuple[dict[str, Any] | None, list[Any]]:
    from hub.services.cases.files import load_matters_csv, load_yaml

    text = path.read_text(encoding="utf-8-sig")
    return load_matters_csv(text) if path.suffix.lower() == ".csv" else load_yaml(text)


async def _run(args: argparse.Namespace, db: str) -> int:
    import psycopg

    from ehub.admin import actor
    from hub.domain.errors import HubError

    who = actor(args.actor)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        try:
            if args.cases_command == "catalog":
                if args.catalog_command == "import":
                    return await _propose(conn, who, Path(args.file), "catalog", args.summary)
                return await _export(conn, who, args.format, args.output)
            if args.cases_command == "discretion":
                return await _propose(conn, who, Path(args.file), "discretion", args.summary)
            if args.cases_command == "revisions":
                return await _revisions(conn, who, args)
            return await _calendar(conn, who, args)
        except HubError as exc:
            print(f"refused: {exc.detail}", file=sys.stderr)
            for line in exc.extra.get("problems", []) or []:  # type: ignore[attr-defined]
                print(line, file=sys.stderr)
            return 1


async def _propose(conn: Any, who: str, path: Path, target: str, summary: str | None) -> int:
    from hub.services.cases import catalog as service
    from hub.services.cases.files import strip_lines

    doc, problems = read_file(path)
    if doc is None:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    if target == "catalog":
        from hub.domain.cases.catalog import read_document

        # Every bad line first, nothing proposed while any remain.
        _, base = await service.current(conn)
        catalog, problems = read_document(doc, base)
        if catalog is None:
            for p in problems:
                print(p, file=sys.stderr)
            print(f"{len(problems)} problem(s); nothing imported", file=sys.stderr)
            return 1
    row = await service.propose(
        conn,
        _principal(who),
        target=target,
        kind="import",
        document=strip_lines(doc) if target == "discretion" else doc,
        summary=summary or f"import {path.name}",
    )
    diff = row["diff"]
    print(f"proposed revision {row['id']} ({target}): {_describe(diff)}")
    print(f"another person approves it: ehub cases revisions approve {row['id']} --actor NAME")
    return 0


def _describe(diff: dict[str, Any]) -> str:
    if "standard" in diff:
        return f"standard {diff['standard']} with {len(diff['items'])} item(s)"
    return ", ".join(f"{len(diff[k])} {k}" for k in ("added", "changed", "removed"))


async def _export(conn: Any, who: str, fmt: str, output: str | None) -> int:
    from hub.domain.cases import catalog as cat
    from hub.services.cases import catalog as service

    version, catalog = await service.current(conn)
    if fmt == "yaml":
        text = f"# catalog version {version}\n" + yaml.safe_dump(
            cat.document(catalog), allow_unicode=True, sort_keys=False, width=100
        )
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, cat.CSV_COLUMNS)
        w.writeheader()
        for m in catalog.matters.values():
            w.writerow(cat.csv_row(m))
        text = buf.getvalue()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"catalog version {version}: {len(catalog.matters)} matters -> {output}")
    else:
        sys.stdout.write(text)
    return 0


async def _revisions(conn: Any, who: str, args: argparse.Namespace) -> int:
    from hub.services.cases import catalog as service

    p = _principal(who)
    if args.revisions_command == "list":
        _, rows = await service.revisions(
            conn, p, target=None, state="proposed", limit=100, offset=0
        )
        for r in rows:
            print(f"{r['id']}\t{r['target']}\t{r['kind']}\t{r['proposed_by']}\t{r['summary']}")
        if not rows:
            print("no revision is waiting")
        return 0
    approve = args.revisions_command == "approve"
    row = await service.decide(conn, p, args.id, approve=approve, note=args.note)
    extra = f" -> catalog version {row['catalog_version']}" if "catalog_version" in row else ""
    extra += f" -> standard {row['standard']}" if "standard" in row else ""
    print(f"revision {args.id} {row['state']}{extra}")
    return 0


async def _calendar(conn: Any, who: str, args: argparse.Namespace) -> int:
    from hub.services.cases import calendar as service

    if args.calendar_command == "seed":
        years = await service.seed(conn, who)
        print(f"loaded {len(years)} year(s): {', '.join(map(str, years)) or 'none changed'}")
    elif args.calendar_command == "load":
        doc, problems = read_file(Path(args.file))
        if doc is None:
            for p in problems:
                print(p, file=sys.stderr)
            return 1
        from hub.services.cases.files import strip_lines

        year, rows = service.parse_year(strip_lines(doc))
        await service.load_year(conn, who, year, rows, f"file {Path(args.file).name}")
        print(f"loaded {year}: {sum(k == 'holiday' for _, k, _ in rows)} days off,"
              f" {sum(k == 'workday' for _, k, _ in rows)} make-up working days")  # fmt: skip
    cal = await service.work_calendar(conn)
    print(f"schedule known {cal.known_from}-{cal.known_through}; later dates are provisional")
    return 0
