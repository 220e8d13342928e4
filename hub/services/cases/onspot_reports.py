"""What the hub does with a terminal's on-the-spot reports (run by the hub worker): a decision
printed at the scene is filed (备案, ``store.file_on_spot``) and its number marked printed; a
number voided or returned at the scene is recorded; everything the hub cannot accept is refused
with its reason — never dropped.

A report about a number is accepted only if the reporting terminal holds that number unused
(``NumberLedger`` rules), the document's number and hash agree with the report, and the document
is complete (``OnSpotDecision.missing()``, Art. 51-52). A refused report is written to
``dead_letters`` (reason ``on_spot_refused``, the raw event kept by the gateway as well) and the
number it names is flagged (``block_numbers.bad_report``) and stays allocated, so a supervisor
sees it on the terminal's page and resolves it (voids it with a reason, or the terminal sends a
corrected report). A report the contract itself rejects (malformed) is dead-lettered by the
gateway; ``malformed`` flags its number the same way.

Every event arrives at least once: a redelivered report of a number already printed by the same
terminal for the same document is absorbed (file_on_spot is idempotent on terminal and number).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from hub.domain.cases.numbering import NumberState
from hub.domain.errors import HubError
from hub.domain.terminals import custody_refusal
from hub.repositories.cases import number_blocks as repo
from hub.services.cases import number_blocks
from hub.services.cases.store import file_on_spot
from schemas.documents import OnSpotDecision, document_sha256
from schemas.messages import NumbersReturned, NumberVoided, OnSpotDecisionReport

log = logging.getLogger(__name__)
AConn = psycopg.AsyncConnection[Any]
# store.file_on_spot's signature (casecore): the document, the terminal, the hash it reported.
Filer = Callable[..., Awaitable[str]]
REFUSED = "on_spot_refused"  # dead_letters.reason of a report the hub refused


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    detail: str
    case_id: str | None = None
    number: str | None = None


def _default_filer() -> Filer:
    return file_on_spot


def actor_of(terminal_id: str) -> str:
    return f"terminal:{terminal_id}"


async def handle(
    conn: AConn,
    terminal_id: str,
    msg: OnSpotDecisionReport | NumberVoided | NumbersReturned,
    *,
    topic: str,
    raw: bytes,
    received_at: datetime,
    file: Filer | None = None,
) -> Outcome:
    """Apply one validated report in one transaction, or refuse it with its reason."""
    try:
        async with conn.transaction():
            dev = await repo.device(conn, terminal_id)
            if dev is None or dev["retired_at"] is not None:
                raise _Refused(f"terminal {terminal_id} is unknown, retired or lost")
            if isinstance(msg, OnSpotDecisionReport):
                return await _decision(
                    conn, terminal_id, msg, received_at, file or _default_filer()
                )
            if isinstance(msg, NumberVoided):
                row = await _held(conn, terminal_id, msg.number, allow_done=True)
                if row["state"] == NumberState.VOIDED.value and row["changed_by"] == actor_of(
                    terminal_id
                ):
                    return Outcome(True, "already voided", number=msg.number)
                await number_blocks.void_number(
                    conn, row, msg.reason, actor=actor_of(terminal_id), now=msg.ts
                )
                return Outcome(True, "voided", number=msg.number)
            rows = [await _held(conn, terminal_id, n, allow_done=True) for n in msg.numbers]
            todo = [r for r in rows if r["state"] != NumberState.RETURNED.value]
            await number_blocks.return_rows(conn, todo, actor=actor_of(terminal_id), now=msg.ts)
            return Outcome(True, f"{len(todo)} returned")
    except (_Refused, HubError) as exc:
        detail = exc.detail if isinstance(exc, HubError) else str(exc)
        number = _number_of(msg)
        await refuse(conn, topic, terminal_id, raw, detail, number=number, at=received_at)
        return Outcome(False, detail, number=number)


class _Refused(Exception):
    @property
    def detail(self) -> str:
        return str(self)


async def _held(conn: AConn, terminal_id: str, number: str, *, allow_done: bool) -> dict[str, Any]:
    row = await repo.number(conn, number, lock=True)
    if row is None:
        raise _Refused(f"{number} was never allocated to any terminal")
    if row["terminal_id"] != terminal_id:
        raise _Refused(f"{number} is not held by terminal {terminal_id}")
    return row


async def _decision(
    conn: AConn, terminal_id: str, msg: OnSpotDecisionReport, received_at: datetime, file: Filer
) -> Outcome:
    row = await _held(conn, terminal_id, msg.number, allow_done=True)
    doc: OnSpotDecision = msg.document
    if row["state"] == NumberState.PRINTED.value:
        if row["report_device"] == terminal_id and row["report_seq"] == msg.seq:
            return Outcome(True, "already filed", case_id=row["case_id"], number=msg.number)
        raise _Refused(
            f"{msg.number} is already printed (case {row['case_id']}): a number is used once"
        )
    if row["state"] != NumberState.ALLOCATED.value:
        raise _Refused(
            f"{msg.number} is {row['state']}: it cannot be printed (a number is used once)"
        )
    # The officer named on the terminal must hold it, at the decision's time and now: the
    # terminal's clock alone must not let someone act in another officer's name (issue 12).
    refusal = custody_refusal(
        terminal_id,
        msg.officer_id,
        await repo.holder_at(conn, terminal_id, doc.issued_at),
        await repo.holder_at(conn, terminal_id, received_at),
    )
    if refusal is not None:
        raise _Refused(refusal)
    if document_sha256(doc) != msg.sha256:
        raise _Refused(f"the SHA-256 reported for {msg.number} is not the document's")
    missing = doc.missing()
    if missing:
        raise _Refused(f"{msg.number} is incomplete: " + "; ".join(missing))
    if doc.subject.code != row["legal_subject"]:
        raise _Refused(f"{msg.number} belongs to {row['legal_subject']}, not {doc.subject.code}")
    case_id = await file(
        conn,
        doc,
        terminal_id=terminal_id,
        reported_sha256=msg.sha256,
        received_at=received_at,
        matter_code=msg.matter_code,
    )
    number_blocks.ledger_for(row).mark_printed(row["n"], terminal_id, case_id)
    await repo.update_number(
        conn,
        msg.number,
        {
            "state": NumberState.PRINTED.value,
            "case_id": case_id,
            "report_device": terminal_id,
            "report_seq": msg.seq,
            "changed_by": actor_of(terminal_id),
            "changed_at": received_at,
            "bad_report": None,
            "bad_report_at": None,
        },
    )
    return Outcome(True, "filed", case_id=case_id, number=msg.number)


def _number_of(msg: Any) -> str | None:
    number = getattr(msg, "number", None)
    return number if isinstance(number, str) else None


def number_in(raw: bytes) -> str | None:
    """The number a malformed on-the-spot report names, if it can be read at all."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("event") not in (
        "on_spot_decision",
        "number_voided",
    ):
        return None
    number = obj.get("number")
    if not isinstance(number, str):
        doc = obj.get("document")
        number = doc.get("number") if isinstance(doc, dict) else None
    return number if isinstance(number, str) and 0 < len(number) <= 64 else None


