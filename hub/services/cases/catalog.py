"""Catalog and discretion-standard use cases: propose a revision (an import or an edit), approve
or reject it (another person, with the right role), read the current catalog and standards, and
compute a recommended penalty.

Four eyes (CASES.md §5, seed §1 "nobody may add or drop matters outside the legal procedure"):
whoever proposed a revision cannot decide it (checked here and by the table's CHECK); an
approved revision becomes the next catalog version whole, and only if the catalog is still the
version it was proposed against. Every step writes the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg

from hub.domain.cases import catalog as cat
from hub.domain.cases import discretion
from hub.domain.cases import standards as standard_files
from hub.domain.errors import Conflict, Forbidden, Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories.cases import catalog as repo
from hub.services.cases.files import strip_lines

AConn = psycopg.AsyncConnection[Any]
TARGETS = ("catalog", "discretion")


def _problems(problems: list[cat.Problem] | list[str]) -> Invalid:
    lines = [str(p) for p in problems]
    return Invalid(
        f"{len(lines)} problem(s), nothing proposed: " + "; ".join(lines[:5]), problems=lines
    )


async def current(conn: AConn) -> tuple[int, cat.Catalog]:
    """The current catalog version and catalog (version 0, empty, before the first)."""
    row = await repo.current_version(conn)
    if row is None:
        return 0, cat.Catalog()
    catalog, problems = cat.read_document(row["document"])
    # A stored version was validated when approved; failing now is a bug, never user input.
    assert catalog is not None, problems
    return int(row["version"]), catalog


async def propose(
    conn: AConn,
    p: Principal,
    *,
    target: str,
    kind: str,
    document: dict[str, Any] | None = None,
    matter: dict[str, Any] | None = None,
    summary: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A proposed revision: a whole document (``import``; a catalog, a catalog's matters on
    top of the current categories and subjects, or a standard) or one matter (``edit``)."""
    p.require(Action.PROPOSE_CATALOG)
    now = now or datetime.now(UTC)
    if target not in TARGETS:
        raise Invalid(f"target must be one of {', '.join(TARGETS)}")
    if not summary.strip():
        raise Invalid("say in the summary what the revision changes and why")
    async with conn.transaction():
        base_version, base = await current(conn)
        if target == "catalog":
            stored, diff = _catalog_proposal(kind, base, document, matter)
        else:
            if kind != "import" or document is None:
                raise Invalid("a discretion standard is proposed whole (kind 'import')")
            stored, diff = await _standard_proposal(conn, base, document)
        revision_id = await repo.insert_revision(
            conn,
            target=target,
            kind=kind,
            base_version=base_version if target == "catalog" else None,
            summary=summary.strip(),
            document=stored,
            diff=diff,
            by=p.username,
            at=now,
        )
        row = await repo.revision(conn, revision_id)
        assert row is not None
        await audit.record(
            conn,
            p.username,
            f"{target}.propose",
            "case_revision",
            str(revision_id),
            after=audit.jsonable(row),
        )
    return row


