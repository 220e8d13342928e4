"""The case file's tables (migration 020) and what the case store reads beside them: staff,
org units, incidents (SQL only; the store owns the transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

AConn = psycopg.AsyncConnection[Any]
Row = dict[str, Any]
STAFF_COLS = "staff_id, name, badge_no, certificate_expires, legal_qualification, org_unit_id"
DOCUMENT_COLS = (
    "id, case_id, doc_type, number, ref, sha256, canonical, modelled, issued_at, issued_by,"
    " printed_at_scene, tlog_queue_id"
)


def _json(v: Any) -> Any:
    return Jsonb(v) if isinstance(v, dict) else v


async def _insert(conn: AConn, table: str, row: Mapping[str, Any]) -> None:
    cols = list(row)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder(c) for c in cols),
    )
    await conn.execute(query, {c: _json(v) for c, v in row.items()})


async def _one(conn: AConn, query: str, params: Sequence[Any]) -> Row | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchone()


async def _all(conn: AConn, query: str, params: Sequence[Any]) -> list[Row]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchall()


# --------------------------------------------------------------------------- people, units -
async def staff(conn: AConn, staff_ids: Sequence[str]) -> list[Row]:
    return await _all(
        conn, f"SELECT {STAFF_COLS} FROM staff WHERE staff_id = ANY(%s)", (list(staff_ids),)
    )


async def staff_by_certificates(conn: AConn, numbers: Sequence[str]) -> list[Row]:
    return await _all(
        conn, f"SELECT {STAFF_COLS} FROM staff WHERE badge_no = ANY(%s)", (list(numbers),)
    )


async def district_of(conn: AConn, unit: str) -> str | None:
    row = await _one(
        conn,
        "WITH RECURSIVE up AS (SELECT id, parent_id, level, 0 AS depth FROM org_units"
        " WHERE id = %s UNION ALL SELECT o.id, o.parent_id, o.level, up.depth + 1"
        " FROM org_units o JOIN up ON o.id = up.parent_id)"
        " SELECT id FROM up WHERE level = 'district' ORDER BY depth LIMIT 1",
        (unit,),
    )
    return str(row["id"]) if row else None


async def unit_name(conn: AConn, unit: str) -> str | None:
    row = await _one(conn, "SELECT name FROM org_units WHERE id = %s", (unit,))
    return str(row["name"]) if row else None


async def incident_for_clue(conn: AConn, incident_id: int) -> Row | None:
    return await _one(
        conn,
        "SELECT id, org_unit_id, source, description, lat, lon, address, reported_at"
        " FROM incidents WHERE id = %s FOR UPDATE",
        (incident_id,),
    )


# --------------------------------------------------------------------------- parties, cases
async def party(conn: AConn, party_id: str) -> Row | None:
    return await _one(conn, "SELECT * FROM case_parties WHERE id = %s", (party_id,))


async def insert_party(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "case_parties", row)


async def lock_case(conn: AConn, case_id: str) -> Row | None:
    return await _one(conn, "SELECT * FROM cases WHERE id = %s FOR UPDATE", (case_id,))


async def case_of_incident(conn: AConn, incident_id: int) -> str | None:
    row = await _one(
        conn,
        "SELECT id FROM cases WHERE incident_id = %s ORDER BY opened_at LIMIT 1",
        (incident_id,),
    )
    return str(row["id"]) if row else None


async def insert_case(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "cases", row)


async def update_case(conn: AConn, case_id: str, values: Mapping[str, Any]) -> None:
    """The case row after an event; next_due / next_warn from the running timers, and
    ``officers`` only ever grows (who registered the clue stays when 立案 names others)."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c))
        for c in values
        if c != "officers"
    )
    query = sql.SQL(
        "UPDATE cases SET {}, officers = ARRAY(SELECT DISTINCT x FROM"
        " unnest(officers || %(officers)s::text[]) AS x ORDER BY x),"
        " next_due = (SELECT min(due_on) FROM case_timers"
        " WHERE case_id = %(case_id)s AND stopped_at IS NULL), next_warn = (SELECT min(warn_on)"
        " FROM case_timers WHERE case_id = %(case_id)s AND stopped_at IS NULL)"
        " WHERE id = %(case_id)s"
    ).format(sets)
    await conn.execute(query, {"case_id": case_id, **{c: _json(v) for c, v in values.items()}})


async def summary(conn: AConn, case_id: str) -> Row | None:
    return await _one(
        conn,
        "SELECT id, number, state, procedure, seq, org_unit_id, matter_code, pending_act,"
        " next_due, next_warn FROM cases WHERE id = %s",
        (case_id,),
    )


# --------------------------------------------------------------------------- events --------
async def insert_event(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "case_events", {**row, "refs": Jsonb(row["refs"])})


async def document_contents(conn: AConn, case_id: str, doc_type: str) -> dict[str, Any] | None:
    """The contents of ``doc_type`` the latest event of the case carried (its request)."""
    row = await _one(
        conn,
        "SELECT payload->'document' AS doc FROM case_events WHERE case_id = %s"
        " AND payload->'document'->>'doc_type' = %s ORDER BY seq DESC LIMIT 1",
        (case_id, doc_type),
    )
    return row["doc"] if row else None


