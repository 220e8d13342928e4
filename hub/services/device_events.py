"""What the hub does with device events: decide printer pairings (and answer the terminal),
follow print jobs, register evidence manifests, record command results (moving dispatch orders
on), and open a priority-1 incident for an SOS (``services.dispatch_events``).

``handle`` runs one event in one transaction and returns the commands to publish once it has
committed. Every event arrives at least once: each path is idempotent on (device, seq), and a
redelivered pairing request is answered with the command stored the first time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.domain import pairing as rules
from hub.domain.print_jobs import EVENT_STATUS, apply
from hub.domain.terminals import custody_refusal
from hub.repositories import device_records as repo
from hub.services import attendance, dispatch_events, evidence_integrity
from schemas.messages import (
    CmdResult,
    Command,
    EvidenceManifest,
    Integrity,
    PairingResultArgs,
    PrinterPaired,
    PrinterUnpaired,
    SignIn,
    SignOut,
    Sos,
)
from schemas.topics import DeviceType


class DeviceRefused(Exception):
    """A device the hub must not act for: not in the registry, or retired/lost
    (``devices.retired_at`` set). Nothing of its event is applied."""

    def __init__(self, device_id: str, reason: str) -> None:
        super().__init__(f"device {device_id}: {reason}")
        self.device_id = device_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A command to publish on ``ehub/v1/{device_type}/{device_id}/cmd`` after commit."""

    device_type: DeviceType
    device_id: str
    command: Command


def handle(
    conn: repo.Conn, device_type: DeviceType, device_id: str, msg: Any, now: datetime | None = None
) -> list[Outgoing]:
    """Apply one validated upstream message; returns the commands it calls for.

    Raises ``DeviceRefused`` (nothing applied) for a device that is unknown or retired/lost.
    """
    now = now or datetime.now(UTC)
    with conn.transaction():
        # The worker subscribes to the broker directly, not through the gateway, so it cannot
        # rely on the gateway's refusal: a retired or lost device whose broker client is not
        # disabled yet (the dynsec change still queued, issue 12 part 5) must not open an
        # incident, sign anyone in or move a dispatch order. One primary-key lookup, in this
        # transaction, so a retirement committed before the event is always seen.
        known = repo.standing(conn, device_id)
        if known is None:
            raise DeviceRefused(device_id, "not in the device registry")
        if known[0] is not None:
            raise DeviceRefused(
                device_id, f"retired or lost since {known[0].isoformat()}; its events are refused"
            )
        if isinstance(msg, CmdResult):
            repo.record_command_result(
                conn, device_id, msg.cmd_id, status=msg.status.value, detail=msg.detail, at=msg.ts
            )
            dispatch_events.on_cmd_result(conn, device_id, msg, now)
            return []
        if isinstance(msg, Sos):
            dispatch_events.on_sos(conn, device_type, device_id, msg, now)
            return []
        event = getattr(msg, "event", None)
        if isinstance(msg, PrinterPaired):
            return _pair(conn, device_id, msg, now)
        if isinstance(msg, PrinterUnpaired):
            current = repo.open_pairing_of_printer(conn, msg.printer_id)
            if current is not None and rules.may_unpair(current, device_id):
                repo.close_pairing(conn, current.id, msg.ts, "unpaired on the terminal")
            return []
        if event in EVENT_STATUS and device_type is DeviceType.MOBILE_TERMINAL:
            _print_job(conn, device_id, msg)
            return []
        if isinstance(msg, SignIn | SignOut) and device_type is DeviceType.MOBILE_TERMINAL:
            attendance.record(conn, device_id, msg, now)
            return []
        if isinstance(msg, EvidenceManifest):
            fields = msg.model_dump(mode="json", exclude={"v", "seq", "ts", "event"})
            # A flagged file raises its alert once, when its manifest is first registered.
            if repo.insert_evidence(conn, device_id, msg.seq, fields) and (
                msg.integrity is not Integrity.OK
            ):
                evidence_integrity.flagged(conn, device_id, msg, now)
            return []
    return []


def _pair(conn: repo.Conn, terminal_id: str, msg: PrinterPaired, now: datetime) -> list[Outgoing]:
    done = repo.pairing_request(conn, terminal_id, msg.seq)
    if done is not None:  # redelivered: answer exactly as the first time
        stored = repo.command(conn, done[2])
        if stored is None:
            return []
        _dev, name, args, created = stored
        cmd = Command(v=1, cmd_id=done[2], ts=created, cmd=name, args=args)
        return [Outgoing(DeviceType.MOBILE_TERMINAL, terminal_id, cmd)]
    repo.lock_printer(conn, msg.printer_id)
    req = rules.PairRequest(msg.printer_id, terminal_id, msg.officer_id, msg.ts)
    decision = rules.decide(
        req,
        repo.device_record(conn, msg.printer_id),
        repo.open_pairing_of_printer(conn, msg.printer_id),
        repo.open_pairing_of_terminal(conn, terminal_id),
        # The holder at the event's time and now (msg.ts is the terminal's own clock).
        refusal=custody_refusal(
            terminal_id,
            msg.officer_id,
            repo.holder_at(conn, terminal_id, msg.ts),
            repo.holder_at(conn, terminal_id, now),
        ),
    )
    for old, why in decision.close:
        repo.close_pairing(conn, old.id, msg.ts, why)
    if decision.open_new:
        repo.open_pairing(conn, msg.printer_id, terminal_id, msg.officer_id, msg.ts)
    cmd_id = f"pair-{terminal_id}-{msg.seq}"
    args = PairingResultArgs(
        printer_id=msg.printer_id,
        officer_id=msg.officer_id,
        accepted=decision.accepted,
        reason=None if decision.accepted else decision.reason,
    ).model_dump(mode="json")
    repo.record_pairing_request(
        conn,
        terminal_id,
        msg.seq,
        printer_id=msg.printer_id,
        officer_id=msg.officer_id,
        requested_at=msg.ts,
        accepted=decision.accepted,
        reason=decision.reason,
        cmd_id=cmd_id,
    )
    repo.insert_command(conn, cmd_id, terminal_id, cmd="pairing_result", args=args, created_at=now)
    cmd = Command(v=1, cmd_id=cmd_id, ts=now, cmd="pairing_result", args=args)
    return [Outgoing(DeviceType.MOBILE_TERMINAL, terminal_id, cmd)]


def _print_job(conn: repo.Conn, terminal_id: str, msg: Any) -> None:
    last = repo.print_job_last_seq(conn, terminal_id, msg.job_id)
    status = apply(last, msg.event, msg.seq)
    if status is None:
        return
    fields = {
        "printer_id": getattr(msg, "printer_id", None),
        "officer_id": None,
        "case_number": getattr(msg, "case_number", None),
        "cmd_id": getattr(msg, "cmd_id", None),
        "pages": getattr(msg, "pages", None),
        "pages_printed": msg.pages
        if msg.event == "print_done"
        else getattr(msg, "pages_printed", None),
        "reason": getattr(msg, "reason", None),
        "resumed": getattr(msg, "resumed", None),
    }
    if fields["printer_id"] is not None:
        pairing = repo.open_pairing_of_printer(conn, fields["printer_id"])
        if pairing is not None and pairing.terminal_id == terminal_id:
            fields["officer_id"] = pairing.officer_id
    repo.upsert_print_job(
        conn, terminal_id, msg.job_id, status=status.value, seq=msg.seq, at=msg.ts, fields=fields
    )
