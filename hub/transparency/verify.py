"""``ehub cases verify``: recompute the whole tree from the stored leaves and check everything.

What is checked, in one REPEATABLE READ snapshot:

1. the leaves are 0..n-1 without a gap, and each entry hashes to its stored leaf hash;
2. every stored interior hash (``tlog_nodes``) is the hash of its two children as recomputed
   from the entries, and no complete subtree is missing or extra;
3. the tree head (size and frontier) is the recomputed tree;
4. every checkpoint ever issued is signed by the log's key, says what its row says, and its
   root is the recomputed root at its size: every checkpoint is consistent with the current
   tree (it is a prefix of it), or the report says which is not;
5. the registered checkers (``register_checker``): the case services' own checks that what
   their tables hold (each event's and document's hash) matches its leaf;
6. the queue (migration 019): no queued leaf is also in the tree (integrated twice), and (with
   ``mmd_s``) none has waited longer than the maximum merge delay.

The leaves are read one chunk of ``CHUNK`` indexes per query, each chunk as one row of two
concatenated blobs (entries, stored hashes), parsed locally: see ``_leaves``.

Each problem names the leaf index, subtree or checkpoint concerned; an empty list of problems
means the log is intact. Memory: two hashes per leaf (about 130 MB at 1M leaves).
"""

from __future__ import annotations

import hashlib
import importlib
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from hub.transparency import checkpoint, merkle, store

AConn = psycopg.AsyncConnection[Any]
CHUNK = 65_536  # leaves per query


@dataclass
class VerifiedLog:
    """The tree recomputed from the stored entries: what checkers compare their rows with."""

    size: int
    levels: list[list[bytes]]  # levels[0]: leaf hashes recomputed from the entries

    def leaf_hash(self, index: int) -> bytes:
        return self.levels[0][index]

    def root_at(self, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return merkle.fold([self.levels[lvl][i] for lvl, i in merkle.range_nodes(0, size)])


# A checker gets the connection (inside the verification's snapshot) and the recomputed log,
# and returns its problems (each naming what is wrong); [] when all is well.
Checker = Callable[[AConn, VerifiedLog], Awaitable[list[str]]]
_CHECKERS: dict[str, Checker] = {}


def register_checker(name: str, checker: Checker) -> None:
    """Plug a check into ``ehub cases verify`` (the case services register theirs at import)."""
    _CHECKERS[name] = checker


def registered_checkers() -> dict[str, Checker]:
    return dict(_CHECKERS)


@dataclass
class Report:
    size: int = 0
    leaves: int = 0
    nodes: int = 0
    checkpoints: int = 0
    checkers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process: the verifier's own work, whatever the load

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problems)"
        return (
            f"transparency log {verdict}: size={self.size} leaves={self.leaves}"
            f" nodes={self.nodes} checkpoints={self.checkpoints}"
            f" checkers={','.join(self.checkers) or '-'} in {self.seconds:.2f} s"
            f" ({self.cpu_seconds:.2f} s CPU)"
        )


MAX_PROBLEMS = 200  # a wholesale rewrite should not print a million lines


async def verify(
    conn: AConn,
    *,
    name: str | None,
    public_key: bytes | None,
    checkers: dict[str, Checker] | None = None,
    mmd_s: float | None = None,
) -> Report:
    """Check the log (see the module docstring). ``public_key`` None: signatures unchecked
    (said in the report as a problem, so that a run without the key cannot pass); ``mmd_s``
    None: the queue's age is not checked."""
    t0, c0 = time.perf_counter(), time.process_time()
    rep = Report()
    await conn.set_autocommit(False)
    await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
    try:
        await conn.set_read_only(True)
        levels = await _leaves(conn, rep)
        n = len(levels[0])
        await _build_and_check_nodes(conn, levels, rep)
        log = VerifiedLog(n, levels)
        await _check_head(conn, log, rep)
        await _check_checkpoints(conn, log, rep, name, public_key)
        await _check_queue(conn, rep, mmd_s)
        for cname, check in (registered_checkers() if checkers is None else checkers).items():
            rep.checkers.append(cname)
            rep.problems += [f"{cname}: {p}" for p in await check(conn, log)]
    finally:
        await conn.rollback()
    if len(rep.problems) > MAX_PROBLEMS:
        more = len(rep.problems) - MAX_PROBLEMS
        rep.problems = [*rep.problems[:MAX_PROBLEMS], f"... and {more} more problems"]
    rep.seconds = time.perf_counter() - t0
    rep.cpu_seconds = time.process_time() - c0
    return rep


