"""Issuing a document: the one step the case services call, in the transaction that records
the issue (CASES.md §7, §8).

``prepare(doc, verify_base)`` checks the contents the law requires (``Invalid``, 422, with every
missing item in ``missing``), and returns what the service stores and logs: the canonical bytes
(keep them exactly: a verifier rehashes them), their SHA-256, the verification URL the QR
carries, and the transparency-log fields of the issue, which hold identifiers and the hash but
never the party's personal data (issue 10 §8). Pure: no database, no clock, no rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.domain.errors import Invalid
from schemas.documents import (
    DocumentBase,
    canonical_bytes,
    document_sha256,
    missing_contents,
    verification_url,
)


@dataclass(frozen=True)
class IssuedDocument:
    doc: DocumentBase
    canonical: bytes  # RFC 8785 JSON of the model: what is stored and hashed
    sha256: str
    verify_url: str

    def log_fields(self) -> dict[str, Any]:
        """The "document issued" entry's fields: identifiers and the hash only."""
        return {
            "doc_type": self.doc.type.value,
            "number": self.doc.number,
            "case_number": self.doc.case_number,
            "subject": self.doc.subject.code,
            "issued_at": self.doc.issued_at.isoformat(),
            "sha256": self.sha256,
        }


def prepare(doc: DocumentBase, verify_base: str) -> IssuedDocument:
    """The issued form of ``doc``, or ``Invalid`` naming each required content it lacks."""
    if missing := missing_contents(doc):
        raise Invalid(
            f"{doc.type.heading} {doc.number} cannot be issued: " + "; ".join(missing),
            missing=missing,
        )
    try:
        url = verification_url(verify_base, doc.type, doc.number)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return IssuedDocument(doc, canonical_bytes(doc), document_sha256(doc), url)
