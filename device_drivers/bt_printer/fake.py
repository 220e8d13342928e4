"""An in-memory BLE printer that behaves like the real ones, behind ``transport.Transport``.

It has a GATT table in one of the known layouts, a write size limit (the ATT MTU: a longer
write fails as it would over the air), notifications, a battery, paper that runs out, a cover,
and links that drop after a given number of bytes. What it "prints" lands in ``paper``:
ESC/POS bytes as they arrive (receipt printers print line by line), CPCL labels only when
their ``PRINT`` arrives (label printers buffer; a label cut short by a drop is discarded).
Status queries are answered in order and never reach the paper.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from device_drivers.bt_printer.errors import ConnectionLost, PrinterNotFound, TransportError
from device_drivers.bt_printer.gatt import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    DEFAULT_CHUNK,
    LAYOUTS,
    Characteristic,
    Layout,
)
from device_drivers.bt_printer.job import Language
from device_drivers.bt_printer.status import PAPER_STATUS_QUERY
from device_drivers.bt_printer.transport import (
    Advertisement,
    DisconnectCallback,
    LinkInfo,
    NotifyCallback,
)

ESC_INIT = b"\x1b@"
CPCL_PRINT = b"PRINT\r\n"


@dataclass
class FakePrinter:
    """The peripheral: configure it, run a job against it, then look at ``paper``."""

    address: str
    name: str = "MPT-II"
    layout: Layout = LAYOUTS[0]
    language: Language = Language.ESCPOS
    advertise_service: bool = True
    max_write: int | None = 182  # max_write_without_response_size; None: the stack does not say
    notify: bool = True  # offers its layout's status characteristic
    write_without_response: bool = True
    battery_pct: int | None = 76  # exposes the Battery Service when not None
    pages_of_paper: int | None = None  # pages left on the roll; None: plenty
    cover_open: bool = False
    drop_after_bytes: list[int] = field(default_factory=list)  # cumulative byte counts
    refuse_connects: int = 0  # the next N connection attempts fail (out of range)
    # observable
    paper: bytearray = field(default_factory=bytearray)
    received: int = 0
    writes: list[int] = field(default_factory=list)
    connects: int = 0
    link: FakeLink | None = None
    _pending: bytearray = field(default_factory=bytearray)

    @property
    def limit(self) -> int:
        return self.max_write or DEFAULT_CHUNK

    def services(self) -> dict[str, dict[str, Characteristic]]:
        props = {"write"} | ({"write-without-response"} if self.write_without_response else set())
        chars = {
            self.layout.write: Characteristic(self.layout.write, frozenset(props), self.max_write)
        }
        if self.notify and self.layout.notify:
            uuid = self.layout.notify[-1]
            # HM-10 style: one characteristic both ways.
            merged = chars[uuid].properties if uuid in chars else frozenset()
            chars[uuid] = Characteristic(uuid, merged | {"notify"}, self.max_write)
        table = {self.layout.service: chars}
        if self.battery_pct is not None:
            table[BATTERY_SERVICE] = {
                BATTERY_LEVEL: Characteristic(BATTERY_LEVEL, frozenset({"read", "notify"}))
            }
        return table

    # ----------------------------------------------------------------- behaviour ------
    def receive(self, chunk: bytes) -> list[bytes]:
        """Take one write; return the notifications it causes."""
        if len(chunk) > self.limit:
            raise TransportError(f"write of {len(chunk)} bytes exceeds the {self.limit}-byte MTU")
        self.writes.append(len(chunk))
        self.received += len(chunk)
        self._pending += chunk
        return self._process_cpcl() if self.language is Language.CPCL else self._process_escpos()

    def _process_escpos(self) -> list[bytes]:
        answers: list[bytes] = []
        while True:
            at = self._pending.find(PAPER_STATUS_QUERY)
            if at < 0:
                # Print all but a tail that may be the start of a query split across writes.
                keep = next(
                    (k for k in (2, 1) if self._pending.endswith(PAPER_STATUS_QUERY[:k])), 0
                )
                cut = len(self._pending) - keep
                self._print_escpos(bytes(self._pending[:cut]))
                del self._pending[:cut]
                return answers
            self._print_escpos(bytes(self._pending[:at]))
            del self._pending[: at + len(PAPER_STATUS_QUERY)]
            out = self.pages_of_paper is not None and self.pages_of_paper < 0
            answers.append(bytes([0x0C if out else 0x00]))

    def _print_escpos(self, data: bytes) -> None:
        if not data or self.cover_open:
            return
        if data.startswith(ESC_INIT) and self.pages_of_paper is not None:
            self.pages_of_paper -= 1  # a new page takes paper; -1 means it ran out
        if self.pages_of_paper is None or self.pages_of_paper >= 0:
            self.paper += data

    def _process_cpcl(self) -> list[bytes]:
        while (at := self._pending.find(CPCL_PRINT)) >= 0:
            label = bytes(self._pending[: at + len(CPCL_PRINT)])
            del self._pending[: at + len(CPCL_PRINT)]
            if not self.cover_open:
                self.paper += label
        return []

    def dropped(self) -> None:
        # Whatever had not completed is lost with the link: a label without its PRINT, or the
        # unterminated tail of an ESC/POS stream that was never flushed to the head.
        if self.language is Language.CPCL:
            self._pending.clear()
        else:
            self.paper += self._pending
            self._pending.clear()


class FakeLink:
    """A connection to a ``FakePrinter``."""

    def __init__(self, printer: FakePrinter, on_disconnect: DisconnectCallback) -> None:
        self.printer = printer
        self._on_disconnect = on_disconnect
        self._connected = True
        self._callbacks: dict[str, NotifyCallback] = {}
        self._info = LinkInfo(printer.address, printer.services())

    @property
    def info(self) -> LinkInfo:
        return self._info

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        if not self._connected:
            raise ConnectionLost(f"{self.printer.address}: not connected")
        if char_uuid != self.printer.layout.write:
            raise TransportError(f"characteristic {char_uuid} is not writable")
        await asyncio.sleep(0)  # a write yields to the loop, as the radio does
        for answer in self.printer.receive(data):
            self._notify(answer)
        schedule = self.printer.drop_after_bytes
        if schedule and self.printer.received >= schedule[0]:
            schedule.pop(0)
            self.drop()

    def _notify(self, data: bytes) -> None:
        uuid = self.printer.layout.notify[-1] if self.printer.layout.notify else ""
        callback = self._callbacks.get(uuid)
        if callback is not None:
            asyncio.get_running_loop().call_soon(callback, data)

    def set_battery(self, pct: int) -> None:
        self.printer.battery_pct = pct
        callback = self._callbacks.get(BATTERY_LEVEL)
        if callback is not None:
            asyncio.get_running_loop().call_soon(callback, bytes([pct]))

    async def start_notify(self, char_uuid: str, callback: NotifyCallback) -> None:
        if not self._connected:
            raise ConnectionLost(f"{self.printer.address}: not connected")
        self._callbacks[char_uuid] = callback
        if char_uuid == BATTERY_LEVEL and self.printer.battery_pct is not None:
            asyncio.get_running_loop().call_soon(callback, bytes([self.printer.battery_pct]))

    def drop(self) -> None:
        """The radio link goes away (out of range, printer switched off)."""
        if not self._connected:
            return
        self._connected = False
        self.printer.dropped()
        asyncio.get_running_loop().call_soon(self._on_disconnect)

    async def disconnect(self) -> None:
        self._connected = False
        self.printer.dropped()


class FakeTransport:
    """A radio neighbourhood holding some fake printers."""

    def __init__(self, *printers: FakePrinter) -> None:
        self.printers = {p.address: p for p in printers}

    async def scan(self, timeout_s: float) -> list[Advertisement]:
        await asyncio.sleep(0)
        return [
            Advertisement(
                p.address,
                p.name,
                (p.layout.service,) if p.advertise_service else (),
                rssi=-60,
            )
            for p in self.printers.values()
        ]

    async def connect(
        self, address: str, timeout_s: float, on_disconnect: DisconnectCallback
    ) -> FakeLink:
        await asyncio.sleep(0)
        printer = self.printers.get(address)
        if printer is None:
            raise PrinterNotFound(f"no device at {address}")
        if printer.refuse_connects > 0:
            printer.refuse_connects -= 1
            raise PrinterNotFound(f"{address} did not answer")
        printer.connects += 1
        printer.link = FakeLink(printer, on_disconnect)
        return printer.link
