"""The verify page's verdict, link by link, on a real Merkle tree and a real signed checkpoint
(no database: ``judge`` is pure)."""

from __future__ import annotations

import base64
import hashlib

from hub.services.cases.verification import Broken, Evidence, Status, facts_of, judge
from hub.transparency import entries, merkle
from hub.transparency.checkpoint import Checkpoint, Signer
from schemas.documents import DocType, canonical_bytes, document_sha256
from tests.factories.documents import sample

ORIGIN = "test.example/log"
SIGNER = Signer.from_seed(ORIGIN, base64.b64encode(bytes(range(32))).decode())


def _setup(size: int = 7, index: int = 4, doc_type: DocType = DocType.PENALTY_DECISION):
    doc = sample(doc_type)
    body = canonical_bytes(doc)
    sha = document_sha256(doc)
    leaf = entries.canonical(
        entries.document_issued(
            case_id="case-1", document_id="doc-1", document_type=doc.type.value,
            number=doc.number, hash=sha, at=doc.issued_at,
        )
    )  # fmt: skip
    others = [f"leaf {i}".encode() for i in range(size)]
    others[index] = leaf
    hashes = [merkle.leaf_hash(b) for b in others]
    note = SIGNER.sign(Checkpoint(ORIGIN, size, merkle.root(hashes)))
    proof = merkle.inclusion_proof(index, hashes)
    facts = facts_of(doc.type.value, doc.number, body, sha)
    return facts, Evidence(body, sha, index, leaf, note, proof)


def test_a_logged_document_under_a_signed_checkpoint_is_verified() -> None:
    facts, ev = _setup()
    v = judge(facts, ev, origin=ORIGIN, public_key=SIGNER.public_key)
    assert (v.status, v.broken, v.tree_size) == (Status.VERIFIED, None, 7)
    assert v.leaf_hash == merkle.leaf_hash(ev.leaf or b"")


def test_the_public_facts_carry_no_party_data() -> None:
    doc = sample(DocType.PENALTY_DECISION)
    facts, _ = _setup()
    assert facts.case_number == doc.case_number and facts.legal_subject == doc.subject.name
    shown = repr(facts)
    party = doc.model_dump(mode="json")["party"]
    for value in (party.get("name"), party.get("id_number"), party.get("phone")):
        if value:
            assert str(value) not in shown


def test_content_that_no_longer_hashes_to_the_record_is_not_verified() -> None:
    facts, ev = _setup()
    tampered = Evidence(ev.canonical.replace(b'"', b"'", 1), *vars_after(ev, "canonical"))
    v = judge(facts, tampered, origin=ORIGIN, public_key=SIGNER.public_key)
    assert (v.status, v.broken) == (Status.NOT_VERIFIED, Broken.CONTENT)


def vars_after(ev: Evidence, name: str) -> list[object]:
    names = ["canonical", "recorded_sha256", "leaf_index", "leaf", "note", "proof"]
    return [getattr(ev, n) for n in names[names.index(name) + 1 :]]


def test_a_leaf_that_names_another_hash_is_not_verified() -> None:
    facts, ev = _setup()
    # The document and its record were rewritten together (a DBA): the leaf still says the old.
    new = ev.canonical + b" "
    new_sha = hashlib.sha256(new).hexdigest()
    v = judge(
        facts, Evidence(new, new_sha, ev.leaf_index, ev.leaf, ev.note, ev.proof),
        origin=ORIGIN, public_key=SIGNER.public_key,
    )  # fmt: skip
    assert (v.status, v.broken) == (Status.NOT_VERIFIED, Broken.LEAF)


def test_a_proof_for_another_position_is_not_verified() -> None:
    facts, ev = _setup(index=4)
    v = judge(
        facts, Evidence(ev.canonical, ev.recorded_sha256, 5, ev.leaf, ev.note, ev.proof),
        origin=ORIGIN, public_key=SIGNER.public_key,
    )  # fmt: skip
    assert (v.status, v.broken) == (Status.NOT_VERIFIED, Broken.PROOF)


def test_a_checkpoint_signed_by_another_key_is_not_verified() -> None:
    facts, ev = _setup()
    other = Signer.from_seed(ORIGIN, base64.b64encode(bytes(32)).decode())
    v = judge(facts, ev, origin=ORIGIN, public_key=other.public_key)
    assert (v.status, v.broken) == (Status.NOT_VERIFIED, Broken.SIGNATURE)


def test_a_leaf_past_the_checkpoint_is_pending_and_none_is_not_logged() -> None:
    facts, ev = _setup(size=5, index=4)
    early = Evidence(ev.canonical, ev.recorded_sha256, 4, ev.leaf, SIGNER.sign(
        Checkpoint(ORIGIN, 4, merkle.root([merkle.leaf_hash(b"x")] * 4))), [])  # fmt: skip
    assert judge(facts, early, origin=ORIGIN, public_key=SIGNER.public_key).status == (
        Status.PENDING
    )
    none = Evidence(ev.canonical, ev.recorded_sha256, None, None, ev.note, [])
    v = judge(facts, none, origin=ORIGIN, public_key=SIGNER.public_key)
    assert (v.status, v.broken) == (Status.NOT_VERIFIED, Broken.NOT_LOGGED)
    assert judge(facts, ev, origin=ORIGIN, public_key=None).broken == Broken.NO_KEY
