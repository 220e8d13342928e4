"""A print job and its progress: queued -> sent -> printed | failed. Pure.

A job is a list of self-contained pages (each starts by resetting the printer). Progress counts
pages the printer has *confirmed*: those are never sent again. After a dropped link the job
resumes at the first unconfirmed page, so no confirmed page is printed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Language(StrEnum):
    ESCPOS = "escpos"  # receipt printers: print as bytes arrive, answer GS r 1 in order
    CPCL = "cpcl"  # label printers: buffer a label, print it at PRINT


class JobState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"  # every page's bytes are with the printer
    PRINTED = "printed"  # the printer confirmed every page
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PrintJob:
    job_id: str
    pages: tuple[bytes, ...]
    language: Language = Language.ESCPOS

    def __post_init__(self) -> None:
        if not self.pages or any(not p for p in self.pages):
            raise ValueError(f"print job {self.job_id!r} has no pages or an empty page")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a job stands; transitions return a new value."""

    total: int
    state: JobState = JobState.QUEUED
    written: int = 0  # pages whose bytes were all written (confirmed or not)
    confirmed: int = 0  # pages the printer confirmed: never resent
    resumed: bool = False  # the link dropped at least once and the job went on
    reason: str | None = None  # why it failed

    @classmethod
    def start(cls, job: PrintJob) -> Progress:
        return cls(total=len(job.pages))

    @property
    def next_page(self) -> int | None:
        """Index of the page to send next, or None when every page is confirmed."""
        return self.confirmed if self.confirmed < self.total else None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.PRINTED, JobState.FAILED)


class ProgressError(ValueError):
    """A transition that does not fit the job's state (a driver bug, not a device problem)."""


def page_written(p: Progress, index: int) -> Progress:
    if p.finished or index != p.confirmed:
        raise ProgressError(f"page {index} written out of order (next is {p.confirmed})")
    written = max(p.written, index + 1)
    state = JobState.SENT if written == p.total else p.state
    return replace(p, written=written, state=state)


def page_confirmed(p: Progress, index: int) -> Progress:
    if p.finished or index != p.confirmed or index >= p.written:
        raise ProgressError(f"page {index} confirmed before it was written")
    confirmed = index + 1
    state = JobState.PRINTED if confirmed == p.total else p.state
    return replace(p, confirmed=confirmed, state=state)


def link_lost(p: Progress) -> Progress:
    """Unconfirmed pages will be sent again after reconnecting."""
    if p.finished:
        return p
    return replace(p, written=p.confirmed, state=JobState.QUEUED, resumed=True)


def failed(p: Progress, reason: str) -> Progress:
    if p.state is JobState.PRINTED:
        raise ProgressError("a printed job cannot fail")
    return replace(p, state=JobState.FAILED, reason=reason, written=p.confirmed)


def retry(p: Progress) -> Progress:
    """Try a failed job again (paper loaded, cover closed): confirmed pages stay done."""
    if p.state is not JobState.FAILED:
        raise ProgressError(f"only a failed job can be retried, not a {p.state.value} one")
    return replace(p, state=JobState.QUEUED, reason=None, resumed=p.resumed or p.confirmed > 0)
