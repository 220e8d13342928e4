"""Personnel use cases: the org tree and headcounts, staff and their status, the blacklist.

Each use case checks the caller's role and reach first and runs in one transaction on the
connection it is given, writing an audit record for every change. Blacklist checks are audited
too, in a transaction of their own that commits before anything else is decided, so a refused
registration still leaves its check on record.

The blacklist is citywide and not scoped: any role with ``Action.BLACKLIST`` may check it and
add to it, whichever unit it belongs to (the approver is named on every entry); registering a
person runs the check on behalf of whoever registers them. Entries are keyed by the HMAC of the
national ID number (``hub.security``); the number itself is never stored or logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain.errors import Conflict, Forbidden, Invalid, NotFound
from hub.domain.personnel import (
    BLACKLISTABLE,
    GONE,
    Change,
    Placement,
    StaffKind,
    StaffStatus,
    transition,
)
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.repositories import audit, org
from hub.repositories import staff as repo
from hub.security import national_id_hash

AConn = psycopg.AsyncConnection[Any]

# A change "as of" a moment this far ahead of the server clock is a mistake (or a schedule,
# which the hub does not keep): status is what holds now.
CLOCK_SKEW = timedelta(minutes=5)


# --------------------------------------------------------------------------- org tree -----
async def org_units(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    return await org.units(conn, p.scope)


# A unit sits one level below its parent: the city, its districts, their street teams.
CHILD_LEVEL = {"city": "district", "district": "street"}
UNIT_EDITABLE = ("name", "name_en", "establishment")


async def create_unit(conn: AConn, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A new district or street team under a unit in the caller's reach (``org.manage``); its
    level follows from its parent's. Audited."""
    p.require(Action.MANAGE_ORG)
    parent_id = data["parent_id"]
    async with conn.transaction():
        parent = await org.unit(conn, parent_id)
        if parent is None or parent_id not in p.scope:
            raise NotFound(f"org unit {parent_id} not found")
        level = CHILD_LEVEL.get(parent["level"])
        if level is None:
            raise Invalid(
                f"org unit {parent_id} is a street team: nothing is organised below a team"
            )
        if await org.unit(conn, data["id"]) is not None:
            raise Conflict(f"org unit id {data['id']} is already taken")
        row = {
            "id": data["id"],
            "parent_id": parent_id,
            "level": level,
            "name": data["name"],
            "name_en": data.get("name_en"),
            "establishment": data.get("establishment", 0),
        }
        try:
            await org.insert_unit(conn, row)
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"org unit id {data['id']} is already taken") from None
        await audit.record(
            conn, p.username, "org_unit.create", "org_unit", row["id"], org_unit_id=row["id"],
            after=row,
        )  # fmt: skip
    return row


async def update_unit(
    conn: AConn, p: Principal, unit_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename a unit or set its establishment (编制), for units in reach (``org.manage``).
    Only what differs is written and audited; the tree's shape is not changed here."""
    p.require(Action.MANAGE_ORG)
    assert set(changes) <= set(UNIT_EDITABLE), changes
    async with conn.transaction():
        before = await org.unit(conn, unit_id, lock=True)
        if before is None or unit_id not in p.scope:
            raise NotFound(f"org unit {unit_id} not found")
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return before
        await org.update_unit(conn, unit_id, changed)
        after = await org.unit(conn, unit_id)
        assert after is not None
        await audit.record(
            conn, p.username, "org_unit.update", "org_unit", unit_id, org_unit_id=unit_id,
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        )  # fmt: skip
    return after


@dataclass
class Tally:
    establishment: int = 0
    actual: int = 0  # on the unit's books: not dismissed, not transferred out
    on_duty: int = 0
    on_leave: int = 0
    seconded_out: int = 0  # on the books, working for another unit
    by_kind: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k.value: {"actual": 0, "on_duty": 0} for k in StaffKind}
    )

    def add(self, other: Tally) -> None:
        self.establishment += other.establishment
        self.actual += other.actual
        self.on_duty += other.on_duty
        self.on_leave += other.on_leave
        self.seconded_out += other.seconded_out
        for kind, numbers in other.by_kind.items():
            for key, n in numbers.items():
                self.by_kind[kind][key] += n


