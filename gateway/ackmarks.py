"""Each device's ack mark (highest contiguous committed seq), kept in the database.

The mark lives in ``device_latest.acked_seq`` and the committed seqs above a gap in
``device_seq_pending``, both written in the batch's own transaction. Several gateways sharing
a subscription each see only some of a device's messages, so no gateway's memory can know
what is contiguous; the rows can. ``SELECT ... FOR UPDATE`` on the devices' ``device_latest``
rows, in device-id order, serialises two gateways committing the same device (and cannot
deadlock between them); the arithmetic itself is the pure ``SeqTracker``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg

from gateway.seqtrack import GapSkipped, SeqTracker
from schemas.topics import DeviceType

Cursor = psycopg.Cursor[tuple[Any, ...]]


@dataclass(slots=True)
class Locked:
    """The devices' rows locked for this transaction, with what they hold: the ack mark, the
    committed seqs above a gap (and since when), and the database's ``now()``."""

    marks: dict[str, int]
    pending: dict[str, set[int]]
    since: dict[str, float]
    now: float

    def committed(self, device_id: str, seq: int) -> bool:
        """``seq`` was committed by an earlier transaction (stored, dead-lettered or skipped)."""
        return seq <= self.marks.get(device_id, 0) or seq in self.pending.get(device_id, ())


def lock(cur: Cursor, ids: list[str], types: dict[str, DeviceType]) -> Locked:
    """Create missing ``device_latest`` rows and lock ``ids``' rows in id order (so two gateways
    committing the same devices serialise and cannot deadlock); load their marks."""
    ids = sorted(ids)
    if not ids:
        return Locked({}, {}, {}, 0.0)
    cur.execute(
        "INSERT INTO device_latest (device_id, device_type)"
        " SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
        (ids, [types[d].value for d in ids]),
    )
    return Locked(*_lock_and_load(cur, ids))


def fold(
    cur: Cursor, locked: Locked, seqs: dict[str, list[int]], gap_timeout: float
) -> tuple[dict[str, int], list[GapSkipped]]:
    """Fold this batch's committed seqs into the locked devices' marks; returns (marks, gaps).

    Gap ages are measured on the database clock (``now()``), never a gateway's own, so two
    gateways with skewed clocks agree on when a gap is old. ``gap_timeout`` of ``inf`` means
    "do not skip gaps now" (just after an outage, the missing seqs may be queued for us)."""
    if not locked.marks:
        return {}, []
    return _fold(
        cur,
        marks=locked.marks,
        pending=locked.pending,
        since=locked.since,
        seqs=seqs,
        now=locked.now,
        gap_timeout=gap_timeout,
    )


def advance(
    cur: Cursor,
    seqs: dict[str, list[int]],
    types: dict[str, DeviceType],
    gap_timeout: float,
) -> tuple[dict[str, int], list[GapSkipped]]:
    """``lock`` then ``fold``: for callers that need no look at the marks in between."""
    if not seqs:
        return {}, []
    return fold(cur, lock(cur, list(seqs), types), seqs, gap_timeout)


def expire_gaps(cur: Cursor, gap_timeout: float) -> list[GapSkipped]:
    """Skip gaps older than ``gap_timeout`` for devices that have gone quiet since."""
    cur.execute(
        "SELECT device_id FROM device_seq_pending GROUP BY device_id"
        " HAVING min(committed_at) < now() - make_interval(secs => %s) ORDER BY device_id",
        (gap_timeout,),
    )
    ids = [r[0] for r in cur.fetchall()]
    if not ids:
        return []
    marks, pending, since, now = _lock_and_load(cur, ids)
    _, gaps = _fold(
        cur, marks=marks, pending=pending, since=since, seqs={}, now=now, gap_timeout=gap_timeout
    )
    return gaps


def _lock_and_load(
    cur: Cursor, ids: list[str]
) -> tuple[dict[str, int], dict[str, set[int]], dict[str, float], float]:
    """Lock the devices' rows in id order; load their marks, pending seqs with when they were
    committed, and the database's ``now()`` (epoch seconds) to age them against."""
    cur.execute(
        "SELECT device_id, acked_seq FROM device_latest WHERE device_id = ANY(%s)"
        " ORDER BY device_id FOR UPDATE",
        (ids,),
    )
    marks = {d: int(a) for d, a in cur.fetchall()}
    cur.execute(
        "SELECT device_id, seq, extract(epoch FROM committed_at)::float8"
        " FROM device_seq_pending WHERE device_id = ANY(%s)",
        (ids,),
    )
    pending: dict[str, set[int]] = defaultdict(set)
    since: dict[str, float] = {}
    for device_id, seq, at in cur.fetchall():
        pending[device_id].add(int(seq))
        since[device_id] = min(since.get(device_id, at), at)
    row = cur.execute("SELECT extract(epoch FROM now())::float8").fetchone()
    assert row is not None
    return marks, pending, since, float(row[0])


def _fold(
    cur: Cursor,
    *,
    marks: dict[str, int],
    pending: dict[str, set[int]],
    since: dict[str, float],
    seqs: dict[str, list[int]],
    now: float,
    gap_timeout: float,
) -> tuple[dict[str, int], list[GapSkipped]]:
    t = now
    tracker = SeqTracker(gap_timeout)
    gaps: list[GapSkipped] = []
    new_pending: list[tuple[str, int]] = []
    changed: list[str] = []
    for device_id, mark in marks.items():
        before = pending.get(device_id, set())
        state = tracker.state(device_id, mark, before, since.get(device_id))
        gaps += tracker.commit(device_id, seqs.get(device_id, []), t)
        new_pending += [(device_id, s) for s in state.above - before]
        if state.contiguous != mark or state.above != before:
            changed.append(device_id)
    if changed:
        cur.execute(
            "UPDATE device_latest d SET acked_seq = v.seq"
            " FROM unnest(%s::text[], %s::int8[]) AS v(device_id, seq)"
            " WHERE d.device_id = v.device_id",
            (changed, [tracker.contiguous(d) for d in changed]),
        )
        cur.execute(
            "DELETE FROM device_seq_pending p USING unnest(%s::text[], %s::int8[]) AS v(d, s)"
            " WHERE p.device_id = v.d AND p.seq <= v.s",
            (changed, [tracker.contiguous(d) for d in changed]),
        )
    if new_pending:
        # committed_at defaults to the database's now(): one clock for every gateway.
        with cur.copy(
            "COPY device_seq_pending (device_id, seq) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "int8"])
            for device_id, s in new_pending:
                if s > tracker.contiguous(device_id):
                    copy.write_row((device_id, s))
    return {d: tracker.contiguous(d) for d in marks}, gaps