async def _leaves(conn: AConn, rep: Report) -> list[list[bytes]]:
    """Every leaf hash recomputed from its entry, compared with the stored ones.

    In chunks of ``CHUNK`` indexes, ONE query and one row per chunk: the server concatenates
    the chunk's entries (each behind its int4 length) and its stored hashes into two blobs
    (a range scan of the primary key; no per-row protocol messages or Python row objects,
    which cost more than the hashing), the client splits the first, hashes each entry and
    compares the result with the second at once. Only a chunk that differs is gone through
    leaf by leaf, to name each bad or missing index.
    """
    cur = await conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM tlog_leaves")
    row = await cur.fetchone()
    top = int(row[0]) if row else 0
    hashes: list[bytes] = []
    sha256 = hashlib.sha256
    unpack_from = struct.Struct(">i").unpack_from
    for lo in range(0, top, CHUNK):
        hi = min(lo + CHUNK, top)
        cur = await conn.execute(
            "SELECT count(*),"
            " string_agg(int4send(length(entry)) || entry, ''::bytea ORDER BY idx),"
            " string_agg(leaf_hash, ''::bytea ORDER BY idx)"
            " FROM tlog_leaves WHERE idx >= %s AND idx < %s",
            (lo, hi),
            binary=True,
        )
        chunk = await cur.fetchone()
        assert chunk is not None
        count = int(chunk[0])
        entries_blob = bytes(chunk[1]) if chunk[1] is not None else b""
        stored = bytes(chunk[2]) if chunk[2] is not None else b""
        computed: list[bytes] = []
        pos, end = 0, len(entries_blob)
        while pos < end:
            (elen,) = unpack_from(entries_blob, pos)
            computed.append(sha256(b"\x00" + entries_blob[pos + 4 : pos + 4 + elen]).digest())
            pos += 4 + elen
        if count != hi - lo or b"".join(computed) != stored:
            await _name_bad_leaves(conn, (lo, hi), computed, stored, rep)
        hashes += computed
    rep.leaves = len(hashes)
    return [hashes]


async def _name_bad_leaves(
    conn: AConn, span: tuple[int, int], computed: list[bytes], stored: bytes, rep: Report
) -> None:
    lo, hi = span
    cur = await conn.execute(
        "SELECT idx FROM tlog_leaves WHERE idx >= %s AND idx < %s ORDER BY idx", (lo, hi)
    )
    present = [int(r[0]) for r in await cur.fetchall()]
    have = set(present)
    rep.problems += [
        f"leaf {i}: missing (no row with this index)" for i in range(lo, hi) if i not in have
    ]
    for k, idx in enumerate(present):
        if computed[k] != stored[32 * k : 32 * (k + 1)]:
            rep.problems.append(
                f"leaf {idx}: its entry does not hash to its stored leaf hash"
                " (the entry was changed)"
            )


async def _build_and_check_nodes(conn: AConn, levels: list[list[bytes]], rep: Report) -> None:
    """Each level recomputed from the one below and compared with the stored level at once
    (a concatenated blob); a level that differs is gone through node by node."""
    sha256 = hashlib.sha256
    level = 0
    while len(levels[level]) > 1:
        below = levels[level]
        # merkle.node_hash inlined (a million calls cost a second here); complete subtrees
        # only: an odd last hash has no parent at this level (zip drops it).
        pairs = zip(below[::2], below[1::2], strict=False)
        up = [sha256(b"\x01" + a + b).digest() for a, b in pairs]
        levels.append(up)
        level += 1
        cur = await conn.execute(
            "SELECT count(*), string_agg(hash, ''::bytea ORDER BY idx) FROM tlog_nodes"
            " WHERE level = %s",
            (level,),
            binary=True,
        )
        row = await cur.fetchone()
        count = int(row[0]) if row else 0
        blob = bytes(row[1]) if row and row[1] is not None else b""
        rep.nodes += count
        if count == len(up) and blob == b"".join(up):
            continue
        await _name_bad_nodes(conn, level, up, rep)
    cur = await conn.execute(
        "SELECT level, count(*) FROM tlog_nodes WHERE level > %s GROUP BY level ORDER BY level",
        (level,),
    )
    for lvl, count in await cur.fetchall():
        rep.nodes += int(count)
        rep.problems.append(
            f"level {lvl}: {count} subtree hashes are stored above the top of the tree"
        )