def tally(units: list[dict[str, Any]], counts: list[dict[str, Any]]) -> dict[str, Tally]:
    """Per unit, its own staff and establishment plus everything below it (in ``units``)."""
    own = {u["id"]: Tally(establishment=u["establishment"]) for u in units}
    for c in counts:
        t = own.get(c["org_unit_id"])
        if t is None:
            continue
        status, n = StaffStatus(c["status"]), int(c["n"])
        if status in GONE:
            continue
        t.actual += n
        t.by_kind[c["kind"]]["actual"] += n
        if status is StaffStatus.ON_DUTY:
            t.on_duty += n
            t.by_kind[c["kind"]]["on_duty"] += n
        elif status is StaffStatus.ON_LEAVE:
            t.on_leave += n
        elif status is StaffStatus.SECONDED:
            t.seconded_out += n
    parent = {u["id"]: u["parent_id"] for u in units}
    total = {uid: Tally() for uid in own}
    for uid, t in own.items():
        node: str | None = uid
        while node is not None and node in total:  # up to the top of the caller's reach
            total[node].add(t)
            node = parent[node]
    return total


async def headcount(conn: AConn, p: Principal) -> dict[str, Any]:
    """Establishment vs actual vs on duty now, per team in reach, and totals for each district
    and the city when the caller reaches all of it."""
    p.require(Action.READ_STAFF)
    async with conn.transaction():  # one snapshot for units and counts
        units = await org.units(conn, p.scope)
        counts = await repo.counts(conn, p.scope)
    totals = tally(units, counts)

    def shape(u: dict[str, Any]) -> dict[str, Any]:
        t = totals[u["id"]]
        return {
            "org_unit_id": u["id"],
            "parent_id": u["parent_id"],
            "level": u["level"],
            "name": u["name"],
            "establishment": t.establishment,
            "actual": t.actual,
            "vacancies": t.establishment - t.actual,
            "on_duty": t.on_duty,
            "on_leave": t.on_leave,
            "seconded_out": t.seconded_out,
            "by_kind": t.by_kind,
        }

    city = [shape(u) for u in units if u["level"] == "city"]
    return {
        "at": datetime.now(UTC),
        "teams": [shape(u) for u in units if u["level"] == "street"],
        "districts": [shape(u) for u in units if u["level"] == "district"],
        "city": city[0] if city else None,
    }


# --------------------------------------------------------------------------- staff --------
async def person(conn: AConn, p: Principal, staff_id: str) -> dict[str, Any]:
    p.require(Action.READ_STAFF)
    return p.visible(await repo.get(conn, staff_id), f"staff {staff_id}")


async def list_staff(
    conn: AConn, p: Principal, filters: dict[str, Any], *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_STAFF)
    return await repo.listing(conn, p.scope, filters=filters, limit=limit, offset=offset)


async def history(conn: AConn, p: Principal, staff_id: str) -> list[dict[str, Any]]:
    await person(conn, p, staff_id)
    return await repo.history(conn, staff_id)


def _listed_detail(entry: dict[str, Any]) -> str:
    return (
        f"this person is on the citywide blacklist since "
        f"{entry['listed_at'].date().isoformat()} (approved by {entry['approver']}): "
        f"{entry['reason']}; they cannot be registered in any team"
    )


async def _audited_check(
    conn: AConn, p: Principal, id_hash: str, *, purpose: str, org_unit_id: str, **note: Any
) -> dict[str, Any] | None:
    """Look the hash up and record that we did, committed whatever the caller does next."""
    async with conn.transaction():
        entry = await repo.blacklist_entry(conn, id_hash)
        await audit.record(
            conn,
            p.username,
            "blacklist.check",
            "blacklist",
            id_hash,
            org_unit_id=org_unit_id,
            after={
                "purpose": purpose,
                "listed": entry is not None,
                **({"listed_at": entry["listed_at"].isoformat()} if entry else {}),
                **note,
            },
        )
    return entry


