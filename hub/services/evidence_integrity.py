"""A body-cam file registered with integrity other than 'ok': raise an alert and say which cases
hold it. Runs in the device-event worker's transaction (synchronous psycopg), right after the
manifest is registered (``services.device_events``).

The dock has already compared the hashes (``schemas.messages.EvidenceManifest``: the stored
copy's hash changed, or the camera's own hash differs). The alert is a system alert of its own
kind (``evidence_integrity``), one per camera file (subject ``evidence:{camera}/{file}``), seen
by the camera's unit; a second flagged manifest of the same file brings the open alert up to
date. The cases holding the file are marked by the view ``case_evidence_flags`` (migration
023), which also marks items added after the alert: nothing here writes to a case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from hub.domain.alerts import Severity, SystemAlertKind
from hub.repositories import audit
from schemas.messages import EvidenceManifest

Conn = psycopg.Connection[Any]
ACTOR = "ehub-evidence"  # the worker, in the audit log


def subject(camera_id: str, file_id: str) -> str:
    return f"evidence:{camera_id}/{file_id}"


def detail(m: EvidenceManifest, dock_id: str, evidence_file_id: int, cases: list[str]) -> str:
    if m.integrity.value == "hash_changed":
        what = f"the stored copy now hashes to {m.registered_sha256}, offloaded as {m.sha256}"
    else:
        what = f"the camera's hash {m.camera_sha256} differs from the offloaded {m.sha256}"
    on = f"; on cases {', '.join(cases)}" if cases else "; on no case yet"
    return (
        f"body-cam file {m.file_id} of {m.camera_id} (register #{evidence_file_id}, dock"
        f" {dock_id}): {m.integrity.value}: {what}{on}"
    )


def flagged(conn: Conn, dock_id: str, m: EvidenceManifest, now: datetime) -> int | None:
    """Raise (or bring up to date) the alert for a flagged manifest just registered; the
    alert's id. The cases are those holding the file now (``case_evidence_flags``)."""
    row = conn.execute(
        "SELECT id FROM evidence_files WHERE dock_id = %s AND seq = %s", (dock_id, m.seq)
    ).fetchone()
    if row is None:
        return None
    ef_id = int(row[0])
    cases = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT case_id FROM case_evidence_flags"
            " WHERE camera_id = %s AND file_id = %s ORDER BY case_id",
            (m.camera_id, m.file_id),
        )
    ]
    text = detail(m, dock_id, ef_id, cases)
    subj = subject(m.camera_id, m.file_id)
    kind = SystemAlertKind.EVIDENCE_INTEGRITY.value
    cur = conn.cursor(row_factory=dict_row)
    open_row = cur.execute(
        "SELECT id FROM alerts WHERE device_id IS NULL AND subject = %s AND kind = %s"
        " AND state <> 'resolved' FOR UPDATE",
        (subj, kind),
    ).fetchone()
    if open_row is not None:
        conn.execute(
            "UPDATE alerts SET last_seen_at = %s, occurrences = occurrences + 1, detail = %s"
            " WHERE id = %s",
            (now, text, open_row["id"]),
        )
        return int(open_row["id"])
    # Seen by the camera's unit (and every unit above it); the city's if the camera has none.
    new = cur.execute(
        "INSERT INTO alerts (subject, kind, severity, opened_at, last_seen_at, detail,"
        " org_unit_id) VALUES (%s, %s, %s, %s, %s, %s, coalesce("
        " (SELECT org_unit_id FROM devices WHERE device_id = %s),"
        " (SELECT id FROM org_units WHERE parent_id IS NULL ORDER BY id LIMIT 1)))"
        " RETURNING id, subject, kind, severity, org_unit_id, opened_at, detail",
        (subj, kind, Severity.CRITICAL.value, now, now, text, m.camera_id),
    ).fetchone()
    assert new is not None
    conn.execute(
        audit.INSERT,
        audit.row(
            ACTOR,
            "alert.open",
            "alert",
            str(new["id"]),
            org_unit_id=new["org_unit_id"],
            before=None,
            after=audit.jsonable(new) | {"evidence_file_id": ef_id, "cases": cases},
        ),
    )
    return int(new["id"])
