"""One command's writes in the open transaction: the ``case_events`` row and its log leaf, the
effects (documents and their leaves, timers, approval steps), the case row's projections and
snapshot. ``Writer`` is used by the store and by the on-the-spot filing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

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
        unit = (
            self.org_unit_id if level == "team" else await district_of(self.conn, self.org_unit_id)
        )
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
            self._cal = (await env(self.conn)).calendar
        cal = self._cal
        if e.unit is DayUnit.WORKING:
            warn = cal.subtract_working_days(e.due, before)
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


async def next_k(conn: AConn, case_id: str, doc_type: str) -> int:
    """The counter of a document number: how many of this type the case has, plus one."""
    cur = await conn.execute(
        "SELECT count(*) FROM case_documents WHERE case_id = %s AND doc_type = %s",
        (case_id, doc_type),
    )
    row = await cur.fetchone()
    return int(row[0]) + 1 if row else 1


async def project(conn: AConn, case: Case, now: dt.datetime) -> None:
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


async def summary(conn: AConn, case_id: str, w: Writer | None = None) -> CaseSummary:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, number, state, procedure, seq, org_unit_id, matter_code, pending_act,"
        " next_due, next_warn FROM cases WHERE id = %s",
        (case_id,),
    )
    row = await cur.fetchone()
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