async def register(
    conn: AConn, p: Principal, data: dict[str, Any], national_id: str, *, id_key: str
) -> dict[str, Any]:
    """Put a person on a team's books, unless the city has blacklisted them."""
    p.require(Action.MANAGE_STAFF)
    unit_id = data["org_unit_id"]
    p.reach(unit_id, f"org unit {unit_id}")
    if data["kind"] == StaffKind.OFFICER.value and not data.get("badge_no"):
        raise Invalid(
            "an officer (执法人员) is registered with their enforcement certificate number"
        )
    id_hash = national_id_hash(id_key, national_id)  # Invalid: a malformed number
    entry = await _audited_check(
        conn, p, id_hash, purpose="registration", org_unit_id=unit_id, staff_id=data["staff_id"]
    )
    if entry is not None:
        raise Conflict(
            _listed_detail(entry),
            listed_at=entry["listed_at"].isoformat(),
            approver=entry["approver"],
            reason=entry["reason"],
        )
    now = datetime.now(UTC)
    async with conn.transaction():
        if await repo.get(conn, data["staff_id"]) is not None:
            raise Conflict(f"staff id {data['staff_id']} is already taken")
        existing = await repo.by_id_hash(conn, id_hash)
        if existing is not None:
            where = (
                f"as {existing['staff_id']} ({existing['status']})"
                if existing["org_unit_id"] in p.scope
                else "with another team: transfer them rather than register them again"
            )
            raise Conflict(f"a person with this national ID number is already on record {where}")
        try:
            await repo.insert(
                conn,
                {
                    **data,
                    "status": StaffStatus.OFF_DUTY.value,
                    "id_hash": id_hash,
                    "at": now,
                },
            )
        except psycopg.errors.UniqueViolation as e:
            # The checks above, lost to a concurrent registration; or a badge already issued.
            clash = {
                "staff_pkey": f"staff id {data['staff_id']} is already taken",
                "staff_id_hash_idx": "a person with this national ID number is already on record",
            }.get(e.diag.constraint_name or "")
            raise Conflict(
                clash or f"badge number {data.get('badge_no')} belongs to someone else"
            ) from None
        await repo.add_history(
            conn,
            data["staff_id"],
            effective_at=now,
            status=StaffStatus.OFF_DUTY.value,
            org_unit_id=unit_id,
            seconded_to=None,
            reason="registered",
            actor=p.username,
        )
        row = await repo.get(conn, data["staff_id"])
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "staff.create",
            "staff",
            data["staff_id"],
            org_unit_id=unit_id,
            after={**audit.jsonable(row), "national_id": "hashed"},
        )
    return row


async def change_status(
    conn: AConn,
    p: Principal,
    staff_id: str,
    target: StaffStatus,
    *,
    reason: str,
    org_unit_id: str | None = None,  # transferred: the new team
    seconded_to: str | None = None,  # seconded: the host unit
    effective_at: datetime | None = None,
    blacklist: tuple[str, str] | None = None,  # (reason, approver)
) -> dict[str, Any]:
    """Move a person in their working life, with the date it took effect; a transfer or a
    secondment needs reach over both units. A dismissal for serious misconduct may blacklist
    an auxiliary or patrol member citywide (``Action.BLACKLIST``)."""
    p.require(Action.MANAGE_STAFF)
    if blacklist is not None:
        p.require(Action.BLACKLIST)
    now = datetime.now(UTC)
    effective = effective_at or now
    if effective > now + CLOCK_SKEW:
        raise Invalid("effective_at is in the future: record a change when it takes effect")
    change = Change(target, org_unit_id, seconded_to, blacklist=blacklist is not None)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, staff_id, lock=True), f"staff {staff_id}")
        for unit_id in (org_unit_id, seconded_to):
            if unit_id is not None:
                p.reach(unit_id, f"org unit {unit_id}")
        current = Placement(
            StaffStatus(before["status"]), before["org_unit_id"], before["seconded_to"]
        )
        outcome = transition(StaffKind(before["kind"]), current, change)
        last = await repo.last_effective_at(conn, staff_id)
        if last is not None and effective < last:
            raise Invalid(
                f"effective_at {effective.isoformat()} is before their last recorded change "
                f"({last.isoformat()}): the history is kept in order"
            )
        id_hash = await repo.id_hash_of(conn, staff_id) if blacklist else None
        if blacklist is not None and id_hash is None:
            raise Conflict(
                f"no national ID number is on record for {staff_id}: dismiss them, then add "
                "them with POST /api/v1/blacklist"
            )
        new = outcome.placement
        await repo.place(
            conn,
            staff_id,
            status=new.status.value,
            org_unit_id=new.org_unit_id,
            seconded_to=new.seconded_to,
            at=now,
        )
        await repo.add_history(
            conn,
            staff_id,
            effective_at=effective,
            status=outcome.recorded_as.value,
            org_unit_id=new.org_unit_id,
            seconded_to=new.seconded_to,
            reason=reason,
            actor=p.username,
        )
        after = await repo.get(conn, staff_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            f"staff.status.{change.target.value}",
            "staff",
            staff_id,
            org_unit_id=before["org_unit_id"],
            before=audit.jsonable(before),
            after={
                **audit.jsonable(after),
                "reason": reason,
                "effective_at": effective.isoformat(),
            },
        )
        if blacklist is not None and id_hash is not None:
            await _list(
                conn, p, id_hash, blacklist, staff_id=staff_id, org_unit_id=before["org_unit_id"]
            )
    return after


