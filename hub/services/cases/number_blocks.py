"""Number blocks for on-the-spot decisions: allocate a block of 当场行政处罚决定书 numbers to a
terminal in advance, list each number's fate, void one with a reason, return unused ones.

The rules are the pure ledger's (``hub.domain.cases.numbering.NumberLedger``: a block takes the
next numbers of the series, only the holder prints/voids/returns a number, a number is used
once); this module keeps them in the database (migration 022), one transaction per use case,
audited, and delivers a block to its terminal with a ``number_block`` command on the existing
command path (recorded in ``device_commands`` first, so the terminal's ``cmd_result`` moves it
to ``done``). Voiding appends ``number_voided`` to the transparency log in the same transaction
(the reason's SHA-256 as its code: the words stay in the hub).

The terminal's own reports (a decision printed, a number voided or returned at the scene) come
through the hub worker: ``hub.services.cases.onspot_reports``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Protocol

import psycopg

from hub.domain.cases.numbering import NumberLedger, NumberRecord, NumberState
from hub.domain.cases.refusals import Rule, RuleRefused
from hub.domain.errors import Conflict, Invalid, NotFound, Unavailable
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories.cases import number_blocks as repo
from hub.services.cases import catalog
from hub.transparency import entries, store
from schemas.documents.common import Payment, Remedies, Subject
from schemas.messages import Command, NumberBlockArgs
from schemas.topics import Channel, DeviceType, device_topic

AConn = psycopg.AsyncConnection[Any]
CST = timezone(timedelta(hours=8))  # a series' year is Shenzhen's
MAX_BLOCK = 1000  # what one command carries (NumberBlockArgs)


class Publisher(Protocol):
    """``hub.notify.Publisher``: publish at QoS 1 (PUBACKed) or raise."""

    async def publish(self, messages: list[tuple[str, bytes]]) -> None: ...


@dataclass(frozen=True)
class BlockRequest:
    legal_subject: str  # a legal subject code of the current catalog
    size: int
    year: int | None = None  # None: this year in Shenzhen
    team_name: str | None = None  # printed under the subject's name
    remedies: Remedies | None = None
    payment: Payment | None = None


def reason_sha256(reason: str) -> str:
    return hashlib.sha256(reason.encode("utf-8")).hexdigest()


def ledger_for(row: dict[str, Any], prefix: str = "") -> NumberLedger:
    """A one-number ledger holding ``row``'s record: the pure rules decide each move."""
    state = NumberState(row["state"])
    rec = NumberRecord(state, row["terminal_id"], row.get("case_id") or "")
    return NumberLedger(
        prefix or "x", row["year"], last=row["n"], records=MappingProxyType({row["n"]: rec})
    )


async def _terminal(conn: AConn, p: Principal, terminal_id: str) -> dict[str, Any]:
    dev = p.visible(await repo.device(conn, terminal_id), f"device {terminal_id}")
    if dev["device_type"] != DeviceType.MOBILE_TERMINAL.value:
        raise Invalid(
            f"number blocks go to mobile terminals; {terminal_id} is a {dev['device_type']}"
        )
    return dev


