"""The case file's write side: every command in one transaction (CASES.md §3, §8; DESIGN.md
zero loss)::

    lock the case row ─> lifecycle.transition (pure; a refusal names its rule, nothing written)
      ─> case_events row + its log leaf ─> effects: documents (prepare() for modelled types) +
         their leaves, timers started / stopped, approval steps decided / opened
      ─> the case row (state, projections, snapshot) ─> audit_log ─> commit

Who acts is the caller's staff record (its certificate from ``staff``); approvers get the
chain's roles from their account role and reach: ``team_leader`` is a ``supervisor`` whose reach
holds the case's team, ``department_head`` a ``supervisor`` whose reach holds the team's
district, ``legal_office`` a ``legal_reviewer`` whose reach holds the district (an ``admin``
counts as both account roles). 立案 numbers are taken under ``case_number_counters``' row lock
in the approving transaction, so a refused or rolled-back filing gives its number back.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hub.domain.cases import approvals as ap
from hub.domain.cases import commands as c
from hub.domain.cases import deadlines, lifecycle
from hub.domain.cases.case import Case, Env
from hub.domain.cases.effects import (
    AwaitApproval,
    DayUnit,
    Effect,
    IssueDocument,
    LogEntry,
    StartTimer,
    StopTimer,
)
from hub.domain.cases.guards import local_day, sha256_text
from hub.domain.cases.law import Officer, Penalty
from hub.domain.cases.numbering import format_number, next_number
from hub.domain.errors import Forbidden, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action, Role
from hub.repositories import audit
from hub.services.cases import codec
from hub.services.cases import documents as docs
from hub.services.cases import logentries
from hub.services.cases.calendar import work_calendar
from hub.services.cases.requests import (
    CaseSummary,
    ClueRequest,
    CommandRequest,
    DocumentRecord,
    EvidenceItem,
    PartyIn,
)
from hub.transparency import store as tlog

AConn = psycopg.AsyncConnection[Any]
SYSTEM_REGISTRAR = Officer(staff_id="system:hub", name="EnforceHub")

# Which account role decides a step, and at which level of the org tree.
STEP_ROLES: dict[str, tuple[Role, str]] = {
    ap.TEAM_LEADER: (Role.SUPERVISOR, "team"),
    ap.DEPARTMENT_HEAD: (Role.SUPERVISOR, "district"),
    ap.LEGAL_OFFICE: (Role.LEGAL_REVIEWER, "district"),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


# --------------------------------------------------------------------------- lookups -----
async def _env(conn: AConn) -> Env:
    return Env(calendar=await work_calendar(conn))


async def officers(conn: AConn, staff_ids: Sequence[str]) -> tuple[Officer, ...]:
    """The named staff as the guards see them, in the order given (unknown ones refused)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT staff_id, name, badge_no, certificate_expires, legal_qualification"
        " FROM staff WHERE staff_id = ANY(%s)",
        (list(staff_ids),),
    )
    found = {r["staff_id"]: r for r in await cur.fetchall()}
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
    cur = await conn.execute(
        "WITH RECURSIVE up AS (SELECT id, parent_id, level, 0 AS depth FROM org_units"
        " WHERE id = %s UNION ALL SELECT o.id, o.parent_id, o.level, up.depth + 1"
        " FROM org_units o JOIN up ON o.id = up.parent_id)"
        " SELECT id FROM up WHERE level = 'district' ORDER BY depth LIMIT 1",
        (unit,),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else unit


async def _unit_name(conn: AConn, unit: str) -> str | None:
    cur = await conn.execute("SELECT name FROM org_units WHERE id = %s", (unit,))
    row = await cur.fetchone()
    return str(row[0]) if row else None


def approver_roles(p: Principal, team: str, district: str) -> frozenset[str]:
    """The chain roles ``p`` holds for a case of ``team`` (see the module docstring)."""
    roles: set[str] = set()
    for step_role, (role, level) in STEP_ROLES.items():
        unit = team if level == "team" else district
        if (p.role == role or p.role == Role.ADMIN) and unit in p.scope:
            roles.add(step_role)
    return frozenset(roles)


async def _actor(conn: AConn, p: Principal, roles: frozenset[str] = frozenset()) -> Officer:
    if p.staff_id is None:
        raise Forbidden(
            f"account {p.username} is not linked to a staff record: only staff act on cases"
        )
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT staff_id, name, badge_no, certificate_expires, legal_qualification"
        " FROM staff WHERE staff_id = %s",
        (p.staff_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise Forbidden(f"the staff record {p.staff_id} of {p.username} does not exist")
    return _officer(row, roles)


async def _catalog_matter(conn: AConn, code: str) -> tuple[int, Any, Any]:
    from hub.services.cases.catalog import current

    version, catalog = await current(conn)
    matter = catalog.matters.get(code)
    if matter is None:
        raise Invalid(f"no matter {code!r} in the catalog (version {version})", rule="matter")
    subject = catalog.legal_subjects[matter.legal_subject]
    return version, matter, subject


async def _party(conn: AConn, p: Principal, party: PartyIn | None, party_id: str | None) -> str:
    if party_id is not None:
        cur = await conn.execute("SELECT 1 FROM case_parties WHERE id = %s", (party_id,))
        if await cur.fetchone() is None:
            raise Invalid(f"no party record {party_id}")
        return party_id
    if party is None:  # a clue whose party is not known yet: a record to be completed
        party = PartyIn(party_type=c.PartyType.CITIZEN, name="待查明")
    new = _new_id("party")
    await conn.execute(
        "INSERT INTO case_parties (id, party_type, name, id_type, id_number, credit_code,"
        " legal_representative, phone, address, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            new,
            party.party_type.value,
            party.name,
            party.id_type,
            party.id_number,
            party.credit_code,
            party.legal_representative,
            party.phone,
            party.address,
            p.username,
        ),
    )
    return new


# --------------------------------------------------------------------------- persisting --
class _Write:
    """One command's writes: the event, its effects and the case row, in the open transaction."""

    def __init__(
        self,
        conn: AConn,
        *,
        actor: str,
        actor_staff: str | None,
        org_unit_id: str,
        team_name: str | None,
        payload: dict[str, Any],
        now: dt.datetime,
        prebuilt: dict[str, docs.Built],
        party_row: dict[str, Any] | None,
        named: tuple[Officer, ...],
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.actor_staff = actor_staff
        self.org_unit_id = org_unit_id
        self.team_name = team_name
        self.payload = payload
        self.payload_hash = logentries.payload_sha256(payload)
        self.now = now
        self.prebuilt = prebuilt
        self.party_row = party_row
        self.named = named
        self.documents: list[str] = []
        self.seq = 0
        self._cal: Any = None

    async def effects(self, case: Case, effects: list[Effect], command: str) -> None:
        entry = effects[-1]
        assert isinstance(entry, LogEntry)
        await self._event(case, entry, command)
        if command in ("approve", "reject"):
            await self._decide_step(command)
        for e in effects[:-1]:
            if isinstance(e, IssueDocument):
                await self._document(case, e)
            elif isinstance(e, StartTimer):
                await self._start(case, e)
            elif isinstance(e, StopTimer):
                await self.conn.execute(
                    "UPDATE case_timers SET stopped_at = %s, stop_reason = %s"
                    " WHERE case_id = %s AND code = %s AND ref = %s AND stopped_at IS NULL",
                    (self.now, e.reason, case.case_id, e.code.value, e.ref),
                )
            elif isinstance(e, AwaitApproval):
                await self._await(case, e)

    async def _event(self, case: Case, entry: LogEntry, command: str) -> None:
        refs = {k: list(v) if isinstance(v, tuple) else v for k, v in entry.refs}
        log = logentries.event_entry(
            case_id=case.case_id,
            seq=entry.seq,
            at=self.now,
            kind=entry.kind,
            command=command,
            state_from=entry.state_from,
            state_to=entry.state_to,
            case_number=case.number,
            refs=refs,
            payload_hash=self.payload_hash,
        )
        queued = await tlog.append(self.conn, log)
        await self.conn.execute(
            "INSERT INTO case_events (case_id, seq, at, actor, actor_staff, command, kind,"
            " state_from, state_to, case_number, refs, payload, payload_sha256, tlog_queue_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                case.case_id,
                entry.seq,
                self.now,
                self.actor,
                self.actor_staff,
                command,
                entry.kind,
                entry.state_from,
                entry.state_to,
                case.number,
                Jsonb(refs),
                Jsonb(self.payload),
                self.payload_hash,
                queued.queue_id,
            ),
        )
        self.seq = entry.seq

    async def _decide_step(self, command: str) -> None:
        decision = "approved" if command == "approve" else "rejected"
        opinion = self.payload.get("opinion") or self.payload.get("reason")
        await self.conn.execute(
            "UPDATE case_approval_steps SET decided_at = %s, decided_by = %s, decision = %s,"
            " opinion = %s WHERE case_id = %s AND decided_at IS NULL",
            (self.now, self.actor, decision, opinion, self.payload["case_id"]),
        )

    async def _await(self, case: Case, e: AwaitApproval) -> None:
        role, level = STEP_ROLES.get(e.step.role, (Role.SUPERVISOR, "district"))
        unit = self.org_unit_id if level == "team" else await district_of(self.conn, self.org_unit_id)
        await self.conn.execute(
            "INSERT INTO case_approval_steps (case_id, act, step_index, step_role, step_label,"
            " hub_role, org_unit_id, requested_at, requested_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                case.case_id,
                e.act.value,
                e.step_index,
                e.step.role,
                e.step.label,
                role.value,
                unit,
                self.now,
                self.actor,
            ),
        )

    async def _start(self, case: Case, e: StartTimer) -> None:
        rule = deadlines.RULES.get(e.code.value)
        before = rule.warn_before if rule is not None else 1
        if self._cal is None:
            self._cal = (await _env(self.conn)).calendar
        cal = self._cal
        if e.unit is DayUnit.WORKING:
            warn = cal.subtract_working_days(e.due, before)  # type: ignore[attr-defined]
        else:
            warn = e.due - dt.timedelta(days=before)
        warn = max(warn, e.start)
        await self.conn.execute(
            "INSERT INTO case_timers (case_id, code, ref, started_on, due_on, warn_on, unit,"
            " length, provisional) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (case_id, code, ref) DO UPDATE SET started_on = EXCLUDED.started_on,"
            " due_on = EXCLUDED.due_on, warn_on = EXCLUDED.warn_on, unit = EXCLUDED.unit,"
            " length = EXCLUDED.length, provisional = EXCLUDED.provisional,"
            " stopped_at = NULL, stop_reason = NULL",
            (
                case.case_id,
                e.code.value,
                e.ref,
                e.start,
                e.due,
                warn,
                e.unit.value,
                e.length,
                e.provisional,
            ),
        )

    async def _contents(self, case_id: str, doc_type: str) -> dict[str, Any] | None:
        mine = self.payload.get("document")
        if isinstance(mine, dict) and mine.get("doc_type") == doc_type:
            return mine
        cur = await self.conn.execute(
            "SELECT payload->'document' FROM case_events WHERE case_id = %s"
            " AND payload->'document'->>'doc_type' = %s ORDER BY seq DESC LIMIT 1",
            (case_id, doc_type),
        )
        row = await cur.fetchone()
        return row[0] if row else None

    async def _approvals(self, case_id: str) -> list[dict[str, Any]]:
        """The signatures of the chain just completed (the latest decided steps of its act)."""
        cur = self.conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT s.step_label, s.decided_at, s.decision, s.opinion, coalesce(st.name,"
            " s.decided_by) AS name FROM case_approval_steps s"
            " LEFT JOIN users u ON u.username = s.decided_by"
            " LEFT JOIN staff st ON st.staff_id = u.staff_id"
            " WHERE s.case_id = %s AND s.act = (SELECT act FROM case_approval_steps"
            " WHERE case_id = %s ORDER BY id DESC LIMIT 1) AND s.decided_at IS NOT NULL"
            " ORDER BY s.id",
            (case_id, case_id),
        )
        rows = await cur.fetchall()
        # only the last run of the chain (a rejected earlier run is not this form's)
        start = max((i for i, r in enumerate(rows) if r["decision"] == "rejected"), default=-1)
        return [
            {
                "role": r["step_label"] or "负责人",
                "name": r["name"],
                "opinion": r["opinion"] or "同意",
                "approved": r["decision"] == "approved",
                "at": r["decided_at"],
            }
            for r in rows[start + 1 :]
        ]

    async def _document(self, case: Case, e: IssueDocument) -> None:
        modelled = docs.MODELLED.get(e.doc_type)
        built: docs.Built | None = None
        if modelled is not None and modelled.value in self.prebuilt:
            built = self.prebuilt.pop(modelled.value)
        elif modelled is not None:
            contents = await self._contents(case.case_id, modelled.value)
            if contents is not None:
                k = await _next_k(self.conn, case.case_id, modelled.value)
                number = docs.number_for(modelled.value, case.number, case.case_id, k)
                built = docs.build_model(
                    modelled,
                    contents,
                    number=number,
                    subject=docs.subject_of(case.subject, self.team_name),
                    issued_at=self.now,
                    case_number=case.number,
                    party=docs.party_of(self.party_row) if self.party_row else None,
                    officers=[docs.doc_officer(o) for o in self.named],
                    approvals=await self._approvals(case.case_id),
                )
        if built is None:
            k = await _next_k(self.conn, case.case_id, e.doc_type.value)
            number = docs.number_for(e.doc_type.value, case.number, case.case_id, k)
            built = docs.act_record(
                e.doc_type,
                number=number,
                case_id=case.case_id,
                ref=e.ref,
                seq=self.seq,
                issued_at=self.now,
                payload_sha256=self.payload_hash,
            )
        await self.store_document(case.case_id, built, ref=e.ref, scene=e.printed_at_scene)

    async def store_document(
        self,
        case_id: str,
        built: docs.Built,
        *,
        ref: str,
        scene: bool = False,
        terminal_id: str | None = None,
    ) -> str:
        doc_id = _new_id("doc")
        row = {
            "id": doc_id,
            "case_id": case_id,
            "doc_type": built.doc_type,
            "number": built.number,
            "sha256": built.sha256,
            "issued_at": self.now,
        }
        queued = await tlog.append(self.conn, logentries.document_entry(row))
        await self.conn.execute(
            "INSERT INTO case_documents (id, case_id, seq, doc_type, number, ref, sha256,"
            " canonical, modelled, issued_at, issued_by, printed_at_scene, terminal_id,"
            " tlog_queue_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                doc_id,
                case_id,
                self.seq,
                built.doc_type,
                built.number,
                ref,
                built.sha256,
                built.canonical,
                built.modelled,
                self.now,
                self.actor,
                scene,
                terminal_id,
                queued.queue_id,
            ),
        )
        self.documents.append(doc_id)
        return doc_id


