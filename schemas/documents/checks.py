"""Required contents, checked before a document is issued (Art. 52 for the on-the-spot
decision, Art. 59 for the decision, Art. 44, 54-56 and the service rules for the others).

Error tree::

    ValueError
    └── DocumentIncomplete   (.doc_type, .number, .missing: every item, each with its rule)

The case services call ``check_issuable`` in the transaction that issues a document and map
``DocumentIncomplete`` to a 422 problem whose detail lists ``missing``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.documents.base import DocumentBase


class DocumentIncomplete(ValueError):
    """A document lacks contents the law requires; ``missing`` names each one."""

    def __init__(self, doc: DocumentBase, missing: list[str]) -> None:
        self.doc_type = doc.type
        self.number = doc.number
        self.missing = missing
        super().__init__(f"{doc.type.heading} {doc.number} cannot be issued: " + "; ".join(missing))


def missing_contents(doc: DocumentBase) -> list[str]:
    """Every required content ``doc`` lacks (empty when it may be issued)."""
    return doc.missing()


def check_issuable(doc: DocumentBase) -> None:
    """Raise ``DocumentIncomplete`` unless ``doc`` holds everything its rules require."""
    if missing := doc.missing():
        raise DocumentIncomplete(doc, missing)
