"""The terminal's print spooler: turns the agent's print requests into rendered pages, sends
them through the Bluetooth printer driver, and reports each job's lifecycle back to the agent
(queued -> sent -> printed / failed with the reason).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from device_drivers.bt_printer.document import (
    DocType,
    EnforcementDocument,
    render_document_escpos,
    render_escpos,
)
from device_drivers.bt_printer.driver import PrinterDriver
from device_drivers.bt_printer.errors import PrinterError, RenderError
from device_drivers.bt_printer.job import JobState, PrintJob, Progress
from device_drivers.mobile_terminal.agent import PrintRequest, TerminalAgent
from schemas.messages import PrintArgs, PrintDocumentArgs

log = logging.getLogger(__name__)

# The copies of a street document, in the order they come off the roll.
COPY_LABELS = ("当事人联", "存根联", "执法部门联", "备查联", "附联")


def document_for(args: PrintArgs) -> EnforcementDocument:
    """The document a ``print`` command describes; ``RenderError`` if it cannot be printed."""
    try:
        doc_type = (
            DocType[args.doc_type.upper()] if args.doc_type.isascii() else DocType(args.doc_type)
        )
    except (KeyError, ValueError):
        known = ", ".join(d.name.lower() for d in DocType)
        raise RenderError(f"unknown doc_type {args.doc_type!r}; expected one of {known}") from None
    return EnforcementDocument(
        doc_type=doc_type,
        title=args.title,
        case_number=args.case_number,
        officer_name=args.officer_name,
        officer_badge=args.officer_badge,
        street=args.street,
        issued_at=args.issued_at,
        legal_basis=args.legal_basis,
        body=args.body,
        case_url=args.case_url,
        team_name=args.team_name,
    )


def render_request(args: PrintArgs | PrintDocumentArgs) -> list[bytes]:
    """The ESC/POS pages of a print request, one per copy; ``RenderError`` if it cannot print.

    A contract document is laid out here, on the terminal, from its blocks (the same the hub's
    A4 PDF walks), its QR pointing at the hub's verification page.
    """
    copies = COPY_LABELS[: args.copies]
    if isinstance(args, PrintDocumentArgs):
        return render_document_escpos(args.document, args.verify_base, copies=copies)
    return render_escpos(document_for(args), copies=copies)


class PrintSpooler:
    """One job at a time per printer; jobs for the same printer wait their turn."""

    def __init__(self, agent: TerminalAgent, driver_for: Callable[[str], PrinterDriver]) -> None:
        self.agent = agent
        self._driver_for = driver_for
        self._locks: dict[str, asyncio.Lock] = {}
        self.tasks: set[asyncio.Task[Progress | None]] = set()

    def poll(self) -> None:
        """Start whatever the agent has queued since the last call."""
        for request in self.agent.take_print_requests():
            task = asyncio.create_task(self.print(request))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def print(self, request: PrintRequest) -> Progress | None:
        try:
            pages = render_request(request.args)
        except RenderError as exc:
            self.agent.print_progress(request, "failed", 0, reason=f"render: {exc}")
            return None
        job = PrintJob(request.job_id, tuple(pages))
        lock = self._locks.setdefault(request.printer_id, asyncio.Lock())
        last = Progress.start(job)

        def on_progress(p: Progress) -> None:
            nonlocal last
            if p.state is JobState.SENT and last.state is not JobState.SENT:
                self.agent.print_progress(request, "sent", p.written)
            last = p

        async with lock:
            driver = self._driver_for(request.printer_id)
            try:
                final = await driver.print_job(job, on_progress)
            except PrinterError as exc:  # not found, no printer service
                final = Progress(total=len(job.pages), state=JobState.FAILED, reason=str(exc))
        if final.state is JobState.PRINTED:
            self.agent.print_progress(request, "printed", final.confirmed, resumed=final.resumed)
        else:
            log.warning("print job %s failed: %s", job.job_id, final.reason)
            self.agent.print_progress(request, "failed", final.confirmed, reason=final.reason)
        return final