async def update_staff(
    conn: AConn, p: Principal, staff_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Set a person's enforcement certificate (number, expiry) and their legal qualification
    (法律职业资格). Only what differs is written; the change is audited with both sides. An
    officer keeps a certificate number: the case rules count certified officers by it."""
    p.require(Action.MANAGE_STAFF)
    assert set(changes) <= set(repo.EDITABLE), changes
    async with conn.transaction():
        before = p.visible(await repo.get(conn, staff_id, lock=True), f"staff {staff_id}")
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return before
        if (
            "badge_no" in changed
            and changed["badge_no"] is None
            and before["kind"] == StaffKind.OFFICER.value
        ):
            raise Invalid("an officer (执法人员) keeps their enforcement certificate number")
        try:
            await repo.update(conn, staff_id, changed, at=datetime.now(UTC))
        except psycopg.errors.UniqueViolation:
            raise Conflict(
                f"badge number {changed.get('badge_no')} belongs to someone else"
            ) from None
        after = await repo.get(conn, staff_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "staff.update",
            "staff",
            staff_id,
            org_unit_id=before["org_unit_id"],
            before=audit.jsonable({k: before[k] for k in changed}),
            after=audit.jsonable({k: after[k] for k in changed}),
        )
    return after


# --------------------------------------------------------------------------- blacklist ----
async def _list(
    conn: AConn,
    p: Principal,
    id_hash: str,
    why: tuple[str, str],
    *,
    staff_id: str | None,
    org_unit_id: str,
) -> dict[str, Any]:
    reason, approver = why
    entry = await repo.blacklist_add(
        conn, id_hash, reason=reason, approver=approver, staff_id=staff_id, at=datetime.now(UTC)
    )
    if entry is None:
        existing = await repo.blacklist_entry(conn, id_hash)
        assert existing is not None
        raise Conflict(
            f"already on the blacklist since {existing['listed_at'].date().isoformat()} "
            f"(approved by {existing['approver']})"
        )
    await audit.record(
        conn,
        p.username,
        "blacklist.add",
        "blacklist",
        id_hash,
        org_unit_id=org_unit_id,
        after={k: v for k, v in audit.jsonable(entry).items() if k != "id_hash"},
    )
    return entry


async def check(conn: AConn, p: Principal, national_id: str, *, id_key: str) -> dict[str, Any]:
    """Is this national ID number blacklisted? Audited either way."""
    if not (allowed(p.role, Action.BLACKLIST) or allowed(p.role, Action.MANAGE_STAFF)):
        raise Forbidden(f"role {p.role.value} may not check the blacklist")
    id_hash = national_id_hash(id_key, national_id)
    entry = await _audited_check(conn, p, id_hash, purpose="check", org_unit_id=p.org_unit_id)
    return _answer(entry)


def _answer(entry: dict[str, Any] | None) -> dict[str, Any]:
    if entry is None:
        return {"listed": False, "listed_at": None, "reason": None, "approver": None}
    return {
        "listed": True,
        "listed_at": entry["listed_at"],
        "reason": entry["reason"],
        "approver": entry["approver"],
    }


async def add_to_blacklist(
    conn: AConn, p: Principal, national_id: str, *, reason: str, approver: str, id_key: str
) -> dict[str, Any]:
    """List someone directly: a person dismissed before the hub, or never on our books.

    Someone still on a team's books is dismissed with a blacklist entry instead, so the
    dismissal and its date are on their record; an officer is never listed.
    """
    p.require(Action.BLACKLIST)
    id_hash = national_id_hash(id_key, national_id)
    async with conn.transaction():
        person_row = await repo.by_id_hash(conn, id_hash)
        unit = p.org_unit_id
        if person_row is not None:
            known = person_row["org_unit_id"] in p.scope
            if StaffStatus(person_row["status"]) not in GONE:
                raise Conflict(
                    "this person is on a team's books: dismiss them with a blacklist entry"
                    + (f" (POST /api/v1/staff/{person_row['staff_id']}/status)" if known else "")
                )
            if StaffKind(person_row["kind"]) not in BLACKLISTABLE:
                raise Conflict(
                    "this person was an officer (执法人员): officers are civil servants and are "
                    "not blacklisted; only auxiliaries and patrol members are"
                )
            unit = person_row["org_unit_id"]
        entry = await _list(
            conn,
            p,
            id_hash,
            (reason, approver),
            staff_id=person_row["staff_id"] if person_row else None,
            org_unit_id=unit,
        )
    return _answer(entry)
