"""A document's canonical bytes, its SHA-256, and the verification URL printed in its QR code.

Canonical bytes (what the transparency log's "document issued" entry hashes, CASES.md §8):
the document model as JSON (``model_dump(mode="json")``: every field, defaults included,
amounts as decimal strings, times as RFC 3339 with their offset) serialised by the JSON
Canonicalization Scheme, RFC 8785 (sorted keys, no whitespace, UTF-8, ECMAScript numbers).

Why the JSON and not the PDF: PDF bytes depend on WeasyPrint's version, the fonts installed,
the creation time it stamps and the subset of glyphs embedded, so a verifier (or the hub on
another day) could not reproduce them; the party's copy is thermal paper with no PDF at all.
The model is what both renderings are made from, and RFC 8785 has independent implementations
in many languages: a verifier that holds the document's JSON (the hub serves it on the verify
page) recomputes ``SHA-256(JCS(document))`` and compares it with the logged leaf. The model has
no floats, so JCS's number rules never come into play.

Verification URL (the page itself is the hub's, built with the verify page):

- ``{base}/verify/{doc_type}/{number}`` — what the QR code carries. ``doc_type`` is the
  ``DocType`` value (``on_spot_decision``...), ``number`` the printed number percent-encoded as
  UTF-8 (RFC 3986, every reserved character encoded). It is known before the document is
  printed, even offline on a terminal with a pre-allocated number block (Art. 52 "编有号码"),
  and it stays the same when the party's signature or refusal is added after printing.
- ``{base}/verify/{sha256}`` — the same page looked up by the document's hash (64 lowercase
  hex digits), for a verifier that holds the JSON.

The page shows the document type and number, the case number, the legal subject, the issue
time, the SHA-256 and its inclusion proof in the transparency log — never the party's data.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

import rfc8785

from schemas.documents.common import DocType

if TYPE_CHECKING:
    from schemas.documents.base import DocumentBase

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def canonical_bytes(doc: DocumentBase) -> bytes:
    """RFC 8785 (JCS) serialisation of the document's JSON."""
    return rfc8785.dumps(doc.model_dump(mode="json"))


def document_sha256(doc: DocumentBase) -> str:
    """Lowercase hex SHA-256 of ``canonical_bytes(doc)``: what the transparency log records."""
    return hashlib.sha256(canonical_bytes(doc)).hexdigest()


def verification_url(base: str, doc_type: DocType, number: str) -> str:
    """``{base}/verify/{doc_type}/{number}``; ``base`` is the hub's public http(s) origin."""
    url = urlsplit(base)
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        raise ValueError(f"the verification base must be an http(s) URL without query: {base!r}")
    return f"{base.rstrip('/')}/verify/{doc_type.value}/{quote(number, safe='')}"


def hash_verification_url(base: str, sha256: str) -> str:
    """``{base}/verify/{sha256}``."""
    if not _SHA256.match(sha256):
        raise ValueError("a document hash is 64 lowercase hex digits")
    return f"{base.rstrip('/')}/verify/{sha256}"


def parse_verification_path(path: str) -> tuple[DocType, str] | str:
    """``/verify/{doc_type}/{number}`` -> (type, number); ``/verify/{sha256}`` -> the hash.

    ``ValueError`` for anything else (the verify page answers it with a 404 problem).
    """
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "verify" and _SHA256.match(parts[1]):
        return parts[1]
    if len(parts) == 3 and parts[0] == "verify":
        try:
            doc_type = DocType(parts[1])
        except ValueError:
            raise ValueError(f"unknown document type {parts[1]!r}") from None
        number = unquote(parts[2], errors="strict")
        if not number:
            raise ValueError("the document number is empty")
        return doc_type, number
    raise ValueError(f"not a verification path: {path!r}")