async def allocate(
    conn: AConn,
    p: Principal,
    terminal_id: str,
    req: BlockRequest,
    *,
    publisher: Publisher,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Allocate the next ``size`` numbers of the subject's series to the terminal and send it
    the block. ``Unavailable`` when the broker did not take the command (the block stays
    allocated, its delivery ``failed``: return its numbers or allocate again)."""
    p.require(Action.NUMBER_BLOCKS)
    now = now or datetime.now(UTC)
    year = req.year or now.astimezone(CST).year
    if not 1 <= req.size <= MAX_BLOCK:
        raise RuleRefused(
            Rule.CASE_NUMBER, f"a block holds 1 to {MAX_BLOCK} numbers, not {req.size}"
        )
    async with conn.transaction():
        dev = await _terminal(conn, p, terminal_id)
        if dev["retired_at"] is not None:
            raise Conflict(f"terminal {terminal_id} is retired or lost: it gets no numbers")
        _version, cat = await catalog.current(conn)
        subject = cat.legal_subjects.get(req.legal_subject)
        if subject is None:
            raise NotFound(f"legal subject {req.legal_subject} not found in the catalog")
        last = await repo.take_counter(conn, subject.code, year)
        ledger = NumberLedger(subject.number_prefix, year, last=last)
        ledger, block = ledger.allocate_block(terminal_id, req.size)
        block_id = f"nb-{uuid.uuid4().hex[:12]}"
        args = NumberBlockArgs(
            block_id=block_id,
            subject=Subject(
                code=subject.code,
                name=subject.name,
                seal_name=subject.seal_name or None,
                team_name=req.team_name,
            ),
            prefix=subject.number_prefix,
            year=year,
            first=block.first,
            last=block.last,
            remedies=req.remedies,
            payment=req.payment,
        )
        payload = args.model_dump(mode="json", exclude_none=True)
        cmd_id = f"number_block-{uuid.uuid4().hex[:12]}"
        await repo.insert_command(
            conn, cmd_id, terminal_id, cmd="number_block", args=payload, at=now
        )
        row = {
            "block_id": block_id,
            "legal_subject": subject.code,
            "year": year,
            "prefix": subject.number_prefix,
            "first_n": block.first,
            "last_n": block.last,
            "terminal_id": terminal_id,
            "org_unit_id": dev["org_unit_id"],
            "form": payload,
            "cmd_id": cmd_id,
            "allocated_by": p.username,
            "allocated_at": now,
        }
        await repo.insert_block(conn, row)
        await repo.set_counter(conn, subject.code, year, ledger.last)
        await audit.record(
            conn,
            p.username,
            "number_block.allocate",
            "number_block",
            block_id,
            org_unit_id=dev["org_unit_id"],
            after=audit.jsonable({k: v for k, v in row.items() if k != "form"}),
        )
    command = Command(v=1, cmd_id=cmd_id, ts=now, cmd="number_block", args=payload)
    topic = device_topic(DeviceType.MOBILE_TERMINAL, terminal_id, Channel.CMD)
    try:
        await publisher.publish([(topic, command.model_dump_json().encode())])
    except Exception as exc:  # broker down or refused: say so; the block is accounted for
        await _mark_command(conn, cmd_id, "failed", f"not delivered to the broker: {exc}")
        raise Unavailable(
            f"block {block_id} is allocated but its command could not be sent ({exc});"
            " return its numbers or allocate again",
            block_id=block_id,
        ) from exc
    await _mark_command(conn, cmd_id, "sent", None)
    [out] = [b for b in await listing(conn, p, terminal_id) if b["block_id"] == block_id]
    return out


async def _mark_command(conn: AConn, cmd_id: str, status: str, detail: str | None) -> None:
    # Only from pending: the terminal's answer may already have moved it forward.
    await conn.execute(
        "UPDATE device_commands SET status = %s, status_at = now(), detail = %s"
        " WHERE cmd_id = %s AND status = 'pending'",
        (status, detail, cmd_id),
    )


async def listing(conn: AConn, p: Principal, terminal_id: str) -> list[dict[str, Any]]:
    """The terminal's blocks, newest first, each with its numbers and their states."""
    p.require(Action.READ_CASES)
    await _terminal(conn, p, terminal_id)
    blocks = await repo.blocks(conn, terminal_id)
    numbers = await repo.numbers_of(conn, [b["block_id"] for b in blocks])
    by_block: dict[str, list[dict[str, Any]]] = {}
    for n in numbers:
        by_block.setdefault(n["block_id"], []).append(_public_number(n))
    out = []
    for b in blocks:
        nums = by_block.get(b["block_id"], [])
        counts = {s.value: 0 for s in NumberState}
        for n in nums:
            counts[n["state"]] += 1
        out.append(
            {
                **{k: b[k] for k in ("block_id", "legal_subject", "year", "prefix", "terminal_id")},
                "first": b["first_n"],
                "last": b["last_n"],
                "allocated_by": b["allocated_by"],
                "allocated_at": b["allocated_at"],
                "cmd_id": b["cmd_id"],
                "delivery": b["delivery"] or "unknown",
                "counts": counts,
                "flagged": sum(1 for n in nums if n["bad_report"]),
                "numbers": nums,
            }
        )
    return out


def _public_number(n: dict[str, Any]) -> dict[str, Any]:
    # The void reason is the case file's; the page and API show it to those who reach the
    # terminal, the transparency log only its hash.
    return {
        k: n[k]
        for k in (
            "number",
            "n",
            "state",
            "case_id",
            "reason",
            "changed_by",
            "changed_at",
            "bad_report",
            "bad_report_at",
        )
    }


async def _held_row(conn: AConn, p: Principal, terminal_id: str, number: str) -> dict[str, Any]:
    row = await repo.number(conn, number, lock=True)
    if row is None or row["terminal_id"] != terminal_id:
        raise NotFound(f"number {number} not found on terminal {terminal_id}")
    return row


async def void(
    conn: AConn,
    p: Principal,
    terminal_id: str,
    number: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A supervisor voids a held number (a spoiled form, a report that cannot be accepted)."""
    p.require(Action.NUMBER_BLOCKS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        dev = await _terminal(conn, p, terminal_id)
        row = await _held_row(conn, p, terminal_id, number)
        after = await void_number(conn, row, reason, actor=p.username, now=now)
        await audit.record(
            conn,
            p.username,
            "number_block.void",
            "block_number",
            number,
            org_unit_id=dev["org_unit_id"],
            before=audit.jsonable(_public_number(row)),
            after=audit.jsonable(_public_number(after)),
        )
    return _public_number(after)


async def void_number(
    conn: AConn, row: dict[str, Any], reason: str, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Void ``row`` (locked by the caller) with ``reason``; logs ``number_voided``."""
    if not reason.strip():
        raise RuleRefused(Rule.REASON_REQUIRED, "voiding a number needs a reason")
    digest = reason_sha256(reason.strip())
    ledger_for(row).void(row["n"], row["terminal_id"], digest)  # the ledger's rules, or refused
    queued = await store.append(
        conn,
        entries.number_voided(
            number=row["number"],
            legal_subject_id=row["legal_subject"],
            reason_code=f"sha256:{digest}",
            voided_by=actor,
            at=now,
        ),
    )
    changes = {
        "state": NumberState.VOIDED.value,
        "reason": reason.strip(),
        "reason_sha256": digest,
        "tlog_queue_id": queued.queue_id,
        "changed_by": actor,
        "changed_at": now,
    }
    await repo.update_number(conn, row["number"], changes)
    return {**row, **changes}


async def return_numbers(
    conn: AConn,
    p: Principal,
    terminal_id: str,
    numbers: list[str] | None,
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Unused numbers handed back (``None``: every number the terminal still holds)."""
    p.require(Action.NUMBER_BLOCKS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        dev = await _terminal(conn, p, terminal_id)
        if numbers is None:
            numbers = await repo.open_numbers(conn, terminal_id, lock=True)
        rows = [await _held_row(conn, p, terminal_id, n) for n in numbers]
        out = await return_rows(conn, rows, actor=p.username, now=now)
        await audit.record(
            conn,
            p.username,
            "number_block.return",
            "device",
            terminal_id,
            org_unit_id=dev["org_unit_id"],
            after={"returned": [r["number"] for r in out]},
        )
    return [_public_number(r) for r in out]


async def return_rows(
    conn: AConn, rows: list[dict[str, Any]], *, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Return ``rows`` (locked by the caller), all or none, by the ledger's rules."""
    if len({r["number"] for r in rows}) != len(rows):
        raise RuleRefused(Rule.CASE_NUMBER, "a number is returned once")
    for r in rows:
        ledger_for(r).return_numbers([r["n"]], r["terminal_id"])
    changes = {"state": NumberState.RETURNED.value, "changed_by": actor, "changed_at": now}
    for r in rows:
        await repo.update_number(conn, r["number"], changes)
    return [{**r, **changes} for r in rows]