async def _name_bad_nodes(conn: AConn, level: int, up: list[bytes], rep: Report) -> None:
    cur = await conn.execute(
        "SELECT idx, hash FROM tlog_nodes WHERE level = %s ORDER BY idx", (level,), binary=True
    )
    seen = 0
    for idx, stored in await cur.fetchall():
        seen += 1
        lo, hi = idx << level, ((idx + 1) << level) - 1
        if idx >= len(up):
            rep.problems.append(
                f"subtree (level {level}, index {idx}) is stored but leaves {lo}..{hi}"
                " do not all exist"
            )
        elif bytes(stored) != up[idx]:
            rep.problems.append(
                f"subtree (level {level}, index {idx}), leaves {lo}..{hi}: its stored hash"
                " does not match the leaves"
            )
    if seen < len(up):
        rep.problems.append(
            f"level {level}: {len(up) - seen} complete subtrees have no stored hash"
        )


async def _check_head(conn: AConn, log: VerifiedLog, rep: Report) -> None:
    cur = await conn.execute("SELECT size, frontier FROM tlog_head WHERE id = 1")
    row = await cur.fetchone()
    if row is None:
        rep.problems.append("the tree head (tlog_head) is gone")
        return
    size, frontier = int(row[0]), [bytes(h) for h in row[1]]
    rep.size = size
    if size != log.size:
        rep.problems.append(
            f"the tree head says {size} leaves but {log.size} are stored"
            + (f": leaves {log.size}..{size - 1} are missing" if size > log.size else "")
        )
    elif merkle.frontier_root(frontier) != log.root_at(size):
        rep.problems.append("the tree head's root is not the root of the stored leaves")


async def _check_checkpoints(
    conn: AConn, log: VerifiedLog, rep: Report, name: str | None, public_key: bytes | None
) -> None:
    if public_key is None or name is None:
        rep.problems.append("no log public key given: checkpoint signatures were not checked")
    cur = await conn.execute("SELECT id, size, root, note FROM tlog_checkpoints ORDER BY id")
    rows: Sequence[tuple[Any, ...]] = await cur.fetchall()
    prev_size = 0
    good = 0  # the largest size at which a checkpoint matched: a rewrite is above it
    for cid, size, root, note in rows:
        rep.checkpoints += 1
        what = f"checkpoint {cid} (size {size})"
        if public_key is not None and name is not None:
            try:
                signed = checkpoint.verify(note, name, public_key)
            except checkpoint.CheckpointError as exc:
                rep.problems.append(f"{what}: {exc}")
                continue
            if (signed.size, signed.root) != (size, bytes(root)):
                rep.problems.append(f"{what}: its row differs from its signed note")
        if size < prev_size:
            rep.problems.append(f"{what}: smaller than the checkpoint before it ({prev_size})")
        prev_size = max(prev_size, size)
        if size > log.size:
            rep.problems.append(
                f"{what}: the log has only {log.size} leaves; leaves {log.size}..{size - 1}"
                " were removed"
            )
        elif log.root_at(size) != bytes(root):
            low = max(
                (s for _, s, r, _ in rows if s < size and log.root_at(s) == bytes(r)), default=0
            )
            rep.problems.append(
                f"{what}: the tree recomputed from the stored leaves has another root at this"
                f" size: a leaf in {low}..{size - 1} was rewritten"
            )
        else:
            good = max(good, size)


async def _check_queue(conn: AConn, rep: Report, mmd_s: float | None) -> None:
    cur = await conn.execute(
        "SELECT q.id, l.idx FROM tlog_queue q JOIN tlog_leaves l ON l.queue_id = q.id"
        " ORDER BY q.id LIMIT 20"
    )
    for qid, idx in await cur.fetchall():
        rep.problems.append(
            f"queued leaf {qid} is still queued but already integrated as leaf {idx}"
        )
    if mmd_s is not None:
        late = store.mmd_problem(await store.oldest_queued(conn), mmd_s)
        if late is not None:
            rep.problems.append(late)


# Modules that register checkers when imported (the case services add theirs here), so that
# ``ehub cases verify`` runs them without the CLI knowing the case tables.
CHECKER_MODULES: tuple[str, ...] = ("hub.services.cases.logentries",)  # case rows vs leaves


async def verify_database(
    database_url: str, *, name: str | None, public_key: bytes | None, mmd_s: float | None = None
) -> Report:
    """``ehub cases verify``: connect, load the registered checkers, verify."""
    for module in CHECKER_MODULES:
        importlib.import_module(module)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        return await verify(conn, name=name, public_key=public_key, mmd_s=mmd_s)
