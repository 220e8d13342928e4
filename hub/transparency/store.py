"""The log in PostgreSQL (migration 015): append inside the caller's transaction, read proofs.

``append(conn, entry)`` is what the case services call, inside the transaction that records
the event: the leaf commits or rolls back with it. It locks the one-row tree head
``FOR UPDATE`` (so concurrent appenders queue and get consecutive indexes; a rolled-back
append leaves no gap, as the index is the head's size, not a sequence), and then writes the
leaf, the complete subtrees it closes (about one per leaf) and the new head in one statement:
two round trips per append, whatever the size of the tree.

Callers append last in their transaction, after their own writes and locks: the head lock is
then held only for the append and the commit (appends are serialised through commits, which
is what makes the indexes gapless), and no appender ever waits for a lock while holding the
head, so appenders cannot deadlock with each other.

A proof at any size reads O(log n) stored hashes (``merkle.inclusion_ranges`` /
``consistency_ranges`` -> ``merkle.range_nodes``) in one query; nothing rebuilds the tree.

The tables refuse UPDATE, DELETE and TRUNCATE (triggers); what a superuser could still do is
caught by ``hub.transparency.verify`` and by anyone holding an old checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq

from hub.domain.errors import Conflict, HubError, Invalid
from hub.transparency import merkle
from hub.transparency.entries import canonical

AConn = psycopg.AsyncConnection[Any]

MAX_PAGE = 1000  # entries per /transparency/entries request


class LogCorrupt(HubError):
    """The stored tree is missing a hash it must have: only tampering does that."""

    status = 500
    title = "Transparency log corrupt"


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    id: int
    size: int
    root: bytes
    note: str
    issued_at: datetime


# ------------------------------------------------------------------------- appending ------
async def append(conn: AConn, entry: Mapping[str, Any]) -> tuple[int, bytes]:
    """Append one entry (see ``hub.transparency.entries``) in the caller's open transaction.

    Returns the leaf's index and its leaf hash. Raises ``Invalid`` for an entry that breaks
    the rule of ``entries`` and ``Conflict`` when called outside a transaction.
    """
    [out] = await append_many(conn, [entry])
    return out


async def append_many(conn: AConn, entries: Sequence[Mapping[str, Any]]) -> list[tuple[int, bytes]]:
    """Append several entries (one event that records a few facts) under one head lock."""
    if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
        # Outside a transaction the leaf would commit without the event it records.
        raise Conflict("a log append must run inside the transaction of the event it records")
    blobs = [canonical(e) for e in entries]
    if not blobs:
        return []
    cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1 FOR UPDATE")
    row = await cur.fetchone()
    if row is None:
        raise LogCorrupt("the transparency log has no tree head (tlog_head is empty)")
    size, frontier = int(row[0]), [bytes(h) for h in row[1]]
    if len(frontier) != len(merkle.frontier_levels(size)):
        raise LogCorrupt(f"the tree head's frontier does not fit its size {size}")
    out: list[tuple[int, bytes]] = []
    levels: list[int] = []
    idxs: list[int] = []
    hashes: list[bytes] = []
    for blob in blobs:
        h = merkle.leaf_hash(blob)
        frontier, closed = merkle.append_leaf(size, frontier, h)
        out.append((size, h))
        for level, idx, nh in closed:
            levels.append(level)
            idxs.append(idx)
            hashes.append(nh)
        size += 1
    await conn.execute(
        "WITH l AS (INSERT INTO tlog_leaves (idx, entry, leaf_hash)"
        "   SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[])),"
        " n AS (INSERT INTO tlog_nodes (level, idx, hash)"
        "   SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[]))"
        " UPDATE tlog_head SET size = %s, frontier = %s::bytea[] WHERE id = 1",
        (
            [i for i, _ in out],
            blobs,
            [h for _, h in out],
            levels,
            idxs,
            hashes,
            size,
            frontier,
        ),
    )
    return out


# --------------------------------------------------------------------------- reading ------
async def head(conn: AConn) -> TreeHead:
    """The current size and root (from the head's frontier: one row)."""
    cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1")
    row = await cur.fetchone()
    if row is None:
        raise LogCorrupt("the transparency log has no tree head (tlog_head is empty)")
    return TreeHead(int(row[0]), merkle.frontier_root([bytes(h) for h in row[1]]))


async def _size(conn: AConn) -> int:
    cur = await conn.execute("SELECT size FROM tlog_head WHERE id = 1")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def nodes(
    conn: AConn, wanted: Iterable[merkle.Node], *, within: int = 0
) -> dict[merkle.Node, bytes]:
    """The stored hashes of these complete subtrees (level 0: leaf hashes), in one query.

    ``within``: the tree size the caller asked about; ``Invalid`` if the log is smaller (read
    in the same statement, so in the same snapshot as the hashes).
    """
    want = set(wanted)
    leaves = [i for lvl, i in want if lvl == 0]
    inner = [(lvl, i) for lvl, i in want if lvl > 0]
    cur = await conn.execute(
        "SELECT -1::smallint, size, NULL::bytea FROM tlog_head WHERE id = 1"
        " UNION ALL SELECT 0::smallint, idx, leaf_hash FROM tlog_leaves"
        " WHERE idx = ANY(%s::bigint[])"
        " UNION ALL SELECT n.level, n.idx, n.hash FROM tlog_nodes n"
        " JOIN unnest(%s::smallint[], %s::bigint[]) AS w(level, idx)"
        " ON n.level = w.level AND n.idx = w.idx",
        (leaves, [lvl for lvl, _ in inner], [i for _, i in inner]),
    )
    got: dict[merkle.Node, bytes] = {}
    size = 0
    for level, idx, h in await cur.fetchall():
        if level < 0:
            size = int(idx)
        else:
            got[(int(level), int(idx))] = bytes(h)
    if within > size:
        raise Invalid(f"the tree size asked for, {within}, is beyond the log's size {size}")
    missing = want - got.keys()
    if missing:
        raise LogCorrupt(
            "the stored tree is missing the hashes of subtrees "
            + ", ".join(f"(level {lvl}, index {i})" for lvl, i in sorted(missing)[:5])
        )
    return got


async def _ranges(conn: AConn, ranges: Sequence[merkle.Range], within: int) -> list[bytes]:
    per_range = [merkle.range_nodes(lo, hi) for lo, hi in ranges]
    stored = await nodes(conn, (n for rn in per_range for n in rn), within=within)
    return [merkle.fold([stored[n] for n in rn]) for rn in per_range]


async def root_at(conn: AConn, size: int) -> bytes:
    """MTH of the first ``size`` leaves, from stored hashes (O(log n) rows)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    [r] = await _ranges(conn, [(0, size)], size)
    return r


async def inclusion_proof(conn: AConn, index: int, tree_size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[tree_size]) from stored hashes (one round trip)."""
    if tree_size < 1:
        raise Invalid("tree_size must be between 1 and the log's size")
    if not 0 <= index < tree_size:
        raise Invalid(f"index must be between 0 and tree_size - 1 ({tree_size - 1})")
    return await _ranges(conn, merkle.inclusion_ranges(index, tree_size), tree_size)


async def consistency_proof(conn: AConn, first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[second]) from stored hashes (one round trip)."""
    if second < 1:
        raise Invalid("second must be between 1 and the log's size")
    if not 0 < first <= second:
        raise Invalid(f"first must be between 1 and second ({second})")
    return await _ranges(conn, merkle.consistency_ranges(first, second), second)


async def entries(conn: AConn, start: int, end: int) -> list[tuple[int, bytes]]:
    """Leaves ``start`` .. ``end`` - 1 (the exact entry bytes), at most ``MAX_PAGE``."""
    current = await _size(conn)
    if start < 0 or end <= start:
        raise Invalid("start must be >= 0 and end > start (end is exclusive)")
    if start >= current:
        raise Invalid(f"start must be below the log's size {current}")
    end = min(end, current, start + MAX_PAGE)
    cur = await conn.execute(
        "SELECT idx, entry FROM tlog_leaves WHERE idx >= %s AND idx < %s ORDER BY idx",
        (start, end),
    )
    return [(int(r[0]), bytes(r[1])) for r in await cur.fetchall()]


# ------------------------------------------------------------------------ checkpoints ------
_CP_COLS = "id, size, root, note, issued_at"


def _cp(row: Sequence[Any]) -> StoredCheckpoint:
    return StoredCheckpoint(int(row[0]), int(row[1]), bytes(row[2]), str(row[3]), row[4])


async def latest_checkpoint(conn: AConn) -> StoredCheckpoint | None:
    cur = await conn.execute(f"SELECT {_CP_COLS} FROM tlog_checkpoints ORDER BY id DESC LIMIT 1")
    row = await cur.fetchone()
    return _cp(row) if row else None


async def all_checkpoints(conn: AConn) -> list[StoredCheckpoint]:
    cur = await conn.execute(f"SELECT {_CP_COLS} FROM tlog_checkpoints ORDER BY id")
    return [_cp(r) for r in await cur.fetchall()]


async def insert_checkpoint(
    conn: AConn, size: int, root: bytes, note: str, at: datetime
) -> StoredCheckpoint:
    cur = await conn.execute(
        "INSERT INTO tlog_checkpoints (size, root, note, issued_at) VALUES (%s, %s, %s, %s)"
        f" RETURNING {_CP_COLS}",
        (size, root, note, at),
    )
    row = await cur.fetchone()
    assert row is not None
    return _cp(row)


async def lock_head(conn: AConn) -> TreeHead:
    """The head, locked until the transaction ends (appends wait): for issuing a checkpoint."""
    cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1 FOR UPDATE")
    row = await cur.fetchone()
    if row is None:
        raise LogCorrupt("the transparency log has no tree head (tlog_head is empty)")
    return TreeHead(int(row[0]), merkle.frontier_root([bytes(h) for h in row[1]]))
