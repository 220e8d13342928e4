"""Documents of a case: building the model of a modelled type from a case and the contents a
command carried, issuing it through ``prepare()``, and recording the acts that have no model.

The lifecycle says *which* document an event issues (``IssueDocument``); the officer supplies
what only a person can write (facts, questions and answers, the legal basis, remedies) as the
command's ``document``; the store fills in what the hub knows — number, legal subject and team,
issue time, case number, the party, the officers with their certificates, and for approval
forms the chain's signatures — and ``prepare()`` refuses (422, each missing item named) what
the law requires and is still missing. A document type without a model (查封决定书, 调查终结报告
...), or a modelled one issued without contents, is stored as the canonical record of the act
(``modelled`` false): its hash is what the log carries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import rfc8785
from pydantic import ValidationError

from hub.documents.issue import prepare
from hub.domain.cases.effects import DocumentType
from hub.domain.cases.law import LegalSubject, Officer
from hub.domain.errors import Invalid
from schemas.documents import MODELS, DocType
from schemas.documents.common import Officer as DocOfficer
from schemas.documents.common import Party, PartyKind, Subject

# prepare() needs an origin to compute the QR's URL; what is stored (the canonical bytes and
# their hash) does not contain it, so the printed QR's origin is the renderer's to choose.
VERIFY_BASE = "https://enforcement-hub.local"

# The lifecycle's document types that have a model in ``schemas.documents``.
MODELLED: dict[DocumentType, DocType] = {
    DocumentType.FILING_APPROVAL: DocType.FILING_APPROVAL,
    DocumentType.INQUIRY_RECORD: DocType.INQUIRY_RECORD,
    DocumentType.INSPECTION_RECORD: DocType.INSPECTION_RECORD,
    DocumentType.ORDER_TO_CORRECT: DocType.RECTIFICATION_NOTICE,
    DocumentType.PRESERVATION_NOTICE: DocType.PRESERVATION_NOTICE,
    DocumentType.PRIOR_NOTICE: DocType.PRE_PENALTY_NOTICE,
    DocumentType.DECISION: DocType.PENALTY_DECISION,
    DocumentType.DELIVERY_RECEIPT: DocType.SERVICE_RECEIPT,
    DocumentType.CLOSING_APPROVAL: DocType.CLOSING_APPROVAL,
    DocumentType.WITHDRAWAL_APPROVAL: DocType.WITHDRAWAL_APPROVAL,
    DocumentType.ON_SPOT_DECISION: DocType.ON_SPOT_DECISION,
}

# Which command's ``document`` holds the contents of a modelled type. Records (笔录, notices,
# receipts) are issued by the command itself: their hash becomes the command's; approval forms
# and the decision are issued when the chain completes, from the request's contents.
CONTENTS_OF: dict[str, DocType] = {
    "request_filing": DocType.FILING_APPROVAL,
    "request_withdrawal": DocType.WITHDRAWAL_APPROVAL,
    "request_closing": DocType.CLOSING_APPROVAL,
    "request_decision": DocType.PENALTY_DECISION,
    "request_preservation": DocType.PRESERVATION_NOTICE,
    "record_inquiry": DocType.INQUIRY_RECORD,
    "record_inspection": DocType.INSPECTION_RECORD,
    "issue_order": DocType.RECTIFICATION_NOTICE,
    "issue_notice": DocType.PRE_PENALTY_NOTICE,
    "deliver_notice": DocType.SERVICE_RECEIPT,
    "record_delivery": DocType.SERVICE_RECEIPT,
}
IMMEDIATE = frozenset(
    {
        "record_inquiry",
        "record_inspection",
        "issue_order",
        "issue_notice",
        "deliver_notice",
        "record_delivery",
    }
)


@dataclass(frozen=True)
class Built:
    doc_type: str
    number: str
    canonical: bytes
    sha256: str
    modelled: bool


def doc_officer(o: Officer) -> DocOfficer:
    return DocOfficer(name=o.name, certificate_no=o.certificate_no)


def subject_of(s: LegalSubject, team_name: str | None) -> Subject:
    return Subject(code=s.code, name=s.name, seal_name=s.seal_name or None, team_name=team_name)


def party_of(row: dict[str, Any]) -> Party:
    id_type = {"id_card": "居民身份证", "passport": "护照"}.get(row.get("id_type") or "")
    if row.get("credit_code"):
        id_type, id_number = "统一社会信用代码", row["credit_code"]
    else:
        id_number = row.get("id_number")
        if id_number and id_type is None:
            id_type = "证件号码"
    return Party(
        kind=PartyKind(row["party_type"]),
        name=row["name"],
        id_type=id_type,
        id_number=id_number,
        address=row.get("address"),
        phone=row.get("phone"),
        representative=row.get("legal_representative"),
    )


def build_model(
    doc_type: DocType,
    contents: dict[str, Any],
    *,
    number: str,
    subject: Subject,
    issued_at: datetime,
    case_number: str | None,
    party: Party | None,
    officers: list[DocOfficer],
    approvals: list[dict[str, Any]] | None = None,
) -> Built:
    """The model of ``doc_type`` completed from the case, checked and issued by ``prepare``."""
    model = MODELS[doc_type]
    fields = {k: v for k, v in contents.items() if k != "doc_type"}
    fields.update(
        doc_type=doc_type.value,
        number=number,
        subject=subject.model_dump(mode="json"),
        issued_at=issued_at,
        case_number=case_number,
    )
    known = model.model_fields
    if "party" in known and "party" not in fields and party is not None:
        fields["party"] = party.model_dump(mode="json")
    for key in ("officers", "handlers"):
        if key in known and key not in fields:
            fields[key] = [o.model_dump(mode="json") for o in officers]
    if "approvals" in known and "approvals" not in fields and approvals is not None:
        fields["approvals"] = approvals
    if "approved_by" in known and "approved_by" not in fields and approvals:
        # a notice that states its approval (先行登记保存, Art. 56): the chain's last signer
        fields["approved_by"] = approvals[-1]["name"]
        fields["approved_at"] = approvals[-1]["at"]
    try:
        # strict models: through JSON, as a terminal or the API would send them
        doc = model.model_validate_json(json.dumps(fields, default=_json))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise Invalid(
            f"the {doc_type.heading} contents are not valid: " + "; ".join(problems[:5]),
            problems=problems,
        ) from exc
    issued = prepare(doc, VERIFY_BASE)
    return Built(doc_type.value, number, issued.canonical, issued.sha256, True)


def _json(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def act_record(
    doc_type: DocumentType,
    *,
    number: str,
    case_id: str,
    ref: str,
    seq: int,
    issued_at: datetime,
    payload_sha256: str,
) -> Built:
    """A document the hub has no model for: the canonical record of the act that issued it."""
    body = {
        "v": 1,
        "doc_type": doc_type.value,
        "number": number,
        "case_id": case_id,
        "ref": ref,
        "seq": seq,
        "issued_at": issued_at.isoformat(),
        "payload_hash": payload_sha256,
    }
    raw = rfc8785.dumps(body)
    return Built(doc_type.value, number, raw, hashlib.sha256(raw).hexdigest(), False)


def number_for(doc_type: str, case_number: str | None, case_id: str, k: int) -> str:
    """A document's number: the case's number (or id before 立案), the type and a counter."""
    base = case_number or case_id
    return f"{base}-{doc_type}-{k}"
