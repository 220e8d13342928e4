"""The mobile enforcement terminal (移动执法终端) agent: the reference for app developers and
what the simulator runs. Pure: time comes in as ``now``, print jobs go out as requests.

A shift: the officer signs in with a GPS fix, the terminal reports patrol track points and
status while on shift, and signs out at the end. The officer pairs a printer by scanning its
label; the terminal asks the hub (``printer_paired``) and prints only once the hub's
``pairing_result`` accepts it. Commands (dispatch orders, print jobs, configuration) are
answered on ``cmd_result``: ``accepted`` at once, then ``done`` or ``failed``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from device_drivers.agent import CommandLog, Message, cmd_result
from device_drivers.mobile_terminal.onspot import (
    NumberState,
    NumberWallet,
    OnSpotFacts,
    OnSpotMatter,
    OnSpotRefused,
    Pending,
    fill_decision,
)
from device_drivers.simulator.geo import Route, distance_m
from schemas.documents import OnSpotDecision, document_sha256
from schemas.documents.common import Officer, Party, PenaltyTerms, Receipt
from schemas.messages import (
    CmdStatus,
    Command,
    ConfigArgs,
    DispatchArgs,
    NumberBlockArgs,
    PairingResultArgs,
    PrintArgs,
    PrintDocumentArgs,
)
from schemas.topics import Channel, DeviceType

ARRIVED_WITHIN_M = 30.0


@dataclass(frozen=True, slots=True)
class PrintRequest:
    """A job for the terminal's printer driver (the shell renders and sends it)."""

    job_id: str
    printer_id: str
    args: PrintArgs | PrintDocumentArgs
    cmd_id: str | None


@dataclass
class Order:
    """A dispatch order being worked: the officer heads for ``target``."""

    cmd_id: str
    incident_id: str
    target: tuple[float, float]


