"""A print job's lifecycle as the hub sees it: queued -> sent -> printed | failed. Pure.

Events reach the hub at least once and not necessarily in order: a ``print_sent`` resent after
a reconnect can arrive after ``print_done``. The terminal numbers its events (``seq``) in the
order things happened, so an event older than the last one applied to the job changes nothing,
and a job that failed and was retried (a newer ``print_queued``) starts over.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    PRINTED = "printed"
    FAILED = "failed"


EVENT_STATUS = {
    "print_queued": JobStatus.QUEUED,
    "print_sent": JobStatus.SENT,
    "print_done": JobStatus.PRINTED,
    "print_failed": JobStatus.FAILED,
}


def apply(last_seq: int | None, event: str, seq: int) -> JobStatus | None:
    """The job's status after ``event`` (numbered ``seq``), or None if it is stale."""
    if last_seq is not None and seq <= last_seq:
        return None
    return EVENT_STATUS[event]