async def malformed(
    conn: AConn, terminal_id: str, raw: bytes, detail: str, *, at: datetime
) -> str | None:
    """A report the contract rejected (the gateway dead-letters it): flag the number it names,
    if the terminal holds it, so it stays accounted for. Returns the number flagged."""
    number = number_in(raw)
    if number is None:
        return None
    async with conn.transaction():
        return await _flag(conn, terminal_id, number, f"malformed report: {detail}", at)


async def _flag(conn: AConn, terminal_id: str, number: str, why: str, at: datetime) -> str | None:
    row = await repo.number(conn, number, lock=True)
    if row is None or row["terminal_id"] != terminal_id:
        return None  # not this terminal's: nothing of ours to flag (the dead letter says it)
    if row["state"] != NumberState.ALLOCATED.value:
        return None  # already final: the refusal is in the dead letters
    await repo.update_number(conn, number, {"bad_report": why[:1000], "bad_report_at": at})
    return number


async def refuse(
    conn: AConn,
    topic: str,
    terminal_id: str,
    raw: bytes,
    detail: str,
    *,
    number: str | None,
    at: datetime,
) -> None:
    """Dead-letter a refused report with its reason and flag the number it names."""
    log.warning("refusing on-the-spot report from %s: %s", terminal_id, detail)
    async with conn.transaction():
        seq = None
        with contextlib.suppress(ValueError, AttributeError, RecursionError):
            seq = json.loads(raw).get("seq")
        await conn.execute(
            "INSERT INTO dead_letters (received_at, topic, payload, reason, detail, device_id,"
            " device_type, seq) VALUES (%s, %s, %s, %s, %s, %s, 'mobile_terminal', %s)",
            (at, topic, raw, REFUSED, detail, terminal_id, seq if isinstance(seq, int) else None),
        )
        if number is not None:
            await _flag(conn, terminal_id, number, f"refused: {detail}", at)
