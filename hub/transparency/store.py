"""The log in PostgreSQL (migrations 015, 019): queue inside the caller's transaction, integrate
with a sequencer, read proofs.

Appending is split in two, as Certificate Transparency logs (RFC 9162 §4.1's maximum merge
delay) and Trillian do it:

- ``append(conn, entry)`` is what the case services call, inside the transaction that records
  the event: it QUEUES the leaf (one row in ``tlog_queue``: the canonical entry bytes and the
  leaf hash) and takes no shared lock, so the leaf commits or rolls back with its event and
  concurrent event transactions commit in parallel (PostgreSQL's group commit). It returns what
  is known at commit: the queue id and the leaf hash (``Queued``). Queue ids come from a block
  the connection reserved (migration 025), so the INSERT needs no RETURNING: in pipeline mode
  an append adds no round trip to its event's transaction.
- ``sequence(conn)`` is the sequencer, one at a time (a transaction-level advisory lock; a second
  caller returns at once): in ONE transaction it reads the committed queued leaves in the order they
  were queued (``queued_at``, then id), gives them the next tree indexes (the head's size:
  consecutive, no gap, as a rolled-back event never reached the queue), writes the leaves, the
  complete subtrees they close and the new head, and deletes exactly the queue rows it integrated. A
  leaf whose transaction commits after a round (queued earlier, committed late) is simply integrated
  in a later round: the sequencer reads what is visible and deletes what it read, so nothing is
  missed and nothing is integrated twice (``tlog_leaves.queue_id`` is unique). The hub runs it every
  ``EHUB_HUB_LOG_SEQUENCE_INTERVAL_S`` and ``integrated`` runs it on demand.
- ``leaf_index(conn, queue_id)`` is the tree index once integrated; ``await integrated(conn,
  ids, timeout_s)`` waits for it, bounded by the maximum merge delay (``EHUB_HUB_LOG_MMD_S``);
  ``oldest_queued`` is what the self-check and ``ehub cases verify`` compare with the MMD.

Checkpoints sign the head, which only ever covers integrated leaves. A proof at any size reads
O(log n) stored hashes (``merkle.inclusion_ranges`` / ``consistency_ranges`` ->
``merkle.range_nodes``) in one query; nothing rebuilds the tree.

The tree's tables refuse UPDATE, DELETE and TRUNCATE (triggers); what a superuser could still
do is caught by ``hub.transparency.verify`` and by anyone holding an old checkpoint. The queue
is the one table rows leave: a forged queued row is caught by the sequencer, which recomputes
every leaf hash and refuses a row whose entry does not hash to what its appender was told.
"""

from __future__ import annotations

import asyncio
import weakref
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
@dataclass(frozen=True, slots=True)
class Queued:
    """A queued leaf: what its appender knows at commit (the index comes with integration)."""

    queue_id: int
    leaf_hash: bytes


async def append(conn: AConn, entry: Mapping[str, Any]) -> Queued:
    """Queue one entry (see ``hub.transparency.entries``) in the caller's open transaction.

    Raises ``Invalid`` for an entry that breaks the rule of ``entries`` and ``Conflict`` when
    called outside a transaction. One statement, no lock beyond the row it inserts.
    """
    [out] = await append_many(conn, [entry])
    return out


# Queue ids are handed out in blocks of ``ID_BLOCK`` (migration 025 makes the id sequence step
# by ``ID_BLOCK``: one nextval reserves ``value .. value + ID_BLOCK - 1``), one block at a time
# per connection: an append knows its id without asking the database, so its INSERT needs no
# RETURNING and, in pipeline mode, no round trip of its own (it goes with the caller's COMMIT).
ID_BLOCK = 1024
_blocks: weakref.WeakKeyDictionary[AConn, list[int]] = weakref.WeakKeyDictionary()


