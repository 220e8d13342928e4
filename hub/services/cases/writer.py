"""One command's writes in the open transaction: the ``case_events`` row and its log leaf, the
effects (documents and their leaves, timers, approval steps), the case row's projections and
snapshot. ``Writer`` is used by the store and by the on-the-spot filing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hub.domain.cases import deadlines
from hub.domain.cases.case import Case
from hub.domain.cases.effects import (
    AwaitApproval,
    DayUnit,
    Effect,
    IssueDocument,
    LogEntry,
    StartTimer,
    StopTimer,
)
from hub.domain.cases.law import Officer
from hub.domain.roles import Role
from hub.repositories.cases import casefile as repo
from hub.services.cases import codec, logentries
from hub.services.cases import documents as docs
from hub.services.cases.lookups import (
    STEP_ROLES,
    AConn,
    district_of,
    env,
    new_id,
)
from hub.services.cases.requests import (
    CaseSummary,
)
from hub.transparency import store as tlog


# --------------------------------------------------------------------------- persisting --
class Writer:
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

    def use_calendar(self, calendar: Any) -> Writer:
        """The calendar the transition ran with (warning dates count in it; read once)."""
        self._cal = calendar
        return self

    async def effects(self, case: Case, effects: Sequence[Effect], command: str) -> None:
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
                await repo.stop_timer(
                    self.conn, case.case_id, e.code.value, e.ref, at=self.now, reason=e.reason
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
        await repo.insert_event(
            self.conn,
            {
                "case_id": case.case_id,
                "seq": entry.seq,
                "at": self.now,
                "actor": self.actor,
                "actor_staff": self.actor_staff,
                "command": command,
                "kind": entry.kind,
                "state_from": entry.state_from,
                "state_to": entry.state_to,
                "case_number": case.number,
                "refs": refs,
                "payload": self.payload,
                "payload_sha256": self.payload_hash,
                "tlog_queue_id": queued.queue_id,
            },
        )
        self.seq = entry.seq

    async def _decide_step(self, command: str) -> None:
        decision = "approved" if command == "approve" else "rejected"
        opinion = self.payload.get("opinion") or self.payload.get("reason")
        await repo.decide_open_step(
            self.conn,
            self.payload["case_id"],
            at=self.now,
            by=self.actor,
            decision=decision,
            opinion=opinion,
        )

    async def _await(self, case: Case, e: AwaitApproval) -> None:
        role, level = STEP_ROLES.get(e.step.role, (Role.SUPERVISOR, "district"))
        unit = (
            self.org_unit_id if level == "team" else await district_of(self.conn, self.org_unit_id)
        )
        await repo.insert_step(
            self.conn,
            {
                "case_id": case.case_id,
                "act": e.act.value,
                "step_index": e.step_index,
                "step_role": e.step.role,
                "step_label": e.step.label,
                "hub_role": role.value,
                "org_unit_id": unit,
                "requested_at": self.now,
                "requested_by": self.actor,
            },
        )

    async def _start(self, case: Case, e: StartTimer) -> None:
        rule = deadlines.RULES.get(e.code.value)
        before = rule.warn_before if rule is not None else 1
        if self._cal is None:
            self._cal = (await env(self.conn)).calendar
        cal = self._cal
        if e.unit is DayUnit.WORKING:
            warn = cal.subtract_working_days(e.due, before)
        else:
            warn = e.due - dt.timedelta(days=before)
        warn = max(warn, e.start)
        await repo.start_timer(
            self.conn,
            {
                "case_id": case.case_id,
                "code": e.code.value,
                "ref": e.ref,
                "started_on": e.start,
                "due_on": e.due,
                "warn_on": warn,
                "unit": e.unit.value,
                "length": e.length,
                "provisional": e.provisional,
            },
        )

    async def _contents(self, case_id: str, doc_type: str) -> dict[str, Any] | None:
        mine = self.payload.get("document")
        if isinstance(mine, dict) and mine.get("doc_type") == doc_type:
            return mine
        return await repo.document_contents(self.conn, case_id, doc_type)

    async def _approvals(self, case_id: str) -> list[dict[str, Any]]:
        """The signatures of the chain just completed (the latest decided steps of its act)."""
        rows = await repo.chain_signatures(self.conn, case_id)
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
                k = await next_k(self.conn, case.case_id, modelled.value)
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
            k = await next_k(self.conn, case.case_id, e.doc_type.value)
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
        doc_id = new_id("doc")
        row = {
            "id": doc_id,
            "case_id": case_id,
            "doc_type": built.doc_type,
            "number": built.number,
            "sha256": built.sha256,
            "issued_at": self.now,
        }
        queued = await tlog.append(self.conn, logentries.document_entry(row))
        await repo.insert_document(
            self.conn,
            {
                **row,
                "seq": self.seq,
                "ref": ref,
                "canonical": built.canonical,
                "modelled": built.modelled,
                "issued_by": self.actor,
                "printed_at_scene": scene,
                "terminal_id": terminal_id,
                "tlog_queue_id": queued.queue_id,
            },
        )
        self.documents.append(doc_id)
        return doc_id


async def next_k(conn: AConn, case_id: str, doc_type: str) -> int:
    """The counter of a document number: how many of this type the case has, plus one."""
    return await repo.count_documents(conn, case_id, doc_type) + 1


async def project(conn: AConn, case: Case, now: dt.datetime) -> None:
    """The case row after an event: state, number, officers, the earliest running timer."""
    decided_fine: Decimal | None = case.decided.fine if case.decided is not None else None
    await repo.update_case(
        conn,
        case.case_id,
        {
            "state": case.state.value,
            "number": case.number,
            "seq": case.seq,
            "officers": sorted(case.officers),
            "filed_on": case.filed_on,
            "decided_on": case.decided_on,
            "pending_act": case.pending.act.value if case.pending else None,
            "decided_fine": decided_fine,
            "updated_at": now,
            "snapshot": codec.encode(case),
        },
    )


async def summary(conn: AConn, case_id: str, w: Writer | None = None) -> CaseSummary:
    row = await repo.summary(conn, case_id)
    assert row is not None
    return CaseSummary(**row, documents=w.documents if w else [])


async def insert_case(
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
    await repo.insert_case(
        conn,
        {
            "id": case.case_id,
            "number": case.number,
            "legal_subject": case.subject.code,
            "procedure": case.procedure.value,
            "state": case.state.value,
            "org_unit_id": org_unit_id,
            "matter_code": case.matter.code,
            "catalog_version": catalog_version,
            "party_id": case.party_id,
            "source": source,
            "incident_id": incident_id,
            "act_date": case.act_date,
            "discovered_on": case.discovered,
            "severe_harm": case.severe_harm,
            "place": place,
            "lat": lat,
            "lon": lon,
            "lead_officer": lead,
            "officers": sorted(set(officer_ids) | case.officers),
            "opened_by": opened_by,
            "opened_at": now,
            "updated_at": now,
            "seq": 0,
            "snapshot": codec.encode(case),
        },
    )
