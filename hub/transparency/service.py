"""Checkpoints and the self-check: issue a signed checkpoint when the tree grew, raise an alert
when the stored tree no longer extends the last one, and the hub loop that does both.

- ``issue_checkpoint`` signs (size, root) of the current tree, after proving from the stored
  hashes that it extends the last checkpoint: c2sp.org/tlog-checkpoint, "a log MUST not sign
  any checkpoint which is inconsistent with any checkpoint it previously signed". It is
  recorded in ``tlog_checkpoints`` (every one ever issued) and in the audit log.
- ``self_check`` is the cheap periodic check (O(log n) rows): the last checkpoint's signature,
  the stored root at its size, and a consistency proof from it to the current head, verified
  with the same functions an outside verifier uses. The full check, every leaf and every stored
  hash, is ``hub.transparency.verify`` (``ehub cases verify``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.domain.alerts import Notification, SystemAlertKind
from hub.domain.errors import Conflict
from hub.notify import Notifier
from hub.periodic import every
from hub.repositories import audit
from hub.services import alerts
from hub.settings import HubSettings
from hub.transparency import checkpoint, merkle, store
from hub.transparency.checkpoint import Checkpoint, CheckpointError, Signer

log = logging.getLogger(__name__)

AConn = psycopg.AsyncConnection[Any]
Pool = AsyncConnectionPool[AConn]

ACTOR = "ehub-transparency"  # the hub's checkpoint issuer, in the audit log
ALERT_SUBJECT = "transparency-log"


def signer_from_settings(settings: HubSettings) -> Signer | None:
    """The log's signer from EHUB_HUB_LOG_SIGNING_KEY or EHUB_HUB_LOG_SIGNING_KEY_FILE."""
    seed = settings.hub_log_signing_key
    if not seed and settings.hub_log_signing_key_file:
        seed = Path(settings.hub_log_signing_key_file).read_text()
    if not seed:
        return None
    return Signer.from_seed(settings.hub_log_origin, seed)


class LogInconsistent(Conflict):
    """The stored tree does not extend a checkpoint the log signed (tampering, or a bug)."""


@dataclass(frozen=True, slots=True)
class Extends:
    """The outcome of checking that the stored tree extends a signed checkpoint."""

    ok: bool
    problem: str | None


async def check_extends(
    conn: AConn, last: store.StoredCheckpoint, head: store.TreeHead, public_key: bytes, name: str
) -> Extends:
    """Does the stored tree (``head``) extend ``last``? Verified as an outsider would."""
    try:
        signed = checkpoint.verify(last.note, name, public_key)
    except CheckpointError as exc:
        return Extends(False, f"checkpoint {last.id} (size {last.size}): {exc}")
    if (signed.size, signed.root) != (last.size, last.root):
        return Extends(False, f"checkpoint {last.id}: the stored size/root differ from its note")
    if head.size < last.size:
        return Extends(
            False,
            f"the log has {head.size} leaves but checkpoint {last.id} signed {last.size}:"
            f" leaves {head.size}..{last.size - 1} are gone",
        )
    if last.size == 0:
        return Extends(True, None)
    try:
        proof = await store.consistency_proof(conn, last.size, head.size)
    except store.LogCorrupt as exc:
        return Extends(False, f"checkpoint {last.id} (size {last.size}): {exc.detail}")
    if not merkle.verify_consistency(last.size, head.size, last.root, head.root, proof):
        return Extends(
            False,
            f"the tree of size {head.size} does not extend checkpoint {last.id}"
            f" (size {last.size}): its first {last.size} leaves were rewritten",
        )
    return Extends(True, None)


async def issue_checkpoint(
    conn: AConn, signer: Signer, now: datetime, *, force: bool = False
) -> store.StoredCheckpoint | None:
    """Sign the current tree head if it grew since the last checkpoint (or ``force``).

    Raises ``LogInconsistent`` (and signs nothing) if the tree does not extend the last one.
    """
    async with conn.transaction():
        head = await store.lock_head(conn)  # appends wait: the size and root stay put
        last = await store.latest_checkpoint(conn)
        if last is not None:
            if last.size == head.size and last.root == head.root and not force:
                return None
            ext = await check_extends(conn, last, head, signer.public_key, signer.name)
            if not ext.ok:
                raise LogInconsistent(f"no checkpoint signed: {ext.problem}")
        note = signer.sign(Checkpoint(signer.name, head.size, head.root))
        cp = await store.insert_checkpoint(conn, head.size, head.root, note, now)
        await audit.record(
            conn,
            ACTOR,
            "transparency.checkpoint",
            "tlog_checkpoint",
            str(cp.id),
            after={"size": cp.size, "root": cp.root.hex()},
        )
    return cp


async def self_check(conn: AConn, signer: Signer) -> str | None:
    """None if the stored tree extends the last checkpoint, else what is wrong."""
    last = await store.latest_checkpoint(conn)
    if last is None:
        return None
    head = await store.head(conn)
    ext = await check_extends(conn, last, head, signer.public_key, signer.name)
    return ext.problem


# ------------------------------------------------------------------------------ loop ------
def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_cycle(
    pool: Pool, signer: Signer, notifier: Notifier, now: datetime, *, check: bool
) -> list[Notification]:
    """Self-check (if ``check``) and issue a checkpoint if the tree grew; alert on trouble."""
    notes: list[Notification] = []
    problem: str | None = None
    try:
        async with pool.connection() as conn:
            if check:
                problem = await self_check(conn, signer)
            if problem is None:
                try:
                    cp = await issue_checkpoint(conn, signer, now)
                    if cp is not None:
                        log.info("transparency checkpoint %d: size %d", cp.id, cp.size)
                except LogInconsistent as exc:
                    problem = exc.detail
            if problem is not None:
                log.error("transparency log: %s", problem)
                notes = await alerts.raise_system_alert(
                    conn, ALERT_SUBJECT, SystemAlertKind.TRANSPARENCY_LOG, problem, now=now
                )
    except (psycopg.Error, OSError) as exc:
        log.warning("transparency cycle failed: %s", exc)  # the database is away; next cycle
    await notifier.deliver(notes)
    return notes


async def run_transparency_loop(
    pool: Pool,
    settings: HubSettings,
    signer: Signer,
    notifier: Notifier,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Every ``hub_log_checkpoint_interval_s``: a checkpoint if the tree grew; every
    ``hub_log_selfcheck_interval_s`` (and on the first cycle): the self-check first."""
    last_check: list[float] = []
    loop = asyncio.get_running_loop()

    async def cycle() -> None:
        due = not last_check or loop.time() - last_check[0] >= settings.hub_log_selfcheck_interval_s
        if due:
            last_check[:] = [loop.time()]
        await run_cycle(pool, signer, notifier, clock(), check=due)

    await every("transparency", settings.hub_log_checkpoint_interval_s, stop, cycle)
