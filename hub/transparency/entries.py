"""What a leaf of the transparency log holds: identifiers and hashes, never personal data.

An entry is a JSON object canonicalised with RFC 8785 (JCS, through ``rfc8785``), so anyone
can re-derive the exact leaf bytes. The log is public (``/transparency/entries``) and cannot
forget, so the rule is strict and checked on every append (``canonical``):

- keys are ``snake_case`` names; ``v`` (the entry format, 1) and ``kind`` are required and
  ``kind`` is one of ``EntryKind``;
- values are identifiers, codes, hashes and UTC timestamps (``IDENT``: ASCII letters, digits and
  ``. _ : / + -``, no spaces, at most 128 characters), integers, booleans, null, or lists of
  those (document and case numbers may carry their Chinese prefix). Free text (a name, an
  address, a reason written by someone) cannot pass: it has spaces or non-ASCII letters. A
  value that merely looks like an identifier can still be personal (an ID-card number), which
  is why the callers use the builders below, whose parameters are hub record ids, state and
  type codes and SHA-256 hashes only;
- ``hash`` fields are lowercase hex SHA-256 (64 characters).

The builders, one per kind of case event (CASES.md §8): ``transition``, ``approval``,
``document_issued``, ``evidence_added``, ``number_voided``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785

from hub.domain.errors import Invalid

FORMAT_VERSION = 1
MAX_ENTRY_BYTES = 4096
KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+\-]{0,127}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Document and case numbers carry the legal subject's Chinese prefix (深罗城罚〔2026〕12号):
# in the fields that hold them, CJK and the brackets of GB/T 9704 are allowed, spaces are not.
NUMBER = re.compile(r"[0-9A-Za-z\u4e00-\u9fff〔〕\[\]()（）._/\-]{1,64}")
NUMBER_KEYS = frozenset({"number", "case_number"})


class EntryKind(StrEnum):
    TRANSITION = "transition"  # a case moved from one state to another (a legal act)
    APPROVAL = "approval"  # one step of an approval chain decided
    DOCUMENT_ISSUED = "document_issued"  # a document issued, with the SHA-256 of its PDF
    EVIDENCE_ADDED = "evidence_added"  # an evidence item added to a case, with its SHA-256
    NUMBER_VOIDED = "number_voided"  # a document number voided (never reused, never lost)


Scalar = str | int | bool | None
Value = Scalar | Sequence[Scalar]


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The entry's exact leaf bytes (RFC 8785), after checking the rule above."""
    _check(entry)
    out = rfc8785.dumps(dict(entry))
    if len(out) > MAX_ENTRY_BYTES:
        raise Invalid(f"a log entry is at most {MAX_ENTRY_BYTES} bytes, this one {len(out)}")
    return out


def _check(entry: Mapping[str, Any]) -> None:
    if entry.get("v") != FORMAT_VERSION:
        raise Invalid(f'a log entry needs "v": {FORMAT_VERSION}')
    kind = entry.get("kind")
    if kind not in {k.value for k in EntryKind}:
        raise Invalid(
            f"a log entry's kind must be one of {', '.join(k.value for k in EntryKind)};"
            f" got {kind!r}"
        )
    for key, value in entry.items():
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise Invalid(f"log entry key {key!r} is not a snake_case name")
        if key == "hash" or key.endswith("_hash"):
            if not (isinstance(value, str) and SHA256_HEX.fullmatch(value)):
                raise Invalid(f"log entry {key!r} must be a lowercase hex SHA-256")
            continue
        if key in NUMBER_KEYS and isinstance(value, str) and NUMBER.fullmatch(value):
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            _check_scalar(key, v)


def _check_scalar(key: str, v: object) -> None:
    if v is None or isinstance(v, bool | int):
        return
    if isinstance(v, str) and IDENT.fullmatch(v):
        return
    raise Invalid(
        f"log entry {key!r}: {v!r} is not an identifier, code, hash, time or number; the"
        " public log carries no free text or personal data (hub/transparency/entries.py)"
    )


def _ts(at: datetime) -> str:
    if at.tzinfo is None:
        raise Invalid("log entry times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry(kind: EntryKind, at: datetime, **fields: Value) -> dict[str, Any]:
    out: dict[str, Any] = {"v": FORMAT_VERSION, "kind": kind.value, "at": _ts(at)}
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()})
    _check(out)
    return out


# --------------------------------------------------------------------------- builders ------
def transition(
    *,
    case_id: str,
    case_number: str | None,
    from_state: str | None,
    to_state: str,
    act: str,
    actor_ids: Sequence[str],
    at: datetime,
    event_id: str,
) -> dict[str, Any]:
    """A case's state changed by ``act`` (立案, 告知, 决定, ...); ``from_state`` None: created."""
    return _entry(
        EntryKind.TRANSITION,
        at,
        case_id=case_id,
        case_number=case_number,
        event_id=event_id,
        from_state=from_state,
        to_state=to_state,
        act=act,
        actor_ids=sorted(actor_ids),
    )


def approval(
    *,
    case_id: str,
    approval_id: str,
    step: int,
    decision: str,
    approver_id: str,
    at: datetime,
) -> dict[str, Any]:
    """One step of an approval chain (立案, 撤案, 决定, 结案 ...) approved or rejected."""
    if decision not in {"approved", "rejected"}:
        raise Invalid(f"an approval decision is approved or rejected, not {decision!r}")
    return _entry(
        EntryKind.APPROVAL,
        at,
        case_id=case_id,
        approval_id=approval_id,
        step=step,
        decision=decision,
        approver_id=approver_id,
    )


def document_issued(
    *,
    case_id: str,
    document_id: str,
    document_type: str,
    number: str,
    hash: str,  # the entry's field name, CASES.md §8
    at: datetime,
) -> dict[str, Any]:
    """A document issued: its number and the SHA-256 of the archived PDF."""
    return _entry(
        EntryKind.DOCUMENT_ISSUED,
        at,
        case_id=case_id,
        document_id=document_id,
        document_type=document_type,
        number=number,
        hash=hash,
    )


def evidence_added(
    *,
    case_id: str,
    evidence_id: str,
    evidence_type: str,
    hash: str,  # the entry's field name
    at: datetime,
) -> dict[str, Any]:
    """An evidence item added to a case, with the SHA-256 of its file."""
    return _entry(
        EntryKind.EVIDENCE_ADDED,
        at,
        case_id=case_id,
        evidence_id=evidence_id,
        evidence_type=evidence_type,
        hash=hash,
    )


def number_voided(
    *,
    number: str,
    legal_subject_id: str,
    reason_code: str,
    voided_by: str,
    at: datetime,
    case_id: str | None = None,
) -> dict[str, Any]:
    """A document number voided (the reason as a code; its text stays in the case file)."""
    return _entry(
        EntryKind.NUMBER_VOIDED,
        at,
        number=number,
        legal_subject_id=legal_subject_id,
        reason_code=reason_code,
        voided_by=voided_by,
        case_id=case_id,
    )