async def _next_k(conn: AConn, case_id: str, doc_type: str) -> int:
    """The counter of a document number: how many of this type the case has, plus one."""
    cur = await conn.execute(
        "SELECT count(*) FROM case_documents WHERE case_id = %s AND doc_type = %s",
        (case_id, doc_type),
    )
    row = await cur.fetchone()
    return int(row[0]) + 1 if row else 1


async def _project(conn: AConn, case: Case, now: dt.datetime) -> None:
    """The case row after an event: state, number, officers, the earliest running timer."""
    decided_fine: Decimal | None = case.decided.fine if case.decided is not None else None
    await conn.execute(
        "UPDATE cases SET state = %s, number = %s, seq = %s, officers = %s, filed_on = %s,"
        " decided_on = %s, pending_act = %s, decided_fine = %s, updated_at = %s, snapshot = %s,"
        " next_due = (SELECT min(due_on) FROM case_timers WHERE case_id = %s"
        " AND stopped_at IS NULL),"
        " next_warn = (SELECT min(warn_on) FROM case_timers WHERE case_id = %s"
        " AND stopped_at IS NULL) WHERE id = %s",
        (
            case.state.value,
            case.number,
            case.seq,
            sorted(case.officers),
            case.filed_on,
            case.decided_on,
            case.pending.act.value if case.pending else None,
            decided_fine,
            now,
            Jsonb(codec.encode(case)),
            case.case_id,
            case.case_id,
            case.case_id,
        ),
    )


