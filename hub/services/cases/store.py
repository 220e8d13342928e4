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
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from hub.domain.cases import commands as c
from hub.domain.cases import lifecycle
from hub.domain.cases.case import Case
from hub.domain.cases.guards import local_day
from hub.domain.cases.law import Officer, PartyType
from hub.domain.errors import Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories.cases import casefile as repo
from hub.services.cases import documents as docs
from hub.services.cases import logentries
from hub.services.cases.lookups import (
    SYSTEM_REGISTRAR,
    AConn,
    actor_officer,
    approver_roles,
    catalog_matter,
    district_of,
    env,
    load_case,
    load_party,
    new_id,
    now_utc,
    officers,
    party_record,
    unit_name,
)
from hub.services.cases.onspot_filing import file_on_spot
from hub.services.cases.requests import (
    CaseSummary,
    ClueRequest,
    CommandRequest,
    DocumentRecord,
    EvidenceItem,
    PartyIn,
)
from hub.services.cases.translate import require_command, to_domain
from hub.services.cases.writer import Writer, insert_case, next_k, project, summary
from hub.transparency import store as tlog


# --------------------------------------------------------------------------- opening -----
async def open_clue(
    conn: AConn, p: Principal, req: ClueRequest, *, now: dt.datetime | None = None
) -> str:
    """受理: register a clue; returns the new case's id."""
    p.require(Action.OPEN_CLUE)
    unit = req.org_unit_id or p.org_unit_id
    p.reach(unit, "org unit")
    now = now or now_utc()
    async with conn.transaction():
        return await _open(conn, p, req, unit, now)


async def _open(conn: AConn, p: Principal, req: ClueRequest, unit: str, now: dt.datetime) -> str:
    version, matter, subject = await catalog_matter(conn, req.matter_code)
    named = await officers(conn, req.officers) if req.officers else ()
    if p.staff_id is not None:
        registrar = await actor_officer(conn, p)
    else:  # a dispatcher's account without a staff record registers as its account
        registrar = Officer(staff_id=f"user:{p.username}", name=p.username)
    party_id = await party_record(conn, p, req.party, req.party_id)
    party_row = await load_party(conn, party_id)
    assert party_row is not None
    case_id = new_id("case")
    payload = {"case_id": case_id, "command": "open_clue", **req.model_dump(mode="json")}
    cmd = c.OpenClue(
        case_id=case_id,
        subject=subject,
        matter=matter,
        party_type=PartyType(party_row["party_type"]),
        party_id=party_id,
        source=req.source,
        act_date=req.act_date,
        severe_harm=req.severe_harm,
        registered_by=registrar,
        source_sha256=logentries.payload_sha256(payload),
    )
    the_env = await env(conn)
    case, effects = lifecycle.open_clue(cmd, now, the_env)
    lead = named[0].staff_id if named else p.staff_id
    await insert_case(
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
    w = Writer(
        conn,
        actor=p.username,
        actor_staff=p.staff_id,
        org_unit_id=unit,
        team_name=await unit_name(conn, unit),
        payload=payload,
        now=now,
        prebuilt={},
        party_row=party_row,
        named=named,
    )
    await w.use_calendar(the_env.calendar).effects(case, effects, "open_clue")
    await project(conn, case, now)
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
    now = now or now_utc()
    async with conn.transaction():
        inc = p.visible(await repo.incident_for_clue(conn, incident_id), "incident")
        existing = await repo.case_of_incident(conn, incident_id)
        if existing is not None:
            return existing
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
    now = now or now_utc()
    async with conn.transaction():
        row, case = await load_case(conn, p, case_id)
        w = await _run(conn, p, row, case, cmd, now=now)
    return await summary(conn, case_id, w)


async def _run(
    conn: AConn, p: Principal, row: dict[str, Any], case: Case, cmd: Any, *, now: dt.datetime
) -> Writer:
    unit = row["org_unit_id"]
    if cmd.command == "approve":
        case = await _refresh_request(conn, case)
    district = await district_of(conn, unit)
    actor = await actor_officer(conn, p, approver_roles(p, unit, district))
    ids = list(getattr(cmd, "officers", []) or [])
    named = await officers(conn, ids) if ids else ()
    party_row = await load_party(conn, row["party_id"])
    team_name = await unit_name(conn, unit)
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
    new_ref = new_id("rec")
    if cmd.command in docs.IMMEDIATE and payload.get("document") is not None:
        doc_type = docs.CONTENTS_OF[cmd.command]
        k = await next_k(conn, case.case_id, doc_type.value)
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
    domain = await to_domain(
        conn, case, cmd, actor=actor, named=named, sha=sha, now=now, new_ref=new_ref
    )
    the_env = await env(conn)
    new, effects = lifecycle.transition(case, domain, now, the_env)
    w = Writer(
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
    await w.use_calendar(the_env.calendar).effects(new, effects, cmd.command)
    await project(conn, new, now)
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


async def _refresh_request(conn: AConn, case: Case) -> Case:
    """The officers a pending request names, as ``staff`` has them today: the last approval
    re-checks the request's guards (Art. 42), and a certificate revoked or shortened since
    the request must count."""
    pending = case.pending
    named = getattr(pending.request, "officers", None) if pending else None
    if pending is None or not named:
        return case
    fresh = await officers(conn, [o.staff_id for o in named])
    request = replace(pending.request, officers=fresh)  # type: ignore[type-var]
    return replace(case, pending=replace(pending, request=request))


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
    now = now or now_utc()
    async with conn.transaction():
        row, case = await load_case(conn, p, case_id)
        actor = await actor_officer(conn, p)
        named = await officers(conn, item.collected_by)
        evidence_id = new_id("ev")
        domain = c.AddEvidence(evidence_id, item.evidence_type, named, item.sha256)
        the_env = await env(conn)
        new, effects = lifecycle.transition(case, domain, now, the_env)
        payload = {"case_id": case_id, "command": "add_evidence", "evidence_id": evidence_id}
        payload |= item.model_dump(mode="json")
        w = Writer(
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
        await w.use_calendar(the_env.calendar).effects(new, effects, "add_evidence")
        ev = {
            "id": evidence_id,
            "case_id": case_id,
            "evidence_type": item.evidence_type.value,
            "sha256": item.sha256,
            "added_at": now,
        }
        queued = await tlog.append(conn, logentries.evidence_entry(ev))
        await repo.insert_evidence(
            conn,
            {
                **ev,
                "seq": new.seq,
                "source_kind": item.source_kind,
                "source_ref": item.source_ref,
                "collected_by": list(item.collected_by),
                "collected_at": item.collected_at,
                "lat": item.lat,
                "lon": item.lon,
                "place": item.place,
                "note": item.note,
                "added_by": p.username,
                "tlog_queue_id": queued.queue_id,
            },
        )
        await project(conn, new, now)
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
    row = await repo.find_document(conn, doc_type=doc_type, number=number, sha256=sha256)
    if row is None:
        return None
    row["canonical"] = bytes(row["canonical"])
    return DocumentRecord(**row)


__all__ = [
    "add_evidence",
    "apply",
    "clue_from_incident",
    "file_on_spot",
    "find_document",
    "open_clue",
    "summary",
]
