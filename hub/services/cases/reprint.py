"""Reprint a case document on the officer's paired Bluetooth printer (补打, issue 10 §9).

Through the existing print path: a ``print`` command with ``PrintDocumentArgs`` (the contract
document itself, which the terminal lays out as it does at the scene) recorded in
``device_commands`` before it is published to the officer's terminal, then the terminal's
``print_queued / print_sent / print_done`` events follow the job as for any print. The
document printed is the stored one, parsed from its canonical bytes, so the copy carries the
same number, hash and QR code as the original. Audited as ``case.reprint``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.domain.errors import Conflict, Unavailable
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories import dispatch as commands_repo
from hub.services.cases import queries
from hub.services.dispatch import Publisher
from schemas.documents import parse_document
from schemas.messages import Command, PrintDocumentArgs
from schemas.topics import Channel, DeviceType, device_topic

AConn = psycopg.AsyncConnection[Any]


async def paired_printer(conn: AConn, staff_id: str) -> tuple[str, str] | None:
    """(terminal, printer) of the officer's open pairing, the latest if several."""
    cur = await conn.execute(
        "SELECT terminal_id, printer_id FROM printer_pairings"
        " WHERE officer_id = %s AND unpaired_at IS NULL ORDER BY paired_at DESC LIMIT 1",
        (staff_id,),
    )
    row = await cur.fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


async def reprint(
    conn: AConn,
    p: Principal,
    case_id: str,
    doc_id: str,
    *,
    verify_base: str,
    publisher: Publisher,
    now: datetime | None = None,
) -> str:
    """Send the document to the caller's paired printer; the command id (= the print job)."""
    p.require(Action.HANDLE_CASES)
    row = await queries.document(conn, p, case_id, doc_id)
    if not row.get("modelled", True):
        raise Conflict("this record has no printed form: only modelled documents are printed")
    if p.staff_id is None:
        raise Conflict("your account is not linked to a staff record: no paired printer")
    pair = await paired_printer(conn, p.staff_id)
    if pair is None:
        raise Conflict("no printer is paired with you: pair a Bluetooth printer on your terminal")
    terminal, printer = pair
    at = now or datetime.now(UTC)
    cmd_id = f"print-{uuid.uuid4().hex[:12]}"
    args = PrintDocumentArgs(
        job_id=cmd_id,
        printer_id=printer,
        document=parse_document(bytes(row["canonical"])),  # type: ignore[arg-type]
        verify_base=verify_base,
    ).model_dump(mode="json", exclude_none=True)
    async with conn.transaction():
        await commands_repo.insert_command(conn, cmd_id, terminal, cmd="print", args=args, at=at)
        await audit.record(
            conn, p.username, "case.reprint", "case_document", doc_id,
            after={"case_id": case_id, "terminal_id": terminal, "printer_id": printer,
                   "cmd_id": cmd_id},
        )  # fmt: skip
    command = Command(v=1, cmd_id=cmd_id, ts=at, cmd="print", args=args)
    topic = device_topic(DeviceType.MOBILE_TERMINAL, terminal, Channel.CMD)
    try:
        await publisher.publish([(topic, command.model_dump_json().encode())])
    except Exception as exc:  # broker down: the job is recorded, say it was not sent
        async with conn.transaction():
            await commands_repo.mark_command_failed(conn, cmd_id, datetime.now(UTC), str(exc))
        raise Unavailable(f"the print command could not be sent ({exc})") from exc
    async with conn.transaction():
        await commands_repo.mark_sent(conn, cmd_id, datetime.now(UTC))
    return cmd_id
