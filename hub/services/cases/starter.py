"""The starter catalog and discretion standard shipped in ``hub/data`` (a Shenzhen street team
in the Futian district's name), loaded into an empty hub by the demo.

It goes the ordinary way: a proposed revision and another account's approval, both audited
under the names given (the demo's are ``seed:demo-clerk`` and ``seed:demo-legal``, so the audit
log says plainly that a seed, not a person, approved them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.services.cases import catalog as service
from hub.services.cases.files import load_yaml, strip_lines

AConn = psycopg.AsyncConnection[Any]
DATA = Path(__file__).resolve().parents[2] / "data"
CATALOG = DATA / "catalog_shenzhen.yaml"
STANDARD = DATA / "discretion_shenzhen.yaml"


def _doc(path: Path) -> dict[str, Any]:
    doc, problems = load_yaml(path.read_text(encoding="utf-8"))
    if doc is None:
        raise ValueError(f"{path.name}: {'; '.join(map(str, problems))}")
    return doc


async def load(conn: AConn, proposer: str, approver: str) -> str:
    """Propose and approve the starter catalog and standard if the hub has no catalog yet;
    a line saying what was done."""
    version, _ = await service.current(conn)
    if version > 0:
        return f"catalog already at version {version}: starter not loaded"
    clerk = Principal(proposer, Role.ADMIN, "", frozenset())
    legal = Principal(approver, Role.LEGAL_REVIEWER, "", frozenset())
    rev = await service.propose(
        conn, clerk, target="catalog", kind="import", document=_doc(CATALOG),
        summary=f"starter catalog ({CATALOG.name})",
    )  # fmt: skip
    done = await service.decide(conn, legal, rev["id"], approve=True, note="starter data")
    rev = await service.propose(
        conn, clerk, target="discretion", kind="import", document=strip_lines(_doc(STANDARD)),
        summary=f"starter standard ({STANDARD.name})",
    )  # fmt: skip
    std = await service.decide(conn, legal, rev["id"], approve=True, note="starter data")
    return (
        f"catalog version {done['catalog_version']} ({len(done['changes']['added'])} matters),"
        f" discretion standard {std['standard']}"
    )