async def _queue_ids(conn: AConn, n: int) -> list[int]:
    """``n`` unused queue ids, increasing, from the connection's reserved block (a new block
    when it runs out: one ``nextval``, non-transactional, so a rolled-back append only leaves
    unused ids, never a gap in the tree)."""
    block = _blocks.get(conn)
    if block is None:
        block = _blocks[conn] = [0, 0]  # [next, end): empty
    out: list[int] = []
    while len(out) < n:
        if block[0] >= block[1]:
            cur = await conn.execute("SELECT nextval('tlog_queue_id_seq')")
            row = await cur.fetchone()
            assert row is not None
            block[0] = int(row[0])
            block[1] = block[0] + ID_BLOCK
        take = min(n - len(out), block[1] - block[0])
        out.extend(range(block[0], block[0] + take))
        block[0] += take
    return out


def _in_transaction_block(conn: AConn) -> bool:
    """Whether psycopg has a ``conn.transaction()`` block open (so BEGIN was sent) while the
    connection is in pipeline mode with results pending (status ACTIVE). psycopg's own
    counter of open blocks; without it (another psycopg), the caller syncs as before."""
    return bool(getattr(conn, "_num_transactions", 0))


async def append_many(conn: AConn, entries: Sequence[Mapping[str, Any]]) -> list[Queued]:
    """Queue several entries (one event that records a few facts), in order, in one statement."""
    status = conn.info.transaction_status
    if status == pq.TransactionStatus.ACTIVE and _in_transaction_block(conn):
        # Pipeline mode inside the caller's ``conn.transaction()``: its BEGIN went first, so
        # the leaf is in its transaction; no sync needed (the INSERT's outcome, like every
        # statement's in a pipeline, comes with the caller's COMMIT).
        status = pq.TransactionStatus.INTRANS
    elif status == pq.TransactionStatus.ACTIVE:
        # Pipeline mode (results still pending): sync first to learn whether the caller's
        # BEGIN took effect (psycopg "Pipeline mode": a nested pipeline syncs).
        async with conn.pipeline() as p:
            await p.sync()
        status = conn.info.transaction_status
    if status != pq.TransactionStatus.INTRANS:
        # Outside a transaction the leaf would commit without the event it records.
        raise Conflict("a log append must run inside the transaction of the event it records")
    blobs = [canonical(e) for e in entries]
    if not blobs:
        return []
    hashes = [merkle.leaf_hash(b) for b in blobs]
    ids = await _queue_ids(conn, len(blobs))
    if len(blobs) == 1:  # the usual case: one plain INSERT, no RETURNING
        await conn.execute(
            "INSERT INTO tlog_queue (id, entry, leaf_hash) VALUES (%s, %s, %s)",
            (ids[0], blobs[0], hashes[0]),
        )
    else:
        # One queued_at for the whole call and increasing ids: the sequencer's order
        # (queued_at, id) keeps one event's facts in their order in the tree.
        await conn.execute(
            "INSERT INTO tlog_queue (id, entry, leaf_hash, queued_at)"
            " SELECT u.i, u.e, u.h, t.at"
            " FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[]) AS u(i, e, h),"
            " (SELECT clock_timestamp() AS at) AS t",
            (ids, blobs, hashes),
        )
    return [Queued(i, h) for i, h in zip(ids, hashes, strict=True)]


# ------------------------------------------------------------------------ sequencing ------
# The sequencer's advisory lock (pg_try_advisory_xact_lock): one sequencer at a time, released
# with its transaction. The key is arbitrary but fixed: "tlog" in ASCII.
SEQUENCER_LOCK = 0x746C6F67
BATCH = 20_000  # queued leaves per sequencer transaction (bounds its memory and lock time)


@dataclass(frozen=True, slots=True)
class Round:
    """One sequencer transaction: the leaves it integrated (indexes ``first`` .. ``size`` - 1)."""

    integrated: int
    first: int
    size: int
    locked_out: bool = False  # another sequencer held the lock: nothing was done


