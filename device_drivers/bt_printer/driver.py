"""The Bluetooth printer driver: find the printer, connect, send a job page by page in paced
chunks, read its status, and on a dropped link reconnect and resume at the first page the
printer has not confirmed.

It talks to the radio only through ``transport.Transport``; time passes only through the
injected ``sleep``. Page receipt: for ESC/POS printers with a notify characteristic the driver
appends ``GS r 1`` to each page and waits for its in-order answer; otherwise the last chunk of a
page is written with a response, which proves delivery to the printer but not printing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from device_drivers.bt_printer import job as jobs
from device_drivers.bt_printer.errors import (
    ConnectionLost,
    PrinterFault,
    PrinterNotFound,
    TransportError,
)
from device_drivers.bt_printer.gatt import (
    NoPrinterService,
    Resolved,
    chunks,
    matches_advertisement,
    resolve,
)
from device_drivers.bt_printer.job import Language, PrintJob, Progress
from device_drivers.bt_printer.status import (
    PAPER_STATUS_QUERY,
    PrinterStatus,
    decode_asb,
    decode_battery,
    decode_paper_status,
    is_asb,
    is_paper_status,
    merge,
)
from device_drivers.bt_printer.transport import Link, Transport

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class DriverSettings:
    address: str | None = None  # the paired printer; None: take the first printer a scan finds
    preferred_layout: str | None = None  # a gatt.LAYOUTS name, for printers known by model
    scan_timeout_s: float = 8.0
    connect_timeout_s: float = 15.0
    # Cheap printers have small receive buffers and no flow control on write-without-response:
    # pause between chunks so they are not overrun.
    chunk_interval_s: float = 0.02
    page_confirm_timeout_s: float = 30.0
    reconnect_attempts: int = 5
    reconnect_backoff_s: float = 1.0  # doubles per attempt, at most 16 s


_DROPPED = b""  # queued to wake a page waiter when the link goes down


class PrinterDriver:
    """One printer, one job at a time."""

    def __init__(
        self, transport: Transport, settings: DriverSettings, sleep: Sleep = asyncio.sleep
    ):
        self.transport = transport
        self.settings = settings
        self._sleep = sleep
        self._link: Link | None = None
        self._gatt: Resolved | None = None
        self._answers: asyncio.Queue[bytes] = asyncio.Queue()
        self.address: str | None = settings.address
        self.status = PrinterStatus()

    # ------------------------------------------------------------------ connection ------
    async def find(self) -> str:
        """Scan for a printer advertising one of the known layouts; its address."""
        seen = await self.transport.scan(self.settings.scan_timeout_s)
        for ad in sorted(seen, key=lambda a: -(a.rssi if a.rssi is not None else -999)):
            if matches_advertisement(ad.service_uuids):
                return ad.address
        raise PrinterNotFound(
            f"no printer advertising a known service among {len(seen)} devices; "
            "scan the printer's label to pair it by address"
        )

    async def connect(self) -> Resolved:
        if self._link is not None and self._link.is_connected and self._gatt is not None:
            return self._gatt
        if self.address is None:
            self.address = await self.find()
        self._answers = asyncio.Queue()
        link = await self.transport.connect(
            self.address, self.settings.connect_timeout_s, self._on_disconnect
        )
        try:
            gatt = resolve(link.info.services, self.settings.preferred_layout)
        except NoPrinterService as exc:
            await link.disconnect()
            raise PrinterNotFound(f"{self.address}: {exc}") from exc
        if gatt.notify is not None:
            await link.start_notify(gatt.notify.uuid, self._on_notify)
        if gatt.battery is not None and "notify" in gatt.battery.properties:
            await link.start_notify(gatt.battery.uuid, self._on_battery)
        self._link, self._gatt = link, gatt
        log.info(
            "printer %s connected (%s layout, %d-byte chunks, status %s)",
            self.address,
            gatt.layout.name,
            gatt.chunk_size,
            "notified" if gatt.notify else "not offered",
        )
        return gatt

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is not None and link.is_connected:
            await link.disconnect()

    async def _reconnect(self) -> Resolved:
        delay = self.settings.reconnect_backoff_s
        last: Exception | None = None
        for attempt in range(1, self.settings.reconnect_attempts + 1):
            try:
                return await self.connect()
            except (TimeoutError, TransportError, OSError) as exc:
                last = exc
                log.warning("printer %s reconnect %d failed: %s", self.address, attempt, exc)
                await self._sleep(delay)
                delay = min(delay * 2, 16.0)
        raise ConnectionLost(f"printer {self.address} did not come back: {last}")

    def _on_disconnect(self) -> None:
        self._link = None
        self._answers.put_nowait(_DROPPED)

    def _on_notify(self, data: bytes) -> None:
        if is_paper_status(data):
            self.status = merge(self.status, decode_paper_status(data))
            self._answers.put_nowait(data)
        elif is_asb(data):
            self.status = merge(self.status, decode_asb(data))
        else:
            log.debug("printer %s: unrecognised notification %s", self.address, data.hex())

    def _on_battery(self, data: bytes) -> None:
        try:
            self.status = merge(self.status, decode_battery(data))
        except ValueError:
            log.debug("printer %s: bad battery level %s", self.address, data.hex())

    # -------------------------------------------------------------------- printing ------
    async def print_job(
        self,
        job: PrintJob,
        on_progress: ProgressCallback | None = None,
        progress: Progress | None = None,
    ) -> Progress:
        """Print ``job`` (or continue it from ``progress``); returns the final progress.

        A printer fault or a link that does not come back ends the job ``failed`` with the
        reason; calling again with that progress (``job.retry``) prints only what is left.
        """
        p = progress or Progress.start(job)
        if p.state is jobs.JobState.FAILED:
            p = jobs.retry(p)

        def report(new: Progress) -> Progress:
            if on_progress is not None and new != p:
                on_progress(new)
            return new

        while (index := p.next_page) is not None:
            try:
                gatt = await self.connect()  # a no-op while the link is up
                if (fault := self.status.fault) is not None:
                    raise fault
                await self._send_page(gatt, job, index)
                p = report(jobs.page_written(p, index))
                await self._confirm(gatt, job)
                p = report(jobs.page_confirmed(p, index))
            except ConnectionLost as exc:
                log.warning(
                    "printer %s: %s; resuming at page %d", self.address, exc, p.confirmed + 1
                )
                p = report(jobs.link_lost(p))
                try:
                    await self._reconnect()
                except ConnectionLost as gone:
                    return report(jobs.failed(p, f"connection_lost: {gone}"))
            except PrinterFault as fault:
                return report(jobs.failed(p, fault.reason.value))
            except TransportError as exc:
                return report(jobs.failed(p, f"transport: {exc}"))
        return p

    def _confirm_by_answer(self, gatt: Resolved, job: PrintJob) -> bool:
        return gatt.notify is not None and job.language is Language.ESCPOS

    async def _send_page(self, gatt: Resolved, job: PrintJob, index: int) -> None:
        link = self._link
        if link is None:
            raise ConnectionLost("link down before the page started")
        data = job.pages[index]
        if self._confirm_by_answer(gatt, job):
            while not self._answers.empty():  # answers from before a drop are stale
                self._answers.get_nowait()
            data += PAPER_STATUS_QUERY
        parts = chunks(data, gatt.chunk_size)
        no_response = gatt.write_without_response
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            # Without a status answer, a response to the last write is the page's receipt.
            response = not no_response or (
                last and not self._confirm_by_answer(gatt, job) and "write" in gatt.write.properties
            )
            await link.write(gatt.write.uuid, part, response=response)
            if no_response and self.settings.chunk_interval_s > 0:
                await self._sleep(self.settings.chunk_interval_s)

    async def _confirm(self, gatt: Resolved, job: PrintJob) -> None:
        if not self._confirm_by_answer(gatt, job):
            return
        try:
            answer = await asyncio.wait_for(
                self._answers.get(), self.settings.page_confirm_timeout_s
            )
        except TimeoutError:
            raise ConnectionLost("printer did not confirm the page in time") from None
        if answer == _DROPPED:
            raise ConnectionLost("link dropped before the printer confirmed the page")
        fault = decode_paper_status(answer).fault
        if fault is not None:
            raise fault
