"""Issuing a document: required contents refused as a 422 naming each item; what is stored and
logged (canonical bytes, hash, URL, identifiers without personal data)."""

from __future__ import annotations

import hashlib
import json

import pytest

from hub.documents.issue import prepare
from hub.domain.errors import Invalid
from schemas.documents import DocType, OnSpotDecision, parse_document
from tests.factories.documents import PARTY, SUBJECT, VERIFY_BASE, sample


def test_an_incomplete_document_is_a_422_naming_every_missing_item() -> None:
    draft = OnSpotDecision(
        number="深福执当罚〔2026〕第000200号",
        subject=SUBJECT,
        issued_at=sample(DocType.ON_SPOT_DECISION).issued_at,
    )
    with pytest.raises(Invalid) as info:
        prepare(draft, VERIFY_BASE)
    assert info.value.status == 422
    missing = info.value.extra["missing"]
    assert isinstance(missing, list) and len(missing) == 10
    assert "Art. 52: the time of the act is missing" in info.value.detail


def test_an_issued_document_carries_its_bytes_hash_url_and_log_fields() -> None:
    doc = sample(DocType.PENALTY_DECISION)
    issued = prepare(doc, VERIFY_BASE)
    assert hashlib.sha256(issued.canonical).hexdigest() == issued.sha256
    assert parse_document(issued.canonical) == doc  # the stored bytes are the document
    assert issued.verify_url.startswith(f"{VERIFY_BASE}/verify/penalty_decision/")
    fields = issued.log_fields()
    assert fields["sha256"] == issued.sha256 and fields["number"] == doc.number
    text = json.dumps(fields, ensure_ascii=False)
    for personal in (PARTY.name, PARTY.id_number, PARTY.phone, PARTY.address):
        assert personal is not None and personal not in text


def test_a_bad_base_is_a_422() -> None:
    with pytest.raises(Invalid, match="http"):
        prepare(sample(DocType.SERVICE_RECEIPT), "hub.example")


def test_the_document_penalty_kinds_are_the_domains() -> None:
    """schemas cannot import hub, so the wire enum mirrors hub.domain.cases.law: keep in step
    (detention is police-only and never on a street team's document)."""
    from hub.domain.cases.law import SIMPLE_FINE_LIMIT as DOMAIN_LIMIT
    from hub.domain.cases.law import PartyType, PenaltyType
    from schemas.documents.common import PartyKind, PenaltyKind
    from schemas.documents.scene import SIMPLE_FINE_LIMIT

    assert {k.value for k in PenaltyKind} == {t.value for t in PenaltyType} - {"detention"}
    assert {k.value for k in PartyKind} == {t.value for t in PartyType}
    assert {k.value: v for k, v in SIMPLE_FINE_LIMIT.items()} == {
        k.value: v for k, v in DOMAIN_LIMIT.items()
    }
