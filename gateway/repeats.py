"""Repeated seqs and acks seen on our own subscription, sorted out inside a batch's transaction.

A seq is stored once, whatever its ``ts``: the hypertables' unique keys must include their
time column (TimescaleDB), so they cannot say it. The locked ack marks can (``ackmarks.Locked``:
the mark plus ``device_seq_pending``, migration 002). An ack is checked against the same marks:
every gateway acks only after COMMIT, so an ack above the committed mark was sent by no gateway.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from gateway import ackmarks
from gateway.classify import DataRow, DeadLetter, Downstream, Table

if TYPE_CHECKING:
    from gateway.writer import BatchResult

Cursor = psycopg.Cursor[tuple[Any, ...]]


def split(
    cur: Cursor,
    candidates: list[DataRow],
    locked: ackmarks.Locked,
    dead: list[DeadLetter],
    res: BatchResult,
) -> tuple[dict[Table, list[DataRow]], list[DataRow]]:
    """(new rows by table, repeats): a seq committed before this batch, or met earlier in
    it, is a repeat. A repeat identical in table and ts is a redelivery, absorbed; any other
    is the same seq with another ts (a resend re-stamped, a counter reset): counted as a
    duplicate and dead-lettered as ``duplicate_seq`` with its bytes, never stored twice."""
    rows: dict[Table, list[DataRow]] = defaultdict(list)
    first: dict[tuple[str, int], DataRow] = {}
    earlier: list[DataRow] = []
    repeats: list[DataRow] = []
    for r in candidates:
        key = (r.device_id, r.seq)
        if locked.committed(*key):
            earlier.append(r)
        elif key in first:
            repeats.append(r)
            same = first[key]
            if same.table is not r.table or same.time != r.time:
                dead.append(_duplicate_seq(r, "earlier in the same batch"))
            res.duplicates += 1
        else:
            first[key] = r
            rows[r.table].append(r)
    if earlier:
        stored = _stored_copies(cur, earlier)
        for r in earlier:
            repeats.append(r)
            res.duplicates += 1
            if (r.table, r.device_id, r.seq, r.time) not in stored:
                dead.append(_duplicate_seq(r, "already committed"))
    return rows, repeats


def _stored_copies(cur: Cursor, repeats: list[DataRow]) -> set[tuple[Table, str, int, datetime]]:
    """Which repeats are stored exactly (table, device, seq, ts). Repeats are rare (after a
    reconnect); the times as a constant array let TimescaleDB skip unrelated chunks."""
    found: set[tuple[Table, str, int, datetime]] = set()
    by_table: dict[Table, list[DataRow]] = defaultdict(list)
    for r in repeats:
        by_table[r.table].append(r)
    for table, trows in by_table.items():
        cur.execute(
            f"SELECT device_id, seq, time FROM {table}"
            " WHERE device_id = ANY(%s) AND seq = ANY(%s) AND time = ANY(%s)",
            (
                sorted({r.device_id for r in trows}),
                sorted({r.seq for r in trows}),
                sorted({r.time for r in trows}),
            ),
        )
        found.update((table, d, int(q), t) for d, q, t in cur.fetchall())
    return found


def _duplicate_seq(r: DataRow, where: str) -> DeadLetter:
    return DeadLetter(
        r.topic,
        r.values[-1].encode(),
        "duplicate_seq",
        f"seq {r.seq} of {r.device_id} was {where} with another ts or channel; this copy"
        f" (ts {r.time.isoformat()}, {r.table.value}) is not stored twice",
        r.device_id,
        r.device_type.value,
        r.seq,
    )


def foreign_acks(cur: Cursor, acks: list[Downstream], res: BatchResult) -> list[DeadLetter]:
    """Acks this gateway did not send itself: another gateway's (at or below the committed
    mark, which every gateway acks only after COMMIT) are ignored; one above the mark was
    sent by no gateway, and would make a device drop messages never stored."""
    cur.execute(
        "SELECT device_id, acked_seq FROM device_latest WHERE device_id = ANY(%s)",
        (sorted({a.device_id for a in acks}),),
    )
    marks = {d: int(m) for d, m in cur.fetchall()}
    out: list[DeadLetter] = []
    for a in acks:
        mark = marks.get(a.device_id, 0)
        if a.seq is not None and a.seq <= mark:
            res.ignored["gateway_ack"] += 1
            continue
        out.append(
            DeadLetter(
                a.topic,
                a.payload,
                "forged_ack",
                f"ack for seq {a.seq} but {a.device_id}'s committed mark is {mark}: no"
                " gateway sent it (a device or client publishing on an ack topic)",
                a.device_id,
                a.device_type.value,
                a.seq,
            )
        )
    return out