async def _summary(conn: AConn, case_id: str, w: _Write | None = None) -> CaseSummary:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, number, state, procedure, seq, org_unit_id, matter_code, pending_act,"
        " next_due, next_warn FROM cases WHERE id = %s",
        (case_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return CaseSummary(**row, documents=w.documents if w else [])


async def _insert_case(
    conn: AConn,
    case: Case,
    *,
    org_unit_id: str,
    catalog_version: int,
    source: str,
    incident_id: int | None,
    place: str | None,
    lat: float | None,
    lon: float | None,
    lead: str | None,
    officer_ids: Sequence[str],
    opened_by: str,
    now: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO cases (id, number, legal_subject, procedure, state, org_unit_id,"
        " matter_code, catalog_version, party_id, source, incident_id, act_date, discovered_on,"
        " severe_harm, place, lat, lon, lead_officer, officers, opened_by, opened_at,"
        " updated_at, seq, snapshot) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s)",
        (
            case.case_id,
            case.number,
            case.subject.code,
            case.procedure.value,
            case.state.value,
            org_unit_id,
            case.matter.code,
            catalog_version,
            case.party_id,
            source,
            incident_id,
            case.act_date,
            case.discovered,
            case.severe_harm,
            place,
            lat,
            lon,
            lead,
            sorted(set(officer_ids) | case.officers),
            opened_by,
            now,
            now,
            Jsonb(codec.encode(case)),
        ),
    )


async def _party_row(conn: AConn, party_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM case_parties WHERE id = %s", (party_id,))
    return await cur.fetchone()


# --------------------------------------------------------------------------- opening -----
async def open_clue(
    conn: AConn, p: Principal, req: ClueRequest, *, now: dt.datetime | None = None
) -> str:
    """受理: register a clue; returns the new case's id."""
    p.require(Action.OPEN_CLUE)
    unit = req.org_unit_id or p.org_unit_id
    p.reach(unit, "org unit")
    now = now or _now()
    async with conn.transaction():
        return await _open(conn, p, req, unit, now)


async def _open(
    conn: AConn, p: Principal, req: ClueRequest, unit: str, now: dt.datetime
) -> str:
    version, matter, subject = await _catalog_matter(conn, req.matter_code)
    named = await officers(conn, req.officers) if req.officers else ()
    if p.staff_id is not None:
        registrar = await _actor(conn, p)
    else:  # a dispatcher's account without a staff record registers as its account
        registrar = Officer(staff_id=f"user:{p.username}", name=p.username)
    party_id = await _party(conn, p, req.party, req.party_id)
    party_row = await _party_row(conn, party_id)
    assert party_row is not None
    case_id = _new_id("case")
    payload = {"case_id": case_id, "command": "open_clue", **req.model_dump(mode="json")}
    cmd = c.OpenClue(
        case_id=case_id,
        subject=subject,
        matter=matter,
        party_type=c.PartyType(party_row["party_type"]),
        party_id=party_id,
        source=req.source,
        act_date=req.act_date,
        severe_harm=req.severe_harm,
        registered_by=registrar,
        source_sha256=logentries.payload_sha256(payload),
    )
    case, effects = lifecycle.open_clue(cmd, now, await _env(conn))
    lead = named[0].staff_id if named else p.staff_id
    await _insert_case(
        conn,
        replace(case, seq=0),
        org_unit_id=unit,
        catalog_version=version,
        source=req.source.value,
        incident_id=req.incident_id,
        place=req.place,
        lat=req.lat,
        lon=req.lon,
        lead=lead,
        officer_ids=[o.staff_id for o in named],
        opened_by=p.username,
        now=now,
    )
    w = _Write(
        conn,
        actor=p.username,
        actor_staff=p.staff_id,
        org_unit_id=unit,
        team_name=await _unit_name(conn, unit),
        payload=payload,
        now=now,
        prebuilt={},
        party_row=party_row,
        named=named,
    )
    await w.effects(case, effects, "open_clue")
    await _project(conn, case, now)
    await audit.record(
        conn,
        p.username,
        "case.open_clue",
        "case",
        case_id,
        org_unit_id=unit,
        after={"state": case.state.value, "matter": matter.code, "source": req.source.value},
    )
    return case_id


async def clue_from_incident(
    conn: AConn,
    p: Principal,
    incident_id: int,
    matter_code: str,
    *,
    party: PartyIn | None = None,
    party_id: str | None = None,
    officers: Sequence[str] = (),
    act_date: dt.date | None = None,
    severe_harm: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """One click in the dispatch console: the incident's place, time and team become a clue's
    (a citizen's report gives source ``citizen``). One clue per incident: a second click
    returns the first one's id."""
    p.require(Action.OPEN_CLUE)
    now = now or _now()
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT id, org_unit_id, source, description, lat, lon, address, reported_at"
            " FROM incidents WHERE id = %s FOR UPDATE",
            (incident_id,),
        )
        inc = p.visible(await cur.fetchone(), "incident")
        cur2 = await conn.execute(
            "SELECT id FROM cases WHERE incident_id = %s ORDER BY opened_at LIMIT 1",
            (incident_id,),
        )
        existing = await cur2.fetchone()
        if existing is not None:
            return str(existing[0])
        reported = inc["reported_at"]
        req = ClueRequest(
            matter_code=matter_code,
            party=party,
            party_id=party_id,
            source=c.ClueSource.CITIZEN if inc["source"] == "citizen" else c.ClueSource.INCIDENT,
            act_date=act_date or local_day(reported),
            severe_harm=severe_harm,
            description=inc["description"] or "",
            place=inc["address"],
            lat=inc["lat"],
            lon=inc["lon"],
            org_unit_id=inc["org_unit_id"],
            officers=list(officers),
            incident_id=incident_id,
        )
        return await _open(conn, p, req, inc["org_unit_id"], now)


# --------------------------------------------------------------------------- commands ----
def _penalty(pin: Any) -> Penalty:
    try:
        return Penalty(frozenset(pin.types), pin.fine, pin.confiscation)
    except ValueError as exc:
        raise Invalid(str(exc), rule="penalty") from exc


def _action(req: CommandRequest) -> tuple[Action, ...]:
    if req.command in ("approve", "reject"):
        return (Action.APPROVE_CASES, Action.LEGAL_REVIEW)
    if req.command == "record_review_passed":
        return (Action.LEGAL_REVIEW,)
    return (Action.HANDLE_CASES,)


def require_command(p: Principal, req: CommandRequest) -> None:
    """The action a command needs (403 without it): approvals take approving or reviewing."""
    needed = _action(req)
    if not any(a in _allowed(p) for a in needed):
        p.require(needed[0])


def _allowed(p: Principal) -> frozenset[Action]:
    from hub.domain.roles import PERMISSIONS

    return PERMISSIONS[p.role]


async def _command(
    conn: AConn,
    case: Case,
    req: Any,
    actor: Officer,
    named: tuple[Officer, ...],
    sha: str | None,
    now: dt.datetime,
    new_ref: str,
) -> c.Command:
    """The domain command for a request (the officers already looked up)."""
    k = req.command
    ref = getattr(req, "ref", None) or new_ref
    if k == "request_filing":
        return c.RequestFiling(actor, named)
    if k == "request_no_filing":
        return c.RequestNoFiling(actor, req.reason)
    if k == "request_withdrawal":
        return c.RequestWithdrawal(actor, req.reason)
    if k == "request_correction":
        return c.RequestCorrection(actor, req.target_seq, req.new_sha256, req.reason)
    if k == "request_closing":
        return c.RequestClosing(actor)
    if k == "extend_decision_period":
        return c.ExtendDecisionPeriod(actor, req.reason)
    if k == "approve":
        number = await _filing_number(conn, case, req.act, now)
        return c.Approve(req.act, actor, sha256_text(req.opinion), number)
    if k == "reject":
        return c.Reject(req.act, actor, req.reason)
    if k == "record_review_passed":
        return c.RecordReviewPassed(actor, sha256_text(req.opinion))
    if k == "request_hearing":
        return c.RequestHearing(req.sha256)
    if k == "extend_seizure":
        return c.ExtendSeizure(req.ref, actor, req.days, req.reason)
    if k == "request_decision":
        return c.RequestDecision(
            actor, req.kind, _penalty(req.penalty), req.quantity, req.base_value, req.departure
        )
    if k == "record_performance":
        return c.RecordPerformance(actor, req.kind, req.sha256)
    if k == "file_on_spot":
        return c.FileOnSpot(actor)
    if k == "archive":
        return c.Archive(actor)
    # records: signed by the named officers, with the record's (or its document's) hash
    if sha is None:
        raise Invalid(f"{k} needs the record's sha256 or its document", rule="record")
    if k == "record_inquiry":
        return c.RecordInquiry(ref, named, sha)
    if k == "record_inspection":
        return c.RecordInspection(ref, named, sha)
    if k == "issue_order":
        return c.IssueOrder(ref, named, sha, req.due)
    if k == "record_order_outcome":
        return c.RecordOrderOutcome(named, sha, req.corrected)
    if k == "request_preservation":
        return c.RequestPreservation(ref, actor, named, sha)
    if k == "end_preservation":
        return c.EndPreservation(req.ref, named, sha)
    if k == "request_seizure":
        return c.RequestSeizure(ref, actor, named, sha)
    if k == "release_seizure":
        return c.ReleaseSeizure(req.ref, named, sha)
    if k == "submit_report":
        return c.SubmitReport(named, sha, tuple(req.review_reasons))
    if k == "issue_notice":
        return c.IssueNotice(
            named, _penalty(req.penalty), sha, req.quantity, req.base_value, req.departure
        )
    if k == "deliver_notice":
        return c.DeliverNotice(named, sha)
    if k == "record_statement":
        return c.RecordStatement(ref, named, sha)
    if k == "re_examine":
        return c.ReExamine(named, sha)
    if k == "waive_statement":
        return c.WaiveStatement(named, sha)
    if k == "record_hearing":
        (chair,) = await officers(conn, [req.chair])
        return c.RecordHearing(chair, named, sha)
    if k == "record_delivery":
        return c.RecordDelivery(named, req.method, sha, req.address_confirmation_sha256)
    raise Invalid(f"unknown command {k!r}")  # pragma: no cover - the union is closed


async def _filing_number(
    conn: AConn, case: Case, act: ap.ApprovalAct, now: dt.datetime
) -> str | None:
    """The next 立案 number when this approval completes the filing chain (row lock)."""
    pending = case.pending
    if act != ap.ApprovalAct.FILING or pending is None or pending.act != act:
        return None
    if len(pending.approvals) + 1 < len(pending.steps):
        return None
    year = local_day(now).year
    subject = case.subject.code
    await conn.execute(
        "INSERT INTO case_number_counters (legal_subject, year) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (subject, year),
    )
    cur = await conn.execute(
        "SELECT last FROM case_number_counters WHERE legal_subject = %s AND year = %s"
        " FOR UPDATE",
        (subject, year),
    )
    row = await cur.fetchone()
    assert row is not None
    n = next_number(int(row[0]))
    await conn.execute(
        "UPDATE case_number_counters SET last = %s WHERE legal_subject = %s AND year = %s",
        (n, subject, year),
    )
    return format_number(case.subject.number_prefix, year, n)


async def _load(conn: AConn, p: Principal, case_id: str) -> tuple[dict[str, Any], Case]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM cases WHERE id = %s FOR UPDATE", (case_id,))
    row = p.visible(await cur.fetchone(), "case")
    return row, codec.decode(row["snapshot"])


async def apply(
    conn: AConn,
    p: Principal,
    case_id: str,
    cmd: CommandRequest,
    *,
    now: dt.datetime | None = None,
) -> CaseSummary:
    """Run one command of the ordinary procedure (or an approval step) on a case."""
    require_command(p, cmd)
    now = now or _now()
    async with conn.transaction():
        row, case = await _load(conn, p, case_id)
        w = await _run(conn, p, row, case, cmd, now)
    return await _summary(conn, case_id, w)


async def _run(
    conn: AConn, p: Principal, row: dict[str, Any], case: Case, cmd: Any, now: dt.datetime
) -> _Write:
    unit = row["org_unit_id"]
    district = await district_of(conn, unit)
    actor = await _actor(conn, p, approver_roles(p, unit, district))
    ids = list(getattr(cmd, "officers", []) or [])
    named = await officers(conn, ids) if ids else ()
    party_row = await _party_row(conn, row["party_id"])
    team_name = await _unit_name(conn, unit)
    payload: dict[str, Any] = {"case_id": case.case_id, **cmd.model_dump(mode="json")}
    if payload.get("document") is not None and cmd.command in docs.CONTENTS_OF:
        payload["document"] = {
            **payload["document"],
            "doc_type": docs.CONTENTS_OF[cmd.command].value,
        }
    elif payload.get("document") is not None:
        raise Invalid(f"{cmd.command} carries no document", rule="document")
    prebuilt: dict[str, docs.Built] = {}
    sha: str | None = getattr(cmd, "sha256", None)
    new_ref = _new_id("rec")
    if cmd.command in docs.IMMEDIATE and payload.get("document") is not None:
        doc_type = docs.CONTENTS_OF[cmd.command]
        k = await _next_k(conn, case.case_id, doc_type.value)
        built = docs.build_model(
            doc_type,
            payload["document"],
            number=docs.number_for(doc_type.value, case.number, case.case_id, k),
            subject=docs.subject_of(case.subject, team_name),
            issued_at=now,
            case_number=case.number,
            party=docs.party_of(party_row) if party_row else None,
            officers=[docs.doc_officer(o) for o in named],
        )
        if sha is not None and sha != built.sha256:
            raise Invalid(
                f"sha256 {sha} is not the hash of the document given ({built.sha256})",
                rule="record",
            )
        sha = built.sha256
        prebuilt[doc_type.value] = built
    domain = await _command(conn, case, cmd, actor, named, sha, now, new_ref)
    new, effects = lifecycle.transition(case, domain, now, await _env(conn))
    w = _Write(
        conn,
        actor=p.username,
        actor_staff=p.staff_id,
        org_unit_id=unit,
        team_name=team_name,
        payload=payload,
        now=now,
        prebuilt=prebuilt,
        party_row=party_row,
        named=named or await officers(conn, sorted(new.officers - {SYSTEM_REGISTRAR.staff_id})),
    )
    await w.effects(new, effects, cmd.command)
    await _project(conn, new, now)
    await audit.record(
        conn,
        p.username,
        f"case.{cmd.command}",
        "case",
        case.case_id,
        org_unit_id=unit,
        before={"state": case.state.value, "seq": case.seq},
        after={"state": new.state.value, "seq": new.seq, "number": new.number},
    )
    return w


async def add_evidence(
    conn: AConn,
    p: Principal,
    case_id: str,
    item: EvidenceItem,
    *,
    now: dt.datetime | None = None,
) -> str:
    """Add an evidence item (an officer confirmed a body-cam file, an upload, a record); the
    event and the item each get their log leaf. Returns the evidence id."""
    p.require(Action.HANDLE_CASES)
    now = now or _now()
    async with conn.transaction():
        row, case = await _load(conn, p, case_id)
        actor = await _actor(conn, p)
        named = await officers(conn, item.collected_by)
        evidence_id = _new_id("ev")
        domain = c.AddEvidence(evidence_id, item.evidence_type, named, item.sha256)
        new, effects = lifecycle.transition(case, domain, now, await _env(conn))
        payload = {"case_id": case_id, "command": "add_evidence", "evidence_id": evidence_id}
        payload |= item.model_dump(mode="json")
        w = _Write(
            conn,
            actor=p.username,
            actor_staff=actor.staff_id,
            org_unit_id=row["org_unit_id"],
            team_name=None,
            payload=payload,
            now=now,
            prebuilt={},
            party_row=None,
            named=named,
        )
        await w.effects(new, effects, "add_evidence")
        ev = {
            "id": evidence_id,
            "case_id": case_id,
            "evidence_type": item.evidence_type.value,
            "sha256": item.sha256,
            "added_at": now,
        }
        queued = await tlog.append(conn, logentries.evidence_entry(ev))
        await conn.execute(
            "INSERT INTO case_evidence (id, case_id, seq, evidence_type, sha256, source_kind,"
            " source_ref, collected_by, collected_at, lat, lon, place, note, added_by, added_at,"
            " tlog_queue_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s)",
            (
                evidence_id,
                case_id,
                new.seq,
                item.evidence_type.value,
                item.sha256,
                item.source_kind,
                item.source_ref,
                list(item.collected_by),
                item.collected_at,
                item.lat,
                item.lon,
                item.place,
                item.note,
                p.username,
                now,
                queued.queue_id,
            ),
        )
        await _project(conn, new, now)
        await audit.record(
            conn,
            p.username,
            "case.add_evidence",
            "case",
            case_id,
            org_unit_id=row["org_unit_id"],
            after={"evidence_id": evidence_id, "sha256": item.sha256, "seq": new.seq},
        )
    return evidence_id


async def find_document(
    conn: AConn,
    *,
    doc_type: str | None = None,
    number: str | None = None,
    sha256: str | None = None,
) -> DocumentRecord | None:
    """An issued document by (type, number) or by its hash (the public ``/verify`` page)."""
    if sha256 is None and (doc_type is None or number is None):
        raise Invalid("find a document by its type and number, or by its sha256")
    cur = conn.cursor(row_factory=dict_row)
    cols = (
        "id, case_id, doc_type, number, ref, sha256, canonical, modelled, issued_at,"
        " issued_by, printed_at_scene, tlog_queue_id"
    )
    if sha256 is not None:
        await cur.execute(
            f"SELECT {cols} FROM case_documents WHERE sha256 = %s"
            " AND (%s::text IS NULL OR doc_type = %s) AND (%s::text IS NULL OR number = %s)"
            " ORDER BY issued_at LIMIT 1",
            (sha256, doc_type, doc_type, number, number),
        )
    else:
        await cur.execute(
            f"SELECT {cols} FROM case_documents WHERE doc_type = %s AND number = %s",
            (doc_type, number),
        )
    row = await cur.fetchone()
    if row is None:
        return None
    row["canonical"] = bytes(row["canonical"])
    return DocumentRecord(**row)


# The on-the-spot filing lives in its own module (it resolves a terminal's document first).
from hub.services.cases.onspot_filing import file_on_spot  # noqa: E402

__all__ = [
    "add_evidence",
    "apply",
    "clue_from_incident",
    "file_on_spot",
    "find_document",
    "open_clue",
]
