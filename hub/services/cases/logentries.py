"""The transparency-log entries of a case, built from the rows the store writes, and the
``ehub cases verify`` checker that rebuilds them from those rows.

One leaf per accepted event (``case_events``), per issued document (``case_documents``) and per
evidence item (``case_evidence``). Each entry is a function of its row alone, so a verifier
recomputes it and compares its leaf hash with the leaf the row's ``tlog_queue_id`` became: a
row changed after the fact (a DBA with the trigger disabled) no longer matches its leaf::

    case_events row ──event_entry──> {v, kind, at, case_id, seq, event, from_state, to_state,
                                      case_number, payload_hash, <the domain's refs>}
    case_documents row ──entries.document_issued──> {..., document_id, number, hash}
    case_evidence row ──entries.evidence_added──> {..., evidence_id, evidence_type, hash}

``payload_hash`` is the SHA-256 of the event's private payload (RFC 8785), so the payload is
covered without being published; the refs are what the state machine published (identifiers
and hashes only, ``hub.domain.cases.effects.LogEntry``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
import rfc8785

from hub.domain.errors import HubError
from hub.transparency import entries, merkle
from hub.transparency.verify import VerifiedLog, register_checker

AConn = psycopg.AsyncConnection[Any]
_RESERVED = frozenset(
    {"v", "kind", "at", "case_id", "seq", "event", "from_state", "to_state", "case_number"}
    | {"payload_hash"}
)


def payload_sha256(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(dict(payload))).hexdigest()


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_entry(
    *,
    case_id: str,
    seq: int,
    at: datetime,
    kind: str,
    command: str,
    state_from: str,
    state_to: str,
    case_number: str | None,
    refs: Mapping[str, Any],
    payload_hash: str,
) -> dict[str, Any]:
    """The log entry of one case event (checked by ``entries.canonical`` on append)."""
    out: dict[str, Any] = {
        "v": entries.FORMAT_VERSION,
        "kind": kind,
        "at": _ts(at),
        "case_id": case_id,
        "seq": seq,
        "event": command,
        "from_state": state_from,
        "to_state": state_to,
        "case_number": case_number,
        "payload_hash": payload_hash,
    }
    for key, value in refs.items():
        if key in _RESERVED:  # pragma: no cover - the domain's refs never use these names
            raise ValueError(f"a case event's ref {key!r} would hide a field of the entry")
        out[key] = list(value) if isinstance(value, tuple | list) else value
    return out


def document_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return entries.document_issued(
        case_id=row["case_id"],
        document_id=row["id"],
        document_type=row["doc_type"],
        number=row["number"],
        hash=row["sha256"],
        at=row["issued_at"],
    )


def evidence_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return entries.evidence_added(
        case_id=row["case_id"],
        evidence_id=row["id"],
        evidence_type=row["evidence_type"],
        hash=row["sha256"],
        at=row["added_at"],
    )


def event_row_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return event_entry(
        case_id=row["case_id"],
        seq=row["seq"],
        at=row["at"],
        kind=row["kind"],
        command=row["command"],
        state_from=row["state_from"],
        state_to=row["state_to"],
        case_number=row["case_number"],
        refs=row["refs"],
        payload_hash=payload_sha256(row["payload"]),
    )


# --------------------------------------------------------------------------- verify ------
_TABLES = (
    (
        "case_events",
        "SELECT e.*, e.case_id || ' seq ' || e.seq AS label FROM case_events e",
        event_row_entry,
    ),
    (
        "case_documents",
        "SELECT d.*, d.id AS label FROM case_documents d",
        document_entry,
    ),
    (
        "case_evidence",
        "SELECT v.*, v.id AS label FROM case_evidence v",
        evidence_entry,
    ),
)


async def check_case_rows(conn: AConn, log: VerifiedLog) -> list[str]:
    """Every case event, document and evidence row rebuilt into its entry and compared with
    the leaf its queue id became (or, not yet integrated, the leaf still queued)."""
    problems: list[str] = []
    cur = await conn.execute("SELECT queue_id, idx FROM tlog_leaves WHERE queue_id IS NOT NULL")
    index = {int(q): int(i) for q, i in await cur.fetchall()}
    cur = await conn.execute("SELECT id, leaf_hash FROM tlog_queue")
    queued = {int(q): bytes(h) for q, h in await cur.fetchall()}
    for table, query, build in _TABLES:
        dcur = conn.cursor(row_factory=psycopg.rows.dict_row)
        await dcur.execute(query)
        async for row in dcur:
            what = f"{table} {row['label']}"
            qid = int(row["tlog_queue_id"])
            if qid in index and index[qid] < log.size:
                leaf = log.leaf_hash(index[qid])
            elif qid in queued:
                leaf = queued[qid]
            else:
                problems.append(f"{what}: its log leaf (queue id {qid}) is missing")
                continue
            try:
                entry = build(row)
                mine = merkle.leaf_hash(entries.canonical(entry))
            except (ValueError, KeyError, TypeError, HubError) as exc:
                problems.append(f"{what}: cannot rebuild its log entry ({exc})")
                continue
            if mine != leaf:
                problems.append(
                    f"{what}: the row does not match its log leaf (queue id {qid}): it was"
                    " changed after it was logged"
                )
            if table == "case_documents":
                digest = hashlib.sha256(bytes(row["canonical"])).hexdigest()
                if digest != row["sha256"]:
                    problems.append(f"{what}: its stored bytes do not hash to its sha256")
    return problems


register_checker("cases", check_case_rows)
