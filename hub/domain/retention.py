"""Which telemetry retention may remove, how on each database build, and up to when (pure).

The IO around it is ``hub/retention.py``; its module docstring explains the three builds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.db import DbFeatures

# The only tables retention may touch, and their default retention in days.
RETAINABLE: dict[str, int] = {
    "device_status": 90,
    "positions": 400,  # tracks are asked for months later (complaints, reviews)
    "device_events": 400,
    "dead_letters": 30,
    "presence_events": 400,
}
# Never, whatever the settings say: evidence, cases, the transparency log, audit.
PROTECTED = re.compile(r"(evidence|^cases?$|^case_|^tlog_|audit)")
# table -> (compress_segmentby, compress_orderby), for the community build's compression.
COMPRESSION: dict[str, tuple[str, str]] = {
    "device_status": ("device_id", "time DESC, seq"),
    "positions": ("device_id", "time DESC, seq"),
    "device_events": ("device_id", "time DESC, seq"),
    "dead_letters": ("reason", "received_at DESC"),
    "presence_events": ("device_id", "time DESC"),
}
MIN_DAYS = 8  # > the 7 days after which late samples are flagged skewed (see docstring)
ROLLUP_MARGIN = timedelta(days=1)
BATCH = 10_000
LOCK_ID = 4242026  # one retention cycle at a time across hubs


class RetentionError(ValueError):
    """A retention setting names a table retention must never touch, or too few days."""


def check_table(table: str) -> str:
    if PROTECTED.search(table):
        raise RetentionError(
            f"retention never touches {table}: evidence, case, transparency-log and audit"
            " tables are kept for good"
        )
    if table not in RETAINABLE:
        raise RetentionError(
            f"retention applies only to the telemetry tables {', '.join(RETAINABLE)}; not {table}"
        )
    return table


def check_days(days: Mapping[str, int], *, what: str = "retention") -> dict[str, int]:
    for table, n in days.items():
        check_table(table)
        if what == "retention" and n < MIN_DAYS:
            raise RetentionError(
                f"{table}: retention of {n} days is below the minimum of {MIN_DAYS} (the usage"
                " rollup reads up to 7 days of late data)"
            )
        if n < 1:
            raise RetentionError(f"{table}: {what} after {n} days makes no sense")
    return dict(days)


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do for one table: ``policy`` (TSL jobs), ``drop_chunks`` or ``delete``."""

    table: str
    how: str
    days: int
    compress_after_days: int | None = None


def plan(features: DbFeatures, days: Mapping[str, int], compress: Mapping[str, int]) -> list[Step]:
    """What retention does on this database for these settings (pure)."""
    steps = []
    for table, default in RETAINABLE.items():
        keep = days.get(table, default)
        check_table(table)
        if features.license == "timescale":
            steps.append(Step(table, "policy", keep, compress.get(table)))
        elif features.hypertables:
            steps.append(Step(table, "drop_chunks", keep))  # Apache: no compression either
        else:
            steps.append(Step(table, "delete", keep))
    return steps


def cutoff(now: datetime, days: int, rollup_watermark: datetime | None) -> datetime:
    """Rows older than this go: ``days`` ago, but never past what the rollup has read."""
    by_age = now - timedelta(days=days)
    if rollup_watermark is None:  # the rollup never ran: keep everything it will need
        return datetime.min.replace(tzinfo=UTC)
    return min(by_age, rollup_watermark - ROLLUP_MARGIN)
