"""Entries (RFC 8785, no personal data) and checkpoints (C2SP signed note, Ed25519), pure.

The signed-note vector is the example of c2sp.org/signed-note (github.com/C2SP/C2SP
signed-note.md, commit 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9): a verifier key and a note it
signed.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.errors import Invalid
from hub.transparency import checkpoint, entries
from hub.transparency.checkpoint import Checkpoint, CheckpointError, Signer

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRK"
    "uwHjG1Yu72IneyaQM=\n"
)
AT = datetime(2026, 12, 1, 16, 30, 5, tzinfo=timezone(timedelta(hours=8)))
H = hashlib.sha256(b"pdf").hexdigest()
SIGNER = Signer.from_seed("example.org/log", base64.b64encode(b"\x07" * 32).decode())


# ------------------------------------------------------------------------- entries ------
def test_builders_make_canonical_entries_with_utc_times() -> None:
    e = entries.document_issued(
        case_id="c-17",
        document_id="d-3",
        document_type="penalty_decision",
        number="深罗城罚〔2026〕12号",
        hash=H,
        at=AT,
    )
    blob = entries.canonical(e)
    assert blob == rfc8785.dumps(e)
    assert blob.startswith(b'{"at":"2026-12-01T08:30:05.000000Z","case_id":"c-17"')
    assert e["kind"] == "document_issued" and e["v"] == 1


def test_every_kind_has_a_builder_that_passes_its_own_check() -> None:
    made = [
        entries.transition(
            case_id="c-1",
            case_number=None,
            from_state=None,
            to_state="clue",
            act="register_clue",
            actor_ids=["s-2", "s-1"],
            at=AT,
            event_id="e-1",
        ),
        entries.approval(
            case_id="c-1", approval_id="a-1", step=1, decision="approved", approver_id="s-9", at=AT
        ),
        entries.document_issued(
            case_id="c-1", document_id="d-1", document_type="notice", number="N-1", hash=H, at=AT
        ),
        entries.evidence_added(
            case_id="c-1", evidence_id="ev-1", evidence_type="photo", hash=H, at=AT
        ),
        entries.number_voided(
            number="深罗城罚〔2026〕13号",
            legal_subject_id="ls-luohu",
            reason_code="misprint",
            voided_by="s-1",
            at=AT,
        ),
    ]
    assert {e["kind"] for e in made} == {k.value for k in entries.EntryKind}
    assert made[0]["actor_ids"] == ["s-1", "s-2"]
    for e in made:
        entries.canonical(e)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"reason": "当事人拒不配合"}, "free text or personal data"),
        ({"party_name": "Zhang San"}, "free text"),
        ({"hash": "ABC"}, "lowercase hex SHA-256"),
        ({"pdf_hash": H.upper()}, "lowercase hex SHA-256"),
        ({"kind": "note"}, "kind must be one of"),
        ({"v": 2}, '"v": 1'),
        ({"Case": "x"}, "snake_case"),
        ({"ratio": 0.5}, "not an identifier"),
        ({"number": "深罗 城罚"}, "free text"),
        ({"meta": {"a": 1}}, "not an identifier"),
    ],
)
def test_entries_that_could_carry_personal_data_are_refused(
    change: dict[str, object], words: str
) -> None:
    e = {**entries.evidence_added(case_id="c", evidence_id="e", evidence_type="t", hash=H, at=AT)}
    e.update(change)
    with pytest.raises(Invalid, match=words):
        entries.canonical(e)


def test_naive_times_and_bad_decisions_are_refused() -> None:
    with pytest.raises(Invalid, match="timezone-aware"):
        entries.evidence_added(
            case_id="c", evidence_id="e", evidence_type="t", hash=H, at=datetime(2026, 1, 1)
        )
    with pytest.raises(Invalid, match="approved or rejected"):
        entries.approval(
            case_id="c", approval_id="a", step=1, decision="maybe", approver_id="s", at=AT
        )


def test_oversized_entries_are_refused() -> None:
    e = entries.transition(
        case_id="c",
        case_number=None,
        from_state="a",
        to_state="b",
        act="x",
        actor_ids=[f"staff-{i:06d}" for i in range(400)],
        at=AT,
        event_id="e",
    )
    with pytest.raises(Invalid, match="at most 4096 bytes"):
        entries.canonical(e)


# ---------------------------------------------------------------------- checkpoints ------
def test_the_c2sp_signed_note_example_verifies() -> None:
    name, kid, material = C2SP_VKEY.split("+")
    raw = base64.b64decode(material)
    assert raw[0] == 1  # Ed25519
    assert checkpoint.key_id(name, raw[1:]).hex() == kid
    assert checkpoint.vkey(name, raw[1:]) == C2SP_VKEY
    assert checkpoint.verify_note(C2SP_NOTE, name, raw[1:]) == "This is an example message.\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        checkpoint.verify_note(C2SP_NOTE.replace("example", "exampel", 1), name, raw[1:])


def test_a_signed_checkpoint_has_the_tlog_checkpoint_shape_and_verifies() -> None:
    root = hashlib.sha256(b"root").digest()
    note = SIGNER.sign(Checkpoint("example.org/log", 20852163, root))
    lines = note.split("\n")
    assert lines[:4] == ["example.org/log", "20852163", base64.b64encode(root).decode(), ""]
    assert lines[4].startswith("— example.org/log ") and lines[5] == ""
    sig = base64.b64decode(lines[4].split(" ")[2])
    assert sig[:4] == checkpoint.key_id("example.org/log", SIGNER.public_key) and len(sig) == 68
    cp = checkpoint.verify(note, "example.org/log", SIGNER.public_key)
    assert (cp.origin, cp.size, cp.root) == ("example.org/log", 20852163, root)


def test_tampered_or_foreign_checkpoints_are_rejected() -> None:
    root = hashlib.sha256(b"root").digest()
    note = SIGNER.sign(Checkpoint("example.org/log", 5, root))
    pub = SIGNER.public_key
    with pytest.raises(CheckpointError, match="does not verify"):
        checkpoint.verify(note.replace("\n5\n", "\n6\n"), "example.org/log", pub)
    other = Signer.from_seed("example.org/log", base64.b64encode(b"\x08" * 32).decode())
    with pytest.raises(CheckpointError, match="no signature by"):
        checkpoint.verify(note, "example.org/log", other.public_key)
    # A witness's cosignature from an unknown key is ignored, not an error.
    cosigned = note + "— witness.example/w " + base64.b64encode(b"\1\2\3\4" + b"s" * 64).decode()
    assert checkpoint.verify(cosigned + "\n", "example.org/log", pub).size == 5
    for bad in [
        "example.org/log\n5\n" + base64.b64encode(root).decode() + "\n",  # unsigned
        note.replace("\n5\n", "\n05\n"),  # leading zero
        note.replace("— ", "- "),  # not an em dash
        note.replace("\n", "\r\n"),  # control characters
    ]:
        with pytest.raises(CheckpointError):
            checkpoint.verify(bad, "example.org/log", pub)
    with pytest.raises(CheckpointError, match="is not the key name"):
        SIGNER.sign(Checkpoint("another/log", 1, root))
    with pytest.raises(CheckpointError, match="32 bytes"):
        Signer.from_seed("x", base64.b64encode(b"short").decode())


@given(st.integers(0, 2**63), st.binary(min_size=32, max_size=32))
def test_sign_then_verify_round_trips(size: int, root: bytes) -> None:
    note = SIGNER.sign(Checkpoint("example.org/log", size, root))
    cp = checkpoint.verify(note, "example.org/log", SIGNER.public_key)
    assert (cp.size, cp.root) == (size, root)


def test_times_are_utc() -> None:
    e = entries.evidence_added(
        case_id="c", evidence_id="e", evidence_type="t", hash=H, at=AT.astimezone(UTC)
    )
    assert e["at"] == "2026-12-01T08:30:05.000000Z"


def test_a_mapping_built_by_the_case_services_is_accepted_as_is() -> None:
    """The case lifecycle's LogEntry (hub/domain/cases/effects.py) as a mapping: an ISO time
    with its offset, tuples of references, a document number with its Chinese prefix."""
    e = {
        "v": 1,
        "kind": "approval",
        "at": "2026-12-01T16:30:05+08:00",
        "case_id": "c-17",
        "seq": 4,
        "event": "approve",
        "state_from": "filing_requested",
        "state_to": "filed",
        "approver_ids": ("s-9", "s-10"),
        "number": "深罗城立〔2026〕7号",
        "reason_hash": H,
    }
    assert entries.canonical(e) == rfc8785.dumps({**e, "approver_ids": ["s-9", "s-10"]})