# --------------------------------------------------------------------------- approvals -----
async def decide_open_step(
    conn: AConn, case_id: str, *, at: dt.datetime, by: str, decision: str, opinion: str | None
) -> None:
    await conn.execute(
        "UPDATE case_approval_steps SET decided_at = %s, decided_by = %s, decision = %s,"
        " opinion = %s WHERE case_id = %s AND decided_at IS NULL",
        (at, by, decision, opinion, case_id),
    )


async def insert_step(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "case_approval_steps", row)


async def chain_signatures(conn: AConn, case_id: str) -> list[Row]:
    """The decided steps of the act of the case's latest step, in order, with signer names."""
    return await _all(
        conn,
        "SELECT s.step_label, s.decided_at, s.decision, s.opinion, coalesce(st.name,"
        " s.decided_by) AS name FROM case_approval_steps s"
        " LEFT JOIN users u ON u.username = s.decided_by"
        " LEFT JOIN staff st ON st.staff_id = u.staff_id"
        " WHERE s.case_id = %s AND s.act = (SELECT act FROM case_approval_steps"
        " WHERE case_id = %s ORDER BY id DESC LIMIT 1) AND s.decided_at IS NOT NULL"
        " ORDER BY s.id",
        (case_id, case_id),
    )


# --------------------------------------------------------------------------- timers --------
async def start_timer(conn: AConn, row: Mapping[str, Any]) -> None:
    """Start (or, after a stop in the same event, restart) the timer (case, code, ref)."""
    await conn.execute(
        "INSERT INTO case_timers (case_id, code, ref, started_on, due_on, warn_on, unit,"
        " length, provisional) VALUES (%(case_id)s, %(code)s, %(ref)s, %(started_on)s,"
        " %(due_on)s, %(warn_on)s, %(unit)s, %(length)s, %(provisional)s)"
        " ON CONFLICT (case_id, code, ref) DO UPDATE SET started_on = EXCLUDED.started_on,"
        " due_on = EXCLUDED.due_on, warn_on = EXCLUDED.warn_on, unit = EXCLUDED.unit,"
        " length = EXCLUDED.length, provisional = EXCLUDED.provisional,"
        " stopped_at = NULL, stop_reason = NULL",
        dict(row),
    )


async def stop_timer(
    conn: AConn, case_id: str, code: str, ref: str, *, at: dt.datetime, reason: str
) -> None:
    await conn.execute(
        "UPDATE case_timers SET stopped_at = %s, stop_reason = %s"
        " WHERE case_id = %s AND code = %s AND ref = %s AND stopped_at IS NULL",
        (at, reason, case_id, code, ref),
    )


# --------------------------------------------------------------------------- documents -----
async def count_documents(conn: AConn, case_id: str, doc_type: str) -> int:
    row = await _one(
        conn,
        "SELECT count(*) AS n FROM case_documents WHERE case_id = %s AND doc_type = %s",
        (case_id, doc_type),
    )
    return int(row["n"]) if row else 0


async def insert_document(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "case_documents", row)


async def case_of_terminal_document(conn: AConn, terminal_id: str, number: str) -> str | None:
    row = await _one(
        conn,
        "SELECT case_id FROM case_documents WHERE terminal_id = %s AND number = %s",
        (terminal_id, number),
    )
    return str(row["case_id"]) if row else None


async def find_document(
    conn: AConn, *, doc_type: str | None, number: str | None, sha256: str | None
) -> Row | None:
    if sha256 is not None:
        return await _one(
            conn,
            f"SELECT {DOCUMENT_COLS} FROM case_documents WHERE sha256 = %s"
            " AND (%s::text IS NULL OR doc_type = %s) AND (%s::text IS NULL OR number = %s)"
            " ORDER BY issued_at LIMIT 1",
            (sha256, doc_type, doc_type, number, number),
        )
    return await _one(
        conn,
        f"SELECT {DOCUMENT_COLS} FROM case_documents WHERE doc_type = %s AND number = %s",
        (doc_type, number),
    )


async def insert_evidence(conn: AConn, row: Mapping[str, Any]) -> None:
    await _insert(conn, "case_evidence", row)


# --------------------------------------------------------------------------- numbers -------
async def lock_counter(conn: AConn, legal_subject: str, year: int) -> int:
    """The last 立案 number of (subject, year), its row locked until the transaction ends."""
    await conn.execute(
        "INSERT INTO case_number_counters (legal_subject, year) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (legal_subject, year),
    )
    row = await _one(
        conn,
        "SELECT last FROM case_number_counters WHERE legal_subject = %s AND year = %s FOR UPDATE",
        (legal_subject, year),
    )
    assert row is not None
    return int(row["last"])


async def set_counter(conn: AConn, legal_subject: str, year: int, last: int) -> None:
    await conn.execute(
        "UPDATE case_number_counters SET last = %s WHERE legal_subject = %s AND year = %s",
        (last, legal_subject, year),
    )
