"""The public verification of a printed document (``/verify/...``, CASES.md §7-8).

What the QR code of a document leads to: its type and number, the case number, the legal
subject, the issue time, its SHA-256, and the inclusion proof of its "document issued" leaf in
the transparency log, checked against the latest signed checkpoint. Never the party's data:
the page's fields are picked one by one from the stored document (``Facts``), nothing else of
the document leaves.

"Verified" means every link of this chain holds, each one checked here, none assumed:

1. the stored canonical bytes hash to the SHA-256 the case file records (``case_documents``);
2. the leaf the document's issue was logged as is a ``document_issued`` entry naming this
   document's type, number and that same hash;
3. the latest checkpoint is signed by the log's Ed25519 key (``checkpoint.verify``);
4. the leaf's inclusion proof at the checkpoint's size folds to the checkpoint's root
   (``merkle.verify_inclusion``, RFC 9162 §2.1.3.2).

A leaf not yet covered by a signed checkpoint is ``pending`` (the hub signs one within a minute
of the tree growing); anything else that fails is ``not_verified`` with the link that broke.
``judge`` is the pure part (tested without a database); ``verify_document`` reads what it needs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg

from hub.transparency import checkpoint, merkle, store
from hub.transparency.checkpoint import CheckpointError
from schemas.documents import DocType, parse_document

AConn = psycopg.AsyncConnection[Any]


class Status(StrEnum):
    VERIFIED = "verified"
    PENDING = "pending"  # in the log, not yet under a signed checkpoint
    NOT_VERIFIED = "not_verified"


class Broken(StrEnum):
    """Which link of the chain failed (a message key each: ``verify.broken.<value>``)."""

    CONTENT = "content"  # the stored bytes do not hash to the recorded SHA-256
    NOT_LOGGED = "not_logged"  # no leaf recorded for the document
    LEAF = "leaf"  # the leaf does not name this document and hash
    NO_KEY = "no_key"  # the hub has no log key: no checkpoint can be checked
    NO_CHECKPOINT = "no_checkpoint"  # no checkpoint issued yet
    SIGNATURE = "signature"  # the checkpoint's signature does not verify
    PROOF = "proof"  # the inclusion proof does not fold to the checkpoint's root


@dataclass(frozen=True)
class Facts:
    """What the page may show of a document: no personal data."""

    doc_type: str
    number: str
    case_number: str | None
    legal_subject: str
    issued_at: datetime | None
    sha256: str


@dataclass(frozen=True)
class Evidence:
    """What was read to judge one document (all public: the log is)."""

    canonical: bytes
    recorded_sha256: str
    leaf_index: int | None
    leaf: bytes | None  # the leaf's exact entry bytes
    note: str | None  # the latest signed checkpoint
    proof: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    status: Status
    broken: Broken | None
    tree_size: int | None = None
    root: bytes | None = None
    leaf_hash: bytes | None = None


def facts_of(doc_type: str, number: str, canonical: bytes, sha256: str) -> Facts:
    """The public fields of a stored document; if its bytes no longer parse (tampered), what
    the case file's columns say."""
    try:
        doc = parse_document(canonical)
    except ValueError:
        return Facts(doc_type, number, None, "", None, sha256)
    return Facts(
        doc_type=doc.type.value,
        number=doc.number,
        case_number=doc.case_number,
        legal_subject=doc.subject.name,
        issued_at=doc.issued_at,
        sha256=sha256,
    )


def _leaf_names(leaf: bytes, doc_type: str, number: str, sha256: str) -> bool:
    try:
        entry = json.loads(leaf)
    except ValueError:
        return False
    return (
        isinstance(entry, dict)
        and entry.get("kind") == "document_issued"
        and entry.get("hash") == sha256
        and entry.get("number") == number
        and entry.get("document_type") == doc_type
    )


def judge(facts: Facts, ev: Evidence, *, origin: str, public_key: bytes | None) -> Verdict:
    """The verdict on one document from what was read (pure)."""
    if hashlib.sha256(ev.canonical).hexdigest() != ev.recorded_sha256:
        return Verdict(Status.NOT_VERIFIED, Broken.CONTENT)
    if ev.leaf is None or ev.leaf_index is None:
        return Verdict(Status.NOT_VERIFIED, Broken.NOT_LOGGED)
    leaf_hash = merkle.leaf_hash(ev.leaf)
    if not _leaf_names(ev.leaf, facts.doc_type, facts.number, ev.recorded_sha256):
        return Verdict(Status.NOT_VERIFIED, Broken.LEAF, leaf_hash=leaf_hash)
    if public_key is None:
        return Verdict(Status.NOT_VERIFIED, Broken.NO_KEY, leaf_hash=leaf_hash)
    if ev.note is None:
        return Verdict(Status.PENDING, Broken.NO_CHECKPOINT, leaf_hash=leaf_hash)
    try:
        cp = checkpoint.verify(ev.note, origin, public_key)
    except CheckpointError:
        return Verdict(Status.NOT_VERIFIED, Broken.SIGNATURE, leaf_hash=leaf_hash)
    if ev.leaf_index >= cp.size:
        return Verdict(Status.PENDING, None, cp.size, cp.root, leaf_hash)
    ok = merkle.verify_inclusion(ev.leaf_index, cp.size, leaf_hash, ev.proof, cp.root)
    return Verdict(
        Status.VERIFIED if ok else Status.NOT_VERIFIED,
        None if ok else Broken.PROOF,
        cp.size,
        cp.root,
        leaf_hash,
    )


@dataclass(frozen=True)
class Verification:
    facts: Facts
    verdict: Verdict
    leaf_index: int | None
    proof: list[bytes]
    note: str | None


async def read_evidence(
    conn: AConn, *, canonical: bytes, sha256: str, tlog_queue_id: int | None
) -> Evidence:
    """The leaf, the latest checkpoint and the proof between them, as stored."""
    index = None if tlog_queue_id is None else await store.leaf_index(conn, tlog_queue_id)
    leaf: bytes | None = None
    if index is not None:
        rows = await store.entries(conn, index, index + 1)
        leaf = rows[0][1] if rows else None
    cp = await store.latest_checkpoint(conn)
    proof: list[bytes] = []
    if index is not None and cp is not None and index < cp.size:
        proof = await store.inclusion_proof(conn, index, cp.size)
    return Evidence(canonical, sha256, index, leaf, None if cp is None else cp.note, proof)


def doc_type_of(value: str) -> DocType | None:
    try:
        return DocType(value)
    except ValueError:
        return None


def heading(doc_type: str) -> str:
    """The document type's printed heading (Chinese, as on the paper), or the code."""
    t = doc_type_of(doc_type)
    return doc_type if t is None else t.heading
