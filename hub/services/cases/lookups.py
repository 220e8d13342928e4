"""What the case store looks up: staff as officers (with their certificates), the org tree
(the district above a team), the chain roles an account holds for a case, the catalog matter,
the party record, and the case row itself (locked)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

import psycopg

from hub.domain.cases import approvals as ap
from hub.domain.cases.case import Case, Env
from hub.domain.cases.decision import LEGAL_REVIEWER
from hub.domain.cases.law import Officer, PartyType
from hub.domain.errors import Forbidden, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.repositories.cases import casefile as repo
from hub.services.cases import codec
from hub.services.cases.calendar import work_calendar
from hub.services.cases.catalog import current
from hub.services.cases.requests import (
    PartyIn,
)

AConn = psycopg.AsyncConnection[Any]


SYSTEM_REGISTRAR = Officer(staff_id="system:hub", name="EnforceHub")

# Which account role decides a step, and at which level of the org tree.
STEP_ROLES: dict[str, tuple[Role, str]] = {
    ap.TEAM_LEADER: (Role.SUPERVISOR, "team"),
    ap.DEPARTMENT_HEAD: (Role.SUPERVISOR, "district"),
    ap.LEGAL_OFFICE: (Role.LEGAL_REVIEWER, "district"),
}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


# --------------------------------------------------------------------------- lookups -----
async def env(conn: AConn) -> Env:
    return Env(calendar=await work_calendar(conn))


async def officers(conn: AConn, staff_ids: Sequence[str]) -> tuple[Officer, ...]:
    """The named staff as the guards see them, in the order given (unknown ones refused)."""
    found = {r["staff_id"]: r for r in await repo.staff(conn, staff_ids)}
    missing = [s for s in staff_ids if s not in found]
    if missing:
        raise Invalid(f"no staff record {', '.join(missing)}", staff=missing)
    return tuple(_officer(found[s]) for s in dict.fromkeys(staff_ids))


def _officer(r: dict[str, Any], roles: frozenset[str] = frozenset()) -> Officer:
    exp = r.get("certificate_expires")
    return Officer(
        staff_id=r["staff_id"],
        name=r["name"],
        certificate_no=r.get("badge_no"),
        certificate_expires=exp.isoformat() if exp else None,
        legal_qualification=bool(r.get("legal_qualification")),
        roles=roles,
    )


async def district_of(conn: AConn, unit: str) -> str:
    """The district above ``unit`` (itself when it is one; the unit when there is none)."""
    return await repo.district_of(conn, unit) or unit


async def unit_name(conn: AConn, unit: str) -> str | None:
    return await repo.unit_name(conn, unit)


def approver_roles(p: Principal, team: str, district: str) -> frozenset[str]:
    """The chain roles ``p`` holds for a case of ``team`` (see the module docstring)."""
    roles: set[str] = set()
    for step_role, (role, level) in STEP_ROLES.items():
        unit = team if level == "team" else district
        if p.role in {role, Role.ADMIN} and unit in p.scope:
            roles.add(step_role)
    # 法制审核 (Art. 58) is the legal reviewer's, for any case they can reach
    if p.role in {Role.LEGAL_REVIEWER, Role.ADMIN} and team in p.scope:
        roles.add(LEGAL_REVIEWER)
    return frozenset(roles)


async def actor_officer(conn: AConn, p: Principal, roles: frozenset[str] = frozenset()) -> Officer:
    if p.staff_id is None:
        raise Forbidden(
            f"account {p.username} is not linked to a staff record: only staff act on cases"
        )
    rows = await repo.staff(conn, [p.staff_id])
    row = rows[0] if rows else None
    if row is None:
        raise Forbidden(f"the staff record {p.staff_id} of {p.username} does not exist")
    return _officer(row, roles)


async def catalog_matter(conn: AConn, code: str) -> tuple[int, Any, Any]:
    version, catalog = await current(conn)
    matter = catalog.matters.get(code)
    if matter is None:
        raise Invalid(f"no matter {code!r} in the catalog (version {version})", rule="matter")
    subject = catalog.legal_subjects[matter.legal_subject]
    return version, matter, subject


async def party_record(
    conn: AConn, p: Principal, party: PartyIn | None, party_id: str | None
) -> str:
    if party_id is not None:
        if await repo.party(conn, party_id) is None:
            raise Invalid(f"no party record {party_id}")
        return party_id
    if party is None:  # a clue whose party is not known yet: a record to be completed
        party = PartyIn(party_type=PartyType.CITIZEN, name="待查明")
    new = new_id("party")
    row = party.model_dump(mode="json") | {"id": new, "created_by": p.username}
    await repo.insert_party(conn, row)
    return new


async def load_party(conn: AConn, party_id: str) -> dict[str, Any] | None:
    return await repo.party(conn, party_id)


async def load_case(conn: AConn, p: Principal, case_id: str) -> tuple[dict[str, Any], Case]:
    row = p.visible(await repo.lock_case(conn, case_id), "case")
    return row, codec.decode(row["snapshot"])
