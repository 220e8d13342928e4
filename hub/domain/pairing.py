"""Printer pairing rules: who may pair which printer to which terminal. Pure.

A printer is paired to at most one terminal at a time, and a terminal uses one printer at a
time. An officer who scans a printer already paired to another terminal is refused, with who
holds it and since when, so the two officers can sort it out (or the other unpairs it). Only
the officer who holds the terminal (custody) at the time may pair through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Pairing:
    id: int
    printer_id: str
    terminal_id: str
    officer_id: str
    paired_at: datetime


@dataclass(frozen=True, slots=True)
class PairRequest:
    printer_id: str
    terminal_id: str
    officer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PrinterRecord:
    """What the inventory says about the scanned printer (None: not in the inventory)."""

    device_type: str
    retired: bool


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    reason: str | None = None
    open_new: bool = False  # record a new pairing
    close: tuple[tuple[Pairing, str], ...] = ()  # pairings to end, each with why


def decide(
    req: PairRequest,
    printer: PrinterRecord | None,
    printer_pairing: Pairing | None,
    terminal_pairing: Pairing | None,
    *,
    refusal: str | None = None,
) -> Decision:
    """Accept or refuse a pairing request, given the printer's and terminal's open pairings
    and why the officer may not act through the terminal (``hub.domain.terminals``; None: the
    officer holds it)."""
    if refusal is not None:
        return Decision(False, refusal)
    if printer is None:
        return Decision(False, f"printer {req.printer_id} is not in the inventory")
    if printer.device_type != "bt_printer":
        return Decision(False, f"{req.printer_id} is a {printer.device_type}, not a printer")
    if printer.retired:
        return Decision(False, f"printer {req.printer_id} is retired")
    close: list[tuple[Pairing, str]] = []
    if printer_pairing is not None:
        if printer_pairing.terminal_id != req.terminal_id:
            return Decision(
                False,
                f"printer {req.printer_id} is paired to terminal {printer_pairing.terminal_id} "
                f"(officer {printer_pairing.officer_id}) since "
                f"{printer_pairing.paired_at.isoformat(timespec='seconds')}; "
                "it must be unpaired there first",
            )
        if printer_pairing.officer_id == req.officer_id:
            return Decision(True, "already paired")  # a repeat scan: nothing changes
        # The same terminal changed hands (next shift): the pairing follows the new officer.
        close.append((printer_pairing, f"terminal handed to officer {req.officer_id}"))
    if terminal_pairing is not None and terminal_pairing.printer_id != req.printer_id:
        close.append((terminal_pairing, f"replaced by printer {req.printer_id}"))
    return Decision(True, None, open_new=True, close=tuple(close))


def may_unpair(pairing: Pairing | None, terminal_id: str) -> bool:
    """Only the terminal holding the pairing can end it from the street."""
    return pairing is not None and pairing.terminal_id == terminal_id
