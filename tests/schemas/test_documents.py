"""The document contract: required contents named with their rule, strict wire form, canonical
bytes (RFC 8785) and the verification URL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas.documents import (
    MODELS,
    DocType,
    DocumentIncomplete,
    OnSpotDecision,
    PenaltyDecision,
    canonical_bytes,
    check_issuable,
    document_sha256,
    hash_verification_url,
    parse_document,
    parse_verification_path,
    verification_url,
)
from schemas.documents.common import (
    Officer,
    PartyKind,
    Payment,
    PenaltyKind,
    PenaltyTerms,
    Receipt,
    ReceiptStatus,
    Subject,
    yuan,
)
from tests.factories.documents import PARTY, SUBJECT, VERIFY_BASE, sample

T = datetime(2026, 11, 26, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize("doc_type", list(DocType))
def test_every_sample_is_complete_and_round_trips(doc_type: DocType) -> None:
    doc = sample(doc_type)
    assert doc.missing() == []
    check_issuable(doc)
    again = parse_document(doc.model_dump_json())
    assert again == doc
    assert type(again) is MODELS[doc_type]
    assert document_sha256(again) == document_sha256(doc)


def test_an_empty_on_the_spot_decision_names_every_art_52_item() -> None:
    draft = OnSpotDecision(number="深福执当罚〔2026〕第000124号", subject=SUBJECT, issued_at=T)
    with pytest.raises(DocumentIncomplete) as info:
        check_issuable(draft)
    missing = info.value.missing
    assert missing == [
        "Art. 52: the party is missing",
        "Art. 52: the illegal act is missing",
        "Art. 52: the time of the act is missing",
        "Art. 52: the place of the act is missing",
        "Art. 52: the provision violated is missing",
        "Art. 52: the legal basis of the penalty is missing",
        "Art. 52: the penalty is missing",
        "Art. 52: how to seek 复议/诉讼 and within what period is missing",
        "Art. 52 (Art. 42): at least two officers must sign, 0 given",
        "Art. 52: the party's signature, or the note of their refusal, is missing",
    ]
    assert "当场行政处罚决定书 深福执当罚〔2026〕第000124号 cannot be issued" in str(info.value)
    assert info.value.doc_type is DocType.ON_SPOT_DECISION


def test_officers_need_certificates_and_a_refusal_needs_its_note() -> None:
    doc = sample(
        DocType.ON_SPOT_DECISION,
        officers=[Officer(name="李明", certificate_no="44030500365"), Officer(name="赵四")],
        receipt=Receipt(status=ReceiptStatus.REFUSED),
    )
    assert doc.missing() == [
        "Art. 52 (Art. 42): officer 赵四 has no enforcement certificate number",
        "Art. 52: the party refused to sign but the refusal is not noted",
    ]
    noted = sample(
        DocType.ON_SPOT_DECISION,
        receipt=Receipt(
            status=ReceiptStatus.REFUSED, note="当事人拒绝签名，已录像。", witness="赵六"
        ),
    )
    assert noted.missing() == []


def test_a_fine_without_its_amount_or_payment_is_named() -> None:
    doc = sample(
        DocType.ON_SPOT_DECISION, penalty=PenaltyTerms(kinds=[PenaltyKind.FINE]), payment=None
    )
    assert doc.missing() == ["Art. 52: the amount of the fine is missing"]
    doc = sample(DocType.ON_SPOT_DECISION, payment=None)
    assert doc.missing() == ["Art. 67: how and within what period the fine is paid is missing"]


def test_an_on_the_spot_decision_stays_within_art_51() -> None:
    fine = PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(201))
    assert sample(DocType.ON_SPOT_DECISION, penalty=fine).missing() == [
        "Art. 51: a fine above 200 yuan for a citizen takes the ordinary procedure"
    ]
    firm = PARTY.model_copy(update={"kind": PartyKind.ORGANISATION})
    assert sample(DocType.ON_SPOT_DECISION, penalty=fine, party=firm).missing() == []
    closure = PenaltyTerms(kinds=[PenaltyKind.SUSPEND_BUSINESS])
    assert sample(DocType.ON_SPOT_DECISION, penalty=closure, payment=None).missing() == [
        "Art. 51: on the spot only a warning or a fine may be decided"
    ]


def test_a_decision_names_every_art_59_item_and_the_seal() -> None:
    unsealed = Subject(code="x", name="深圳市福田区城市管理和综合执法局")
    draft = PenaltyDecision(number="深福执罚〔2026〕第000125号", subject=unsealed, issued_at=T)
    assert draft.missing() == [
        "Art. 59: the party is missing",
        "Art. 59: the facts of the violation are missing",
        "Art. 59: the evidence is missing",
        "Art. 59: the law or rule violated is missing",
        "Art. 59: the legal basis of the penalty is missing",
        "Art. 59: the penalty is missing",
        "Art. 59: how to seek 复议/诉讼 and within what period is missing",
        "Art. 59: the date of the decision is missing",
        "Art. 59: the agency's seal is missing (subject has no seal_name)",
    ]
    short = sample(DocType.PENALTY_DECISION, payment=Payment(within_days=10))
    assert short.missing() == ["Art. 67: the party has 15 days to pay, not 10"]
    suspended = sample(
        DocType.PENALTY_DECISION,
        penalty=PenaltyTerms(kinds=[PenaltyKind.SUSPEND_BUSINESS]),
        payment=None,
    )
    assert suspended.missing() == ["Art. 59: how and when the penalty is performed is missing"]


@pytest.mark.parametrize(
    ("doc_type", "field", "expected"),
    [
        (DocType.RECTIFICATION_NOTICE, "requirement", "Art. 28: what must be corrected is missing"),
        (DocType.INSPECTION_RECORD, "findings", "Art. 55: what was found is missing"),
        (DocType.INQUIRY_RECORD, "qa", "Art. 55: the record holds no question and answer"),
        (
            DocType.SERVICE_RECEIPT,
            "served_at",
            "民事诉讼法 Art. 87: the time of service is missing",
        ),
        (
            DocType.PRESERVATION_NOTICE,
            "approved_by",
            "Art. 56: the approval of the agency's head is missing",
        ),
        (DocType.FILING_APPROVAL, "approvals", "Art. 54: no approval is recorded"),
        (DocType.PRE_PENALTY_NOTICE, "proposed", "Art. 44: the proposed penalty is missing"),
        (DocType.CLOSING_APPROVAL, "execution", "结案: how the decision was executed is missing"),
        (DocType.WITHDRAWAL_APPROVAL, "reason", "撤案: the reason for withdrawal is missing"),
    ],
)
def test_each_type_names_what_it_lacks(doc_type: DocType, field: str, expected: str) -> None:
    empty: object = [] if isinstance(getattr(sample(doc_type), field), list) else None
    assert sample(doc_type, **{field: empty}).missing() == [expected]


def test_electronic_service_needs_the_address_confirmation() -> None:
    from schemas.documents.scene import ServiceMethod

    doc = sample(DocType.SERVICE_RECEIPT, method=ServiceMethod.ELECTRONIC)
    assert doc.missing() == ["Art. 61: electronic service needs the party's signed 送达地址确认书"]
    assert (
        sample(
            DocType.SERVICE_RECEIPT, method=ServiceMethod.ELECTRONIC, address_confirmed=True
        ).missing()
        == []
    )


# --- wire form ---------------------------------------------------------------------------------


def test_the_wire_form_is_strict() -> None:
    raw = json.loads(sample(DocType.ON_SPOT_DECISION).model_dump_json())
    assert raw["penalty"]["fine"] == "200"  # a decimal string, never a float
    with pytest.raises(ValidationError, match="extra"):
        parse_document(json.dumps({**raw, "colour": "red"}))
    with pytest.raises(ValidationError, match="doc_type"):
        parse_document(json.dumps({**raw, "doc_type": "parking_ticket"}))
    with pytest.raises(ValidationError, match="number"):
        parse_document(json.dumps({**raw, "number": "a/b"}))  # '/' would break the URL path
    with pytest.raises(ValidationError, match="name"):
        parse_document(json.dumps({**raw, "party": {**raw["party"], "name": "张\u001b三"}}))
    with pytest.raises(ValidationError, match="issued_at"):
        parse_document(json.dumps({**raw, "issued_at": "2026-11-26T14:05:00"}))  # no offset


def test_yuan_never_rounds() -> None:
    assert yuan(Decimal("200")) == "人民币200元"
    assert yuan(Decimal("2500.5")) == "人民币2500.50元"
    assert yuan(Decimal("1E+3")) == "人民币1000元"


# --- canonical bytes ---------------------------------------------------------------------------


def test_canonical_bytes_are_rfc_8785() -> None:
    doc = sample(DocType.PENALTY_DECISION)
    data = doc.model_dump(mode="json")
    # Without floats, JCS is sorted keys, no whitespace, UTF-8 strings (RFC 8785 §3.2).
    expected = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(doc) == expected.encode("utf-8")
    assert document_sha256(doc) == hashlib.sha256(expected.encode()).hexdigest()


def test_the_hash_covers_every_field() -> None:
    doc = sample(DocType.ON_SPOT_DECISION)
    changed = sample(
        DocType.ON_SPOT_DECISION, penalty=PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(150))
    )
    assert document_sha256(doc) != document_sha256(changed)
    signed_later = sample(DocType.ON_SPOT_DECISION, receipt=Receipt(status=ReceiptStatus.PENDING))
    assert document_sha256(doc) != document_sha256(signed_later)


# --- verification URL --------------------------------------------------------------------------


def test_the_verification_url_round_trips() -> None:
    number = "深福执当罚〔2026〕第000123号"
    url = verification_url(VERIFY_BASE + "/", DocType.ON_SPOT_DECISION, number)
    assert url.startswith("https://enforce.example.com/verify/on_spot_decision/%E6%B7%B1")
    assert url.isascii()
    path = url.removeprefix(VERIFY_BASE)
    assert parse_verification_path(path) == (DocType.ON_SPOT_DECISION, number)
    digest = document_sha256(sample(DocType.ON_SPOT_DECISION))
    by_hash = hash_verification_url(VERIFY_BASE, digest)
    assert parse_verification_path(by_hash.removeprefix(VERIFY_BASE)) == digest


@pytest.mark.parametrize(
    "path", ["/verify", "/verify/nope/1", "/verify/on_spot_decision/", "/other/x/y", "/verify/ABC"]
)
def test_other_paths_are_not_verification_paths(path: str) -> None:
    with pytest.raises(ValueError):
        parse_verification_path(path)


@pytest.mark.parametrize("base", ["ftp://hub", "hub.example", "https://hub.example/?a=1"])
def test_a_bad_base_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="http"):
        verification_url(base, DocType.SERVICE_RECEIPT, "1")


# --- the print command -------------------------------------------------------------------------


def test_a_print_command_with_a_document_is_the_document_variant() -> None:
    from schemas.messages import (
        COMMAND_ARG_MODELS,
        Command,
        PrintArgs,
        PrintDocumentArgs,
        parse_command_args,
    )

    doc = sample(DocType.SERVICE_RECEIPT)
    args = PrintDocumentArgs(job_id="j-1", document=doc, verify_base=VERIFY_BASE, copies=2)
    wire = args.model_dump(mode="json", exclude_none=True)
    command = Command(v=1, cmd_id="print-1", ts=T, cmd="print", args=wire)
    parsed = parse_command_args(command)
    assert parsed == args
    assert isinstance(parsed, PrintDocumentArgs)
    assert document_sha256(parsed.document) == document_sha256(doc)
    assert COMMAND_ARG_MODELS["print"] == (PrintArgs, PrintDocumentArgs)
    with pytest.raises(ValueError, match="verify_base"):
        parse_command_args(command.model_copy(update={"args": {**wire, "verify_base": "x"}}))
