"""Helpers for the transparency-log tests: a fixed key, entries, an outside verifier."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg

from hub.settings import HubSettings
from hub.transparency import checkpoint, entries, merkle
from hub.transparency.checkpoint import Signer

T = TypeVar("T")
ORIGIN = "test.enforcement-hub.local/log"
SEED = base64.b64encode(hashlib.sha256(b"ehub transparency test key").digest()).decode()
SIGNER = Signer.from_seed(ORIGIN, SEED)
AT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def settings(db_url: str, **kw: Any) -> HubSettings:
    return HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
        hub_log_origin=ORIGIN,
        hub_log_signing_key=SEED,
        **kw,
    )


def evidence(i: int) -> dict[str, Any]:
    return entries.evidence_added(
        case_id=f"case-{i // 10}",
        evidence_id=f"ev-{i}",
        evidence_type="audiovisual",
        hash=hashlib.sha256(str(i).encode()).hexdigest(),
        at=AT,
    )


def run(db_url: str, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """``fn(conn)`` on an autocommit connection of its own."""

    async def go() -> T:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await fn(conn)

    return asyncio.run(go())


class OutsideVerifier:
    """What a witness outside the team runs: only HTTP answers and the pure verifiers.

    It trusts the public key it was given once, keeps the last checkpoint it accepted, and
    accepts a new one only with a consistency proof from the one it holds.
    """

    def __init__(self, get: Callable[[str], Any], public_key: bytes) -> None:
        self.get = get
        self.public_key = public_key
        self.held: checkpoint.Checkpoint | None = None

    def fetch_checkpoint(self) -> checkpoint.Checkpoint:
        r = self.get("/transparency/checkpoint")
        assert r.status_code == 200, r.text
        return checkpoint.verify(r.text, ORIGIN, self.public_key)

    def update(self) -> tuple[bool, str]:
        """Fetch the latest checkpoint; (accepted?, why)."""
        try:
            new = self.fetch_checkpoint()
        except checkpoint.CheckpointError as exc:
            return False, f"bad signature: {exc}"
        old = self.held
        if old is not None:
            if new.size < old.size:
                return False, f"the log shrank from {old.size} to {new.size}"
            if old.size > 0:
                r = self.get(f"/transparency/proof/consistency?first={old.size}&second={new.size}")
                if r.status_code != 200:
                    return False, f"no consistency proof: {r.status_code} {r.text}"
                proof = [base64.b64decode(h) for h in r.json()["hashes"]]
                if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
                    return False, f"checkpoint {new.size} does not extend {old.size}"
        self.held = new
        return True, "ok"

    def check_entry(self, index: int) -> bool:
        """Fetch leaf ``index`` and its inclusion proof in the held checkpoint; verify."""
        assert self.held is not None
        r = self.get(f"/transparency/entries?start={index}&end={index + 1}")
        assert r.status_code == 200, r.text
        [e] = r.json()["entries"]
        assert e["index"] == index
        leaf = merkle.leaf_hash(base64.b64decode(e["entry"]))
        r = self.get(f"/transparency/proof/inclusion?index={index}&tree_size={self.held.size}")
        assert r.status_code == 200, r.text
        proof = [base64.b64decode(h) for h in r.json()["hashes"]]
        return merkle.verify_inclusion(index, self.held.size, leaf, proof, self.held.root)
