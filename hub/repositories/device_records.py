"""SQL for what the hub records from device events: pairings, print jobs, evidence files and
commands to devices. Functions take a connection inside the caller's transaction; none commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hub.domain.pairing import Pairing, PrinterRecord

Conn = psycopg.Connection[Any]

_PAIRING_COLS = "id, printer_id, terminal_id, officer_id, paired_at"


# ------------------------------------------------------------------------- devices ------
def device_record(conn: Conn, device_id: str) -> PrinterRecord | None:
    row = conn.execute(
        "SELECT device_type, retired_at IS NOT NULL FROM devices WHERE device_id = %s",
        (device_id,),
    ).fetchone()
    return PrinterRecord(row[0], row[1]) if row else None


# ------------------------------------------------------------------------ pairings ------
def pairing_request(conn: Conn, terminal_id: str, seq: int) -> tuple[bool, str | None, str] | None:
    """(accepted, reason, cmd_id) of a request already decided, for a redelivered event."""
    row = conn.execute(
        "SELECT accepted, reason, cmd_id FROM printer_pairing_requests"
        " WHERE terminal_id = %s AND seq = %s",
        (terminal_id, seq),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def record_pairing_request(
    conn: Conn,
    terminal_id: str,
    seq: int,
    *,
    printer_id: str,
    officer_id: str,
    requested_at: datetime,
    accepted: bool,
    reason: str | None,
    cmd_id: str,
) -> None:
    conn.execute(
        "INSERT INTO printer_pairing_requests (terminal_id, seq, printer_id, officer_id,"
        " requested_at, accepted, reason, cmd_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (terminal_id, seq, printer_id, officer_id, requested_at, accepted, reason, cmd_id),
    )


def open_pairing_of_printer(conn: Conn, printer_id: str) -> Pairing | None:
    # FOR UPDATE: two terminals scanning the same printer at once are decided one at a time.
    row = conn.execute(
        f"SELECT {_PAIRING_COLS} FROM printer_pairings"
        " WHERE printer_id = %s AND unpaired_at IS NULL FOR UPDATE",
        (printer_id,),
    ).fetchone()
    return Pairing(*row) if row else None


def open_pairing_of_terminal(conn: Conn, terminal_id: str) -> Pairing | None:
    row = conn.execute(
        f"SELECT {_PAIRING_COLS} FROM printer_pairings"
        " WHERE terminal_id = %s AND unpaired_at IS NULL ORDER BY paired_at DESC LIMIT 1"
        " FOR UPDATE",
        (terminal_id,),
    ).fetchone()
    return Pairing(*row) if row else None


def lock_printer(conn: Conn, printer_id: str) -> None:
    """Serialise decisions about one printer even when it has no open pairing yet."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('printer:' || %s))", (printer_id,))


def open_pairing(
    conn: Conn, printer_id: str, terminal_id: str, officer_id: str, at: datetime
) -> None:
    conn.execute(
        "INSERT INTO printer_pairings (printer_id, terminal_id, officer_id, paired_at)"
        " VALUES (%s, %s, %s, %s)",
        (printer_id, terminal_id, officer_id, at),
    )


def close_pairing(conn: Conn, pairing_id: int, at: datetime, reason: str) -> None:
    conn.execute(
        "UPDATE printer_pairings SET unpaired_at = greatest(%s, paired_at), unpair_reason = %s"
        " WHERE id = %s AND unpaired_at IS NULL",
        (at, reason, pairing_id),
    )


# ---------------------------------------------------------------------- print jobs ------
def print_job_last_seq(conn: Conn, terminal_id: str, job_id: str) -> int | None:
    row = conn.execute(
        "SELECT last_seq FROM print_jobs WHERE terminal_id = %s AND job_id = %s FOR UPDATE",
        (terminal_id, job_id),
    ).fetchone()
    return int(row[0]) if row else None