def _catalog_proposal(
    kind: str, base: cat.Catalog, document: dict[str, Any] | None, matter: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    if kind == "import":
        if document is None:
            raise Invalid("an import revision carries the whole document")
        new, problems = cat.read_document(document, base)
    elif kind == "edit":
        if matter is None:
            raise Invalid("an edit revision carries one matter")
        problems_m: list[cat.Problem] = []
        m = cat.read_matter(matter, 1, problems_m, base.categories, base.legal_subjects)
        if m is None:
            raise _problems(problems_m)
        new, problems = cat.with_matter(base, m), []
    else:
        raise Invalid("kind must be 'import' or 'edit'")
    if new is None:
        raise _problems(problems)
    diff = cat.diff(base, new)
    if diff.empty:
        raise Conflict("the revision changes nothing in the current catalog")
    return cat.document(new), diff.as_dict()


async def _standard_proposal(
    conn: AConn, base: cat.Catalog, document: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    clean = strip_lines(document)
    standard, problems = standard_files.read_standard(clean)
    if standard is None:
        raise _problems(problems)
    unknown = standard_files.unknown_matters(standard, list(base.matters))
    if unknown:
        raise Invalid(f"the standard names matters not in the catalog: {', '.join(unknown)}")
    if await repo.standard_exists(conn, standard.code):
        raise Conflict(
            f"standard {standard.code} exists and is never changed: a revised standard is a new"
            " one with its own code and dates"
        )
    return clean, {"standard": standard.code, "items": sorted(standard.items)}


async def decide(
    conn: AConn,
    p: Principal,
    revision_id: int,
    *,
    approve: bool,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    p.require(Action.APPROVE_CATALOG)
    now = now or datetime.now(UTC)
    note = (note or "").strip() or None
    if not approve and note is None:
        raise Invalid("a rejection needs a note saying why")
    async with conn.transaction():
        await repo.lock_approvals(conn)
        before = await repo.revision(conn, revision_id, lock=True, with_document=True)
        if before is None:
            raise NotFound(f"revision {revision_id} not found")
        if before["state"] != "proposed":
            raise Conflict(f"revision {revision_id} is already {before['state']}")
        if before["proposed_by"] == p.username:
            raise Forbidden("the person who proposed a revision cannot decide it (four eyes)")
        result: dict[str, Any] = {}
        if approve:
            if before["target"] == "catalog":
                result = await _approve_catalog(conn, p, before, now)
            else:
                result = await _approve_standard(conn, p, before, now)
        await repo.decide(
            conn,
            revision_id,
            state="approved" if approve else "rejected",
            by=p.username,
            at=now,
            note=note,
        )
        after = await repo.revision(conn, revision_id)
        assert after is not None
        before.pop("document")
        await audit.record(
            conn,
            p.username,
            f"{before['target']}.{'approve' if approve else 'reject'}",
            "case_revision",
            str(revision_id),
            before=audit.jsonable(before),
            after=audit.jsonable(after) | result,
        )
    return after | result


async def _approve_catalog(
    conn: AConn, p: Principal, rev: dict[str, Any], now: datetime
) -> dict[str, Any]:
    number, base = await current(conn)
    if rev["base_version"] != number:
        raise Conflict(
            f"the catalog is at version {number}, the revision was proposed against version"
            f" {rev['base_version']}: propose it again on the current catalog"
        )
    new, problems = cat.read_document(rev["document"])
    if new is None:
        raise _problems(problems)
    matters = [cat.matter_dict(m) for m in new.matters.values()]
    await repo.insert_version(
        conn,
        number + 1,
        revision_id=rev["id"],
        by=p.username,
        at=now,
        document=cat.document(new),
        matters=matters,
    )
    return {"catalog_version": number + 1, "changes": cat.diff(base, new).as_dict()}


async def _approve_standard(
    conn: AConn, p: Principal, rev: dict[str, Any], now: datetime
) -> dict[str, Any]:
    standard, problems = standard_files.read_standard(rev["document"])
    if standard is None:
        raise _problems(problems)
    _, base = await current(conn)
    unknown = standard_files.unknown_matters(standard, list(base.matters))
    if unknown:
        raise Conflict(f"the catalog no longer has: {', '.join(unknown)}")
    if await repo.standard_exists(conn, standard.code):
        raise Conflict(f"standard {standard.code} exists")
    await repo.insert_standard(
        conn,
        code=standard.code,
        title=standard.title,
        issued_by=standard.issued_by,
        in_force_from=standard.in_force_from,
        in_force_to=standard.in_force_to,
        revision_id=rev["id"],
        by=p.username,
        at=now,
        document=rev["document"],
    )
    return {"standard": standard.code}


# ------------------------------------------------------------------------------ reads ----
async def revisions(
    conn: AConn, p: Principal, *, target: str | None, state: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_CATALOG)
    return await repo.revisions(conn, target=target, state=state, limit=limit, offset=offset)


async def revision(conn: AConn, p: Principal, revision_id: int) -> dict[str, Any]:
    p.require(Action.READ_CATALOG)
    row = await repo.revision(conn, revision_id, with_document=True)
    if row is None:
        raise NotFound(f"revision {revision_id} not found")
    return row


def _public(row: dict[str, Any], catalog: cat.Catalog) -> dict[str, Any]:
    data = dict(row["data"])
    category = catalog.categories.get(data["category"])
    subject = catalog.legal_subjects.get(data["legal_subject"])
    return {
        **data,
        "version": row["version"],
        "category_name": category.name if category else data["category"],
        "category_name_en": category.name_en if category else "",
        "legal_subject_detail": None if subject is None else subject.__dict__,
    }


async def matters(
    conn: AConn,
    p: Principal,
    *,
    category: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, int, list[dict[str, Any]]]:
    """(version, total, page) of the current catalog's matters."""
    p.require(Action.READ_CATALOG)
    number, catalog = await current(conn)
    total, rows = await repo.matters(
        conn, number, category=category, kind=kind, q=q, limit=limit, offset=offset
    )
    return number, total, [_public(r, catalog) for r in rows]


async def matter(
    conn: AConn, p: Principal, code: str, version: int | None = None
) -> dict[str, Any]:
    p.require(Action.READ_CATALOG)
    number, catalog = await current(conn)
    if version is not None and version != number:
        stored = await repo.version(conn, version)
        if stored is None:
            raise NotFound(f"catalog version {version} not found")
        number, catalog = version, cat.read_document(stored["document"])[0] or cat.Catalog()
    row = await repo.matter(conn, number, code)
    if row is None:
        raise NotFound(f"matter {code} not found in catalog version {number}")
    return _public(row, catalog)


async def categories(conn: AConn, p: Principal) -> tuple[int, list[cat.Category]]:
    p.require(Action.READ_CATALOG)
    number, catalog = await current(conn)
    return number, list(catalog.categories.values())


async def standards(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    p.require(Action.READ_CATALOG)
    return await repo.standards(conn)


async def _loaded_standards(conn: AConn) -> list[discretion.Standard]:
    out = []
    for row in await repo.standards(conn):
        s, problems = standard_files.read_standard(row["document"])
        assert s is not None, problems  # validated when approved
        out.append(s)
    return out


async def recommend(
    conn: AConn,
    p: Principal,
    *,
    matter_code: str,
    facts: discretion.Facts,
    act_date: date,
    decided_on: date | None = None,
) -> tuple[discretion.Recommendation, int]:
    """The recommendation for a matter of the current catalog, and that catalog's version."""
    p.require(Action.READ_CATALOG)
    for name, day in (("act_date", act_date), ("decided_on", decided_on),
                      ("discovered_on", facts.discovered_on)):  # fmt: skip
        if day is not None and not 1990 <= day.year <= 2200:
            raise Invalid(f"{name}: a year between 1990 and 2200")
    number, catalog = await current(conn)
    m = catalog.matters.get(matter_code)
    if m is None:
        raise NotFound(f"matter {matter_code} not found in catalog version {number}")
    if m.kind.value != "penalty":
        raise Invalid(f"matter {matter_code} is a {m.kind.value} matter: it carries no penalty")
    rec = discretion.recommend(await _loaded_standards(conn), m, facts, act_date, decided_on)
    return rec, number
