"""Enforcement documents as contract: one model per type, its layout, its required contents,
its canonical bytes and verification URL (CASES.md §7). The hub renders them as A4 PDF
(``hub.documents``), the terminal as 58/80 mm ESC/POS (``device_drivers.bt_printer.document``).
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field, TypeAdapter

from schemas.documents.base import DocumentBase
from schemas.documents.canonical import (
    canonical_bytes,
    document_sha256,
    hash_verification_url,
    parse_verification_path,
    verification_url,
)
from schemas.documents.checks import DocumentIncomplete, check_issuable, missing_contents
from schemas.documents.common import TITLES, DocType
from schemas.documents.layout import Block
from schemas.documents.office import (
    ClosingApproval,
    FilingApproval,
    PenaltyDecision,
    PrePenaltyNotice,
    WithdrawalApproval,
)
from schemas.documents.scene import (
    InquiryRecord,
    InspectionRecord,
    OnSpotDecision,
    PreservationNotice,
    RectificationNotice,
    ServiceReceipt,
)

Document = Annotated[
    Union[  # noqa: UP007 (a discriminated union needs the Union form inside Annotated)
        OnSpotDecision,
        RectificationNotice,
        InspectionRecord,
        InquiryRecord,
        ServiceReceipt,
        PreservationNotice,
        FilingApproval,
        PrePenaltyNotice,
        PenaltyDecision,
        ClosingApproval,
        WithdrawalApproval,
    ],
    Field(discriminator="doc_type"),
]
DOCUMENT_ADAPTER: TypeAdapter[Document] = TypeAdapter(Document)
MODELS: dict[DocType, type[DocumentBase]] = {
    m.TYPE: m
    for m in (
        OnSpotDecision,
        RectificationNotice,
        InspectionRecord,
        InquiryRecord,
        ServiceReceipt,
        PreservationNotice,
        FilingApproval,
        PrePenaltyNotice,
        PenaltyDecision,
        ClosingApproval,
        WithdrawalApproval,
    )
}


def parse_document(raw: bytes | str) -> DocumentBase:
    """A document from its JSON (``pydantic.ValidationError`` naming the bad field)."""
    doc: DocumentBase = DOCUMENT_ADAPTER.validate_json(raw)
    return doc


def document_blocks(doc: DocumentBase, verify_base: str) -> list[Block]:
    """The blocks of ``doc`` with its QR pointing at ``{verify_base}/verify/{type}/{number}``."""
    return doc.blocks(verification_url(verify_base, doc.type, doc.number))


__all__ = [
    "DOCUMENT_ADAPTER",
    "MODELS",
    "TITLES",
    "Block",
    "ClosingApproval",
    "DocType",
    "Document",
    "DocumentBase",
    "DocumentIncomplete",
    "FilingApproval",
    "InquiryRecord",
    "InspectionRecord",
    "OnSpotDecision",
    "PenaltyDecision",
    "PrePenaltyNotice",
    "PreservationNotice",
    "RectificationNotice",
    "ServiceReceipt",
    "WithdrawalApproval",
    "canonical_bytes",
    "check_issuable",
    "document_blocks",
    "document_sha256",
    "hash_verification_url",
    "missing_contents",
    "parse_document",
    "parse_verification_path",
    "verification_url",
]
