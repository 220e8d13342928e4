"""The Bluetooth printer package's one exception tree.

    PrinterError
    ├── RenderError             bad document, text GB18030 cannot carry, layout that cannot fit
    ├── TransportError          the Bluetooth link itself
    │   ├── PrinterNotFound     not paired, out of range, or no such address
    │   └── ConnectionLost      link dropped mid-job: resend the unfinished page
    └── PrinterFault            the printer answers but cannot print (``reason``)

Rendering is pure, so ``RenderError`` is the only one the renderers raise; the transport errors
are here so the driver translates socket/BLE errors once, at the edge (``raise ... from``).
"""

from __future__ import annotations

from enum import StrEnum


class PrinterError(Exception):
    """Base of every error raised by the Bluetooth printer package."""


class RenderError(PrinterError):
    """The document cannot be rendered: invalid field, unencodable text, or it does not fit."""


class TransportError(PrinterError):
    """Talking to the printer over Bluetooth failed."""


class PrinterNotFound(TransportError):
    """No printer at the address (not paired, switched off or out of range)."""


class ConnectionLost(TransportError):
    """The link dropped while a page was being sent; the page may be incomplete."""


class FaultReason(StrEnum):
    """Why the printer refuses to print (values compare equal to their plain strings)."""

    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    LOW_BATTERY = "low_battery"
    OVERHEAT = "overheat"
    UNKNOWN = "unknown"


class PrinterFault(PrinterError):
    """The printer reports a condition that stops printing until someone fixes it."""

    def __init__(self, reason: FaultReason, detail: str = "") -> None:
        super().__init__(f"printer fault: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.detail = detail