def upsert_print_job(
    conn: Conn,
    terminal_id: str,
    job_id: str,
    *,
    status: str,
    seq: int,
    at: datetime,
    fields: dict[str, Any],
) -> None:
    """Create or move a job; ``fields`` are the event's optional facts (None: keep the old)."""
    stamp = {
        "queued": "queued_at",
        "sent": "sent_at",
        "printed": "finished_at",
        "failed": "finished_at",
    }[status]
    conn.execute(
        f"""
        INSERT INTO print_jobs (terminal_id, job_id, status, last_seq, {stamp}, printer_id,
                                officer_id, case_number, cmd_id, pages, pages_printed, reason,
                                resumed)
        VALUES (%(t)s, %(j)s, %(s)s, %(seq)s, %(at)s, %(printer_id)s, %(officer_id)s,
                %(case_number)s, %(cmd_id)s, %(pages)s, coalesce(%(pages_printed)s, 0),
                %(reason)s, coalesce(%(resumed)s, false))
        ON CONFLICT (terminal_id, job_id) DO UPDATE SET
            status = excluded.status,
            last_seq = excluded.last_seq,
            {stamp} = excluded.{stamp},
            printer_id = coalesce(excluded.printer_id, print_jobs.printer_id),
            officer_id = coalesce(excluded.officer_id, print_jobs.officer_id),
            case_number = coalesce(excluded.case_number, print_jobs.case_number),
            cmd_id = coalesce(excluded.cmd_id, print_jobs.cmd_id),
            pages = coalesce(excluded.pages, print_jobs.pages),
            pages_printed = CASE WHEN %(pages_printed)s IS NULL THEN print_jobs.pages_printed
                                 ELSE excluded.pages_printed END,
            reason = excluded.reason,
            resumed = print_jobs.resumed OR excluded.resumed,
            updated_at = now()
        """,
        {"t": terminal_id, "j": job_id, "s": status, "seq": seq, "at": at, **fields},
    )


# ------------------------------------------------------------------------ evidence ------
def insert_evidence(conn: Conn, dock_id: str, seq: int, m: dict[str, Any]) -> bool:
    """Register one manifest; False if this (dock, seq) is already registered."""
    cur = conn.execute(
        """
        INSERT INTO evidence_files (dock_id, seq, camera_id, file_id, officer_id, started_at,
            ended_at, size_bytes, media_type, sha256, registered_sha256, camera_sha256,
            integrity, storage_uri, offload_resumed, manifest)
        VALUES (%(dock)s, %(seq)s, %(camera_id)s, %(file_id)s, %(officer_id)s, %(started_at)s,
            %(ended_at)s, %(size_bytes)s, %(media_type)s, %(sha256)s, %(registered_sha256)s,
            %(camera_sha256)s, %(integrity)s, %(storage_uri)s, %(offload_resumed)s,
            %(manifest)s)
        ON CONFLICT (dock_id, seq) DO NOTHING
        """,
        {"dock": dock_id, "seq": seq, **m, "manifest": Jsonb(m)},
    )
    return cur.rowcount == 1


# ------------------------------------------------------------------------ commands ------
def insert_command(
    conn: Conn,
    cmd_id: str,
    device_id: str,
    *,
    cmd: str,
    args: dict[str, Any],
    created_at: datetime,
    expires_at: datetime | None = None,
) -> None:
    conn.execute(
        "INSERT INTO device_commands (cmd_id, device_id, cmd, args, created_at, expires_at,"
        " status) VALUES (%s, %s, %s, %s, %s, %s, 'sent') ON CONFLICT (cmd_id) DO NOTHING",
        (cmd_id, device_id, cmd, Jsonb(args), created_at, expires_at),
    )


def command(conn: Conn, cmd_id: str) -> tuple[str, str, dict[str, Any], datetime] | None:
    """(device_id, cmd, args, created_at) of a stored command, to publish it again."""
    row = conn.execute(
        "SELECT device_id, cmd, args, created_at FROM device_commands WHERE cmd_id = %s",
        (cmd_id,),
    ).fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


# A result may arrive twice or out of order; a command's status only moves forward.
_STATUS_RANK = (
    "CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'accepted' THEN 2 ELSE 3 END"
)


def record_command_result(
    conn: Conn, device_id: str, cmd_id: str, *, status: str, detail: str | None, at: datetime
) -> bool:
    rank = {"accepted": 2}.get(status, 3)
    cur = conn.execute(
        f"UPDATE device_commands SET status = %s, detail = %s, status_at = %s"
        f" WHERE cmd_id = %s AND device_id = %s AND {_STATUS_RANK} < %s",
        (status, detail, at, cmd_id, device_id, rank),
    )
    return cur.rowcount == 1


def holder_at(conn: Conn, device_id: str, at: datetime) -> str | None:
    """Who has the device checked out at ``at`` (custody), if anyone."""
    row = conn.execute(
        "SELECT staff_id FROM custody WHERE device_id = %s AND checked_out_at <= %s"
        " AND (checked_in_at IS NULL OR checked_in_at > %s) ORDER BY checked_out_at DESC LIMIT 1",
        (device_id, at, at),
    ).fetchone()
    return str(row[0]) if row else None


def standing(conn: Conn, device_id: str) -> tuple[datetime | None] | None:
    """``(retired_at,)`` of a registered device (None inside while it is in service); None
    when it is not in the registry. One primary-key lookup."""
    row = conn.execute(
        "SELECT retired_at FROM devices WHERE device_id = %s", (device_id,)
    ).fetchone()
    return None if row is None else (row[0],)