@dataclass
class TerminalAgent:
    device_id: str
    officer_id: str
    route: Route
    rng: random.Random
    shift_start: datetime
    shift_end: datetime
    printer_label: str | None = None  # the printer the officer will scan at the start
    speed_kmh: float = 4.5
    status_interval_s: float = 30.0
    location_interval_s: float = 10.0
    battery: float = 100.0
    device_type: DeviceType = DeviceType.MOBILE_TERMINAL
    verify_base: str = "https://ehub.example.cn"  # the hub's public origin, for the QR code
    # state
    wallet: NumberWallet = field(default_factory=NumberWallet)  # on-the-spot number blocks
    signed_in: bool = False
    paired_printer: str | None = None
    pairing_requested: str | None = None
    pairing_refused: dict[str, str] = field(default_factory=dict)  # printer -> reason
    orders: dict[str, Order] = field(default_factory=dict)
    print_requests: list[PrintRequest] = field(default_factory=list)
    commands: CommandLog = field(default_factory=CommandLog)
    _out: list[Message] = field(default_factory=list)
    _last_t: datetime | None = None
    _next_status: datetime | None = None
    _next_location: datetime | None = None

    # ---------------------------------------------------------------------- ticks ------
    def next_message(self, now: datetime) -> Message | None:
        self._move(now)
        on_shift = self.shift_start <= now < self.shift_end
        if on_shift and not self.signed_in:
            self.signed_in = True
            return Channel.EVENT, {"event": "sign_in", "officer_id": self.officer_id, **self._fix()}
        if not on_shift and self.signed_in:
            self.signed_in = False
            return Channel.EVENT, {
                "event": "sign_out",
                "officer_id": self.officer_id,
                **self._fix(),
            }
        if (
            self.signed_in
            and self.printer_label
            and self.paired_printer is None
            and self.pairing_requested is None
            and self.printer_label not in self.pairing_refused
        ):
            return self.scan_printer(self.printer_label)
        if self._next_status is None or now >= self._next_status:
            self._next_status = now + timedelta(seconds=self.status_interval_s)
            return Channel.STATUS, self._status()
        if self.signed_in and (self._next_location is None or now >= self._next_location):
            self._next_location = now + timedelta(seconds=self.location_interval_s)
            return Channel.LOCATION, self._location()
        return None

    def drain(self, now: datetime) -> list[Message]:
        out, self._out = self._out, []
        return out

    def scan_printer(self, printer_id: str, mac: str | None = None) -> Message:
        """The officer scanned a printer's label: ask the hub to pair it."""
        self.pairing_requested = printer_id
        fields: dict[str, Any] = {
            "event": "printer_paired",
            "printer_id": printer_id,
            "officer_id": self.officer_id,
        }
        if mac:
            fields["printer_mac"] = mac
        return Channel.EVENT, fields

    def unpair(self) -> Message | None:
        if self.paired_printer is None:
            return None
        printer, self.paired_printer = self.paired_printer, None
        return Channel.EVENT, {
            "event": "printer_unpaired",
            "printer_id": printer,
            "officer_id": self.officer_id,
        }

    def sos(self) -> None:
        self._out.append(
            (Channel.EVENT, {"event": "sos", "officer_id": self.officer_id, **self._fix()})
        )

    # ------------------------------------------------------------------- commands ------
    def on_command(self, command: Command, now: datetime) -> list[Message]:
        args = self.commands.triage(command, now)
        if isinstance(args, list):
            return args
        if isinstance(args, PairingResultArgs):
            out = self._pairing_result(command.cmd_id, args)
        elif isinstance(args, PrintArgs | PrintDocumentArgs):
            out = self._print(command.cmd_id, args)
        elif isinstance(args, DispatchArgs):
            self.orders[command.cmd_id] = Order(
                command.cmd_id, args.incident_id, (args.lat, args.lon)
            )
            out = [
                cmd_result(command.cmd_id, CmdStatus.ACCEPTED, f"en route to {args.incident_id}")
            ]
        elif isinstance(args, NumberBlockArgs):
            free = self.wallet.add(args)
            out = [
                cmd_result(
                    command.cmd_id,
                    CmdStatus.DONE,
                    f"block {args.block_id} kept: {free} number(s) free",
                )
            ]
        elif isinstance(args, ConfigArgs):
            if args.status_interval_s is not None:
                self.status_interval_s = args.status_interval_s
            if args.location_interval_s is not None:
                self.location_interval_s = args.location_interval_s
            self._next_status = self._next_location = None
            out = [cmd_result(command.cmd_id, CmdStatus.DONE)]
        else:  # a command the hub knows but terminals do not take
            out = [
                cmd_result(
                    command.cmd_id, CmdStatus.REJECTED, f"terminals do not take {command.cmd!r}"
                )
            ]
        return self.commands.record(command.cmd_id, out)

    def _pairing_result(self, cmd_id: str, args: PairingResultArgs) -> list[Message]:
        if self.pairing_requested == args.printer_id:
            self.pairing_requested = None
        if args.accepted:
            self.paired_printer = args.printer_id
            self.pairing_refused.pop(args.printer_id, None)
            return [cmd_result(cmd_id, CmdStatus.DONE, f"paired with {args.printer_id}")]
        self.pairing_refused[args.printer_id] = args.reason or "refused"
        if self.paired_printer == args.printer_id:
            self.paired_printer = None
        return [cmd_result(cmd_id, CmdStatus.DONE, f"pairing refused: {args.reason}")]

    def _print(self, cmd_id: str, args: PrintArgs | PrintDocumentArgs) -> list[Message]:
        why = self._cannot_print(args)
        if why is not None:
            return [cmd_result(cmd_id, CmdStatus.REJECTED, why)]
        return [cmd_result(cmd_id, CmdStatus.ACCEPTED, "queued"), self._queue(args, cmd_id)]

    def print_notice(self, args: PrintArgs | PrintDocumentArgs) -> Message | None:
        """The officer prints a document from the terminal itself (no hub command)."""
        if self._cannot_print(args) is not None:
            return None
        return self._queue(args, None)

    def _cannot_print(self, args: PrintArgs | PrintDocumentArgs) -> str | None:
        printer = args.printer_id or self.paired_printer
        if self.paired_printer is None:
            return "no printer is paired to this terminal"
        if printer != self.paired_printer:
            return f"printer {printer} is not paired here (paired: {self.paired_printer})"
        return None

    def _queue(self, args: PrintArgs | PrintDocumentArgs, cmd_id: str | None) -> Message:
        printer = self.paired_printer
        assert printer is not None  # checked by _cannot_print
        self.print_requests.append(PrintRequest(args.job_id, printer, args, cmd_id))
        queued: dict[str, Any] = {
            "event": "print_queued",
            "job_id": args.job_id,
            "printer_id": printer,
            "case_number": (
                args.case_number
                if isinstance(args, PrintArgs)
                else args.document.case_number or args.document.number
            ),
            "pages": args.copies,
        }
        if cmd_id:
            queued["cmd_id"] = cmd_id
        return Channel.EVENT, queued

    def take_print_requests(self) -> list[PrintRequest]:
        out, self.print_requests = self.print_requests, []
        return out

    def print_progress(
        self,
        request: PrintRequest,
        state: str,
        pages: int,
        *,
        reason: str | None = None,
        resumed: bool = False,
    ) -> None:
        """The printer driver's news about a job, turned into the job's lifecycle events."""
        base = {"job_id": request.job_id, "printer_id": request.printer_id}
        if state == "sent":
            self._out.append((Channel.EVENT, {"event": "print_sent", **base}))
        elif state == "printed":
            self._out.append(
                (Channel.EVENT, {"event": "print_done", **base, "pages": pages, "resumed": resumed})
            )
            if request.cmd_id:
                self._out.append(
                    cmd_result(request.cmd_id, CmdStatus.DONE, f"{pages} page(s) printed")
                )
        elif state == "failed":
            why = reason or "unknown"
            self._out.append(
                (
                    Channel.EVENT,
                    {"event": "print_failed", **base, "reason": why, "pages_printed": pages},
                )
            )
            if request.cmd_id:
                self._out.append(cmd_result(request.cmd_id, CmdStatus.FAILED, why))
        self._on_spot_progress(request, state, pages, reason)  # after print_done: its report

    # -------------------------------------------------------------- on the spot ------
    def on_spot(
        self,
        *,
        matter: OnSpotMatter,
        party: Party,
        facts: OnSpotFacts,
        penalty: PenaltyTerms,
        officers: list[Officer],
        receipt: Receipt,
        now: datetime,
    ) -> str:
        """The officer's tap: fill in the 当场行政处罚决定书 on the next free number, check it
        (Art. 51-52), send it to the paired printer; it is reported once printed. Returns the
        number; ``OnSpotRefused`` (nothing printed, no number spent) when it cannot be."""
        number = self.wallet.next_free()
        if number is None:
            raise OnSpotRefused(["no free number: the hub has allocated no block to this terminal"])
        printed, filed = fill_decision(
            self.wallet,
            number,
            matter=matter,
            party=party,
            facts=facts,
            penalty=penalty,
            officers=officers,
            receipt=receipt,
            now=now,
        )
        job_id = f"onspot-{self.wallet.block_of[number]}-{number[-7:-1]}"
        args = PrintDocumentArgs(job_id=job_id, document=printed, verify_base=self.verify_base)
        why = self._cannot_print(args)
        if why is not None:
            raise OnSpotRefused([why])
        self.wallet.pending[number] = Pending(
            number, job_id, matter.code, filed.model_dump(mode="json")
        )
        self.wallet.set(number, NumberState.PRINTING)
        self._out.append(self._queue(args, None))
        return number

    def reprint(self, number: str) -> None:
        """Print a decision whose print failed again (same document, same number)."""
        p = self.wallet.pending.get(number)
        if p is None or p.failed is None:
            raise OnSpotRefused([f"{number} has no failed print to repeat"])
        doc = OnSpotDecision.model_validate_json(json.dumps(p.document))
        printed = doc.model_copy(update={"receipt": Receipt()})
        p.attempts += 1
        p.failed = None
        self.wallet.save()
        args = PrintDocumentArgs(job_id=f"{p.job_id}-r{p.attempts}", document=printed,
                                 verify_base=self.verify_base)  # fmt: skip
        if (why := self._cannot_print(args)) is not None:
            raise OnSpotRefused([why])
        p.job_id = args.job_id
        self._out.append(self._queue(args, None))

    def void_number(self, number: str, reason: str) -> None:
        """A spoiled form (or a decision whose print failed): voided with a reason, reported."""
        state = self.wallet.state(number)
        if state not in (NumberState.FREE, NumberState.PRINTING) or not reason.strip():
            raise OnSpotRefused([f"{number} cannot be voided here ({state}); a reason is needed"])
        if state is NumberState.PRINTING and self.wallet.pending[number].failed is None:
            raise OnSpotRefused([f"{number} is printing: void it once its print has failed"])
        self.wallet.set(number, NumberState.VOIDED)
        self._out.append(
            (
                Channel.EVENT,
                {"event": "number_voided", "number": number, "reason": reason.strip(),
                 "officer_id": self.officer_id},
            )
        )  # fmt: skip

    def return_numbers(self, numbers: list[str] | None = None) -> list[str]:
        """Hand unused numbers back (all free ones by default); reported."""
        todo = self.wallet.free() if numbers is None else numbers
        if any(self.wallet.state(n) is not NumberState.FREE for n in todo):
            raise OnSpotRefused(["only free numbers can be returned"])
        for n in todo:
            self.wallet.numbers[n] = NumberState.RETURNED.value
        self.wallet.save()
        for i in range(0, len(todo), 1000):
            self._out.append(
                (
                    Channel.EVENT,
                    {"event": "numbers_returned", "numbers": todo[i : i + 1000],
                     "officer_id": self.officer_id},
                )
            )  # fmt: skip
        return todo

    def _on_spot_progress(
        self, request: PrintRequest, state: str, pages: int, reason: str | None
    ) -> None:
        p = next((p for p in self.wallet.pending.values() if p.job_id == request.job_id), None)
        if p is None or state == "sent":
            return
        now = datetime.now(UTC)
        if state == "failed":
            p.failed = reason or "unknown"
            self.wallet.save()
            return
        doc = OnSpotDecision.model_validate_json(json.dumps(p.document))
        self._out.append(
            (
                Channel.EVENT,
                {
                    "event": "on_spot_decision",
                    "number": p.number,
                    "matter_code": p.matter_code,
                    "document": p.document,
                    "sha256": document_sha256(doc),
                    "print_result": {
                        "job_id": request.job_id,
                        "printer_id": request.printer_id,
                        "state": "printed",
                        "pages": pages,
                        "at": now.isoformat(),
                    },
                    "officer_id": self.officer_id,
                },
            )
        )
        self.wallet.set(p.number, NumberState.USED)

    # --------------------------------------------------------------------- motion ------
    def _move(self, now: datetime) -> None:
        dt = 0.0 if self._last_t is None else max(0.0, (now - self._last_t).total_seconds())
        self._last_t = now
        self.battery = max(5.0, self.battery - dt / 400.0)
        metres = self.speed_kmh / 3.6 * dt
        for order in list(self.orders.values()):
            here = self.route.position()
            if distance_m(here, order.target) <= ARRIVED_WITHIN_M:
                del self.orders[order.cmd_id]
                self._out.append(
                    cmd_result(order.cmd_id, CmdStatus.DONE, f"arrived at {order.incident_id}")
                )
                continue
            # Head straight for the incident (dispatch overrides the beat).
            self.route = Route([here, order.target])
            break
        self.route.advance(metres)

    def _fix(self) -> dict[str, float]:
        lat, lon = self.route.position()
        return {"lat": round(lat, 6), "lon": round(lon, 6)}

    def _location(self) -> dict[str, Any]:
        return {
            **self._fix(),
            "accuracy_m": round(self.rng.uniform(3, 12), 1),
            "speed_kmh": round(self.speed_kmh * self.rng.uniform(0.7, 1.2), 1),
            "heading_deg": round(self.route.heading(), 1) % 360,
        }

    def _status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "battery_pct": round(self.battery, 1),
            "network": self.rng.choice(["4g", "5g", "5g", "wifi"]),
            "signal_dbm": self.rng.randint(-105, -60),
            "app_version": "ehub-terminal 1.5.0",
        }
        if self.signed_in:
            status["officer_id"] = self.officer_id
        return status
