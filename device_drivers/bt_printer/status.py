"""Printer status from the bytes a printer notifies: ESC/POS status responses and the standard
Battery Level characteristic. Pure.

The driver asks ``GS r 1`` (transmit paper sensor status) after each page. Unlike the real-time
``DLE EOT`` commands, ``GS r`` is executed in order with the print data, so its answer also
means "everything before it has been processed": it is the driver's page receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from device_drivers.bt_printer.errors import FaultReason, PrinterFault

# ESC/POS GS r 1: the answer is one byte of the form 0xx0xxxx (bits 4 and 7 clear).
PAPER_STATUS_QUERY = b"\x1dr\x01"


class Paper(StrEnum):
    OK = "ok"
    LOW = "low"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What a notification told us; ``None`` where it said nothing about that."""

    paper: Paper | None = None
    cover_open: bool | None = None
    error: str | None = None  # "mechanical", "cutter", "unrecoverable", "recoverable"
    battery_pct: int | None = None

    @property
    def fault(self) -> PrinterFault | None:
        """Why printing cannot go on, if it cannot (the reason names ``print_failed`` events)."""
        if self.paper is Paper.OUT:
            return PrinterFault(FaultReason.PAPER_OUT, "load a paper roll")
        if self.cover_open:
            return PrinterFault(FaultReason.COVER_OPEN, "close the paper cover")
        if self.error == "recoverable":  # ESC/POS: head overheated, resumes when it cools
            return PrinterFault(FaultReason.OVERHEAT, "print head too hot")
        if self.error:
            return PrinterFault(FaultReason.UNKNOWN, f"{self.error} error")
        return None


def is_paper_status(data: bytes) -> bool:
    """Whether a notification is the one-byte answer to ``GS r 1``."""
    return len(data) == 1 and data[0] & 0x90 == 0


def decode_paper_status(data: bytes) -> PrinterStatus:
    """The answer to ``GS r 1``: bits 0-1 roll near its end, bits 2-3 roll out."""
    if not is_paper_status(data):
        raise ValueError(f"not a GS r 1 answer: {data.hex()}")
    b = data[0]
    paper = Paper.OUT if b & 0x0C else Paper.LOW if b & 0x03 else Paper.OK
    return PrinterStatus(paper=paper)


def is_asb(data: bytes) -> bool:
    """Whether a notification is a 4-byte ESC/POS Automatic Status Back (enabled by GS a)."""
    return (
        len(data) == 4
        and data[0] & 0x93 == 0x10
        and data[1] & 0x90 == 0
        and data[2] & 0x90 == 0
        and data[3] & 0x90 == 0
    )


_ASB_ERRORS = (
    (0x04, "mechanical"),
    (0x08, "cutter"),
    (0x20, "unrecoverable"),
    (0x40, "recoverable"),
)


def decode_asb(data: bytes) -> PrinterStatus:
    """Automatic Status Back: cover (byte 1 bit 5), errors (byte 2), paper (byte 3)."""
    if not is_asb(data):
        raise ValueError(f"not an ASB status: {data.hex()}")
    b1, b2, b3 = data[0], data[1], data[2]
    error = None
    for bit, name in _ASB_ERRORS:
        if b2 & bit:
            error = name
            break
    paper = Paper.OUT if b3 & 0x0C else Paper.LOW if b3 & 0x03 else Paper.OK
    return PrinterStatus(paper=paper, cover_open=bool(b1 & 0x20), error=error)


def decode_battery(data: bytes) -> PrinterStatus:
    """Battery Level (0x2A19): one unsigned byte, percent."""
    if len(data) != 1 or data[0] > 100:
        raise ValueError(f"not a battery level: {data.hex()}")
    return PrinterStatus(battery_pct=data[0])


def merge(old: PrinterStatus, new: PrinterStatus) -> PrinterStatus:
    """The latest known value of each field."""
    return PrinterStatus(
        paper=new.paper if new.paper is not None else old.paper,
        cover_open=new.cover_open if new.cover_open is not None else old.cover_open,
        # Only an ASB (which always carries the cover bit) reports errors, cleared or not.
        error=new.error if new.cover_open is not None else old.error,
        battery_pct=new.battery_pct if new.battery_pct is not None else old.battery_pct,
    )