async def sequence(conn: AConn, *, batch: int = BATCH) -> Round:
    """One sequencer round in its own transaction (``conn`` must not be in one).

    Integrates up to ``batch`` committed queued leaves, in queue-id order, and deletes them
    from the queue, all or nothing. Raises ``LogCorrupt`` (integrating nothing) for a queued
    row whose entry does not hash to its stored leaf hash.
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        # Inside the caller's transaction the round would commit (or not) with it, and its
        # snapshot could not see leaves committed since.
        raise Conflict("the sequencer runs in a transaction of its own, not inside another")
    async with conn.transaction():
        cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (SEQUENCER_LOCK,))
        row = await cur.fetchone()
        if row is None or not row[0]:
            return Round(0, 0, 0, locked_out=True)
        # The head lock: checkpoints issued meanwhile see the size before or after the round.
        cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1 FOR UPDATE")
        row = await cur.fetchone()
        if row is None:
            raise LogCorrupt("the transparency log has no tree head (tlog_head is empty)")
        size, frontier = int(row[0]), [bytes(h) for h in row[1]]
        if len(frontier) != len(merkle.frontier_levels(size)):
            raise LogCorrupt(f"the tree head's frontier does not fit its size {size}")
        # In the order the leaves were queued (queued_at: the appending statement's clock, so
        # an event appended after another one committed comes after it), ids breaking ties
        # (one call's facts): the queue's primary key (025). Not by id alone: ids come in
        # per-connection blocks. The row's ctid is how the round deletes exactly these rows
        # (a TID scan; rows do not move while this transaction reads them).
        cur = await conn.execute(
            "SELECT id, entry, leaf_hash, ctid::text FROM tlog_queue"
            " ORDER BY queued_at, id LIMIT %s",
            (batch,),
            binary=True,
        )
        queued = await cur.fetchall()
        if not queued:
            return Round(0, size, size)
        first = size
        ids: list[int] = []
        tids: list[str] = []
        blobs: list[bytes] = []
        leaf_hashes: list[bytes] = []
        levels: list[int] = []
        idxs: list[int] = []
        hashes: list[bytes] = []
        for qid, entry, stored, tid in queued:
            blob = bytes(entry)
            h = merkle.leaf_hash(blob)
            if h != bytes(stored):
                raise LogCorrupt(
                    f"queued leaf {qid}: its entry does not hash to the leaf hash its appender"
                    " was given (the queue was edited); nothing integrated"
                )
            frontier, closed = merkle.append_leaf(size, frontier, h)
            for level, idx, nh in closed:
                levels.append(level)
                idxs.append(idx)
                hashes.append(nh)
            ids.append(int(qid))
            tids.append(tid)
            blobs.append(blob)
            leaf_hashes.append(h)
            size += 1
        cur = await conn.execute(
            "WITH l AS (INSERT INTO tlog_leaves (idx, entry, leaf_hash, queue_id)"
            "   SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[], %s::bigint[])),"
            " n AS (INSERT INTO tlog_nodes (level, idx, hash)"
            "   SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])),"
            " h AS (UPDATE tlog_head SET size = %s, frontier = %s::bytea[] WHERE id = 1)"
            " DELETE FROM tlog_queue WHERE ctid = ANY(%s::text[]::tid[])"
            " AND id = ANY(%s::bigint[])",
            (
                list(range(first, size)),
                blobs,
                leaf_hashes,
                ids,
                levels,
                idxs,
                hashes,
                size,
                frontier,
                tids,
                ids,
            ),
        )
        if cur.rowcount != len(ids):  # only another sequencer could; the lock rules it out
            raise LogCorrupt(
                f"the sequencer read {len(ids)} queued leaves but removed {cur.rowcount}"
            )
    return Round(len(ids), first, size)


async def sequence_all(conn: AConn, *, batch: int = BATCH) -> int:
    """Sequencer rounds until the queue (as visible now) is empty; the leaves integrated.

    Stops early (returning what it did) if another sequencer holds the lock.
    """
    total = 0
    while True:
        r = await sequence(conn, batch=batch)
        total += r.integrated
        if r.locked_out or r.integrated < batch:
            return total


async def leaf_index(conn: AConn, queue_id: int) -> int | None:
    """The tree index of the leaf queued as ``queue_id``; None while it is queued (or unknown)."""
    cur = await conn.execute("SELECT idx FROM tlog_leaves WHERE queue_id = %s", (queue_id,))
    row = await cur.fetchone()
    return int(row[0]) if row else None


async def leaf_indexes(conn: AConn, queue_ids: Sequence[int]) -> dict[int, int]:
    """``{queue id: tree index}`` for those of ``queue_ids`` already integrated."""
    cur = await conn.execute(
        "SELECT queue_id, idx FROM tlog_leaves WHERE queue_id = ANY(%s::bigint[])",
        (list(queue_ids),),
    )
    return {int(q): int(i) for q, i in await cur.fetchall()}


class NotIntegrated(HubError):
    """A queued leaf was not integrated within the wait (the maximum merge delay)."""

    status = 503
    title = "Transparency log leaf not yet integrated"


async def integrated(
    conn: AConn, queue_ids: Sequence[int], *, timeout_s: float, poll_s: float = 0.05
) -> dict[int, int]:
    """Wait until every leaf of ``queue_ids`` (committed) is in the tree; their indexes.

    Runs a sequencer round itself when none is running (on demand), else waits for the one
    that is. Raises ``NotIntegrated`` after ``timeout_s`` (give it the MMD, ``hub_log_mmd_s``):
    a leaf still queued then is what the self-check alerts on; an id never committed (rolled
    back) never integrates either.
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise Conflict("wait for integration after the event's transaction committed")
    want = list(dict.fromkeys(queue_ids))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        got = await leaf_indexes(conn, want)
        if len(got) == len(want):
            return got
        if loop.time() >= deadline:
            missing = [q for q in want if q not in got]
            raise NotIntegrated(
                f"queued leaves {', '.join(map(str, missing[:5]))} were not integrated within"
                f" {timeout_s:g} s (is the hub's sequencer running? was the event rolled back?)"
            )
        r = await sequence(conn)
        if r.locked_out or r.integrated == 0:
            await asyncio.sleep(min(poll_s, max(0.0, deadline - loop.time())))


@dataclass(frozen=True, slots=True)
class OldestQueued:
    queue_id: int
    age_s: float
    queued: int  # how many leaves are queued in all


async def oldest_queued(conn: AConn) -> OldestQueued | None:
    """The leaf that has waited longest in the queue (its age by the database's clock)."""
    cur = await conn.execute(
        "SELECT id, extract(epoch FROM clock_timestamp() - queued_at)::float8,"
        " count(*) OVER () FROM tlog_queue ORDER BY queued_at, id LIMIT 1"
    )
    row = await cur.fetchone()
    return OldestQueued(int(row[0]), float(row[1]), int(row[2])) if row else None


def mmd_problem(oldest: OldestQueued | None, mmd_s: float) -> str | None:
    """What the self-check and ``ehub cases verify`` say of a leaf queued beyond the MMD."""
    if oldest is None or oldest.age_s <= mmd_s:
        return None
    return (
        f"queued leaf {oldest.queue_id} has waited {oldest.age_s:.1f} s, beyond the maximum"
        f" merge delay of {mmd_s:g} s ({oldest.queued} leaves queued): the sequencer is not"
        " integrating them"
    )


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
    """The head, locked until the transaction ends (the sequencer waits): for a checkpoint."""
    cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1 FOR UPDATE")
    row = await cur.fetchone()
    if row is None:
        raise LogCorrupt("the transparency log has no tree head (tlog_head is empty)")
    return TreeHead(int(row[0]), merkle.frontier_root([bytes(h) for h in row[1]]))
