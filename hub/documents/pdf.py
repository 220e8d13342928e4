"""A4 PDF of an enforcement document: the archive and court copy (CASES.md §7: thermal paper
fades, the archived PDF is the record).

One Jinja2 template walks the document's contract blocks (``schemas.documents.layout``), the
same blocks the terminal prints on a 58/80 mm roll, and WeasyPrint lays it out on A4 with the
CJK font embedded (a subset of WenQuanYi Micro Hei or Noto Sans CJK, whichever fontconfig
finds: ``scripts/test`` and the Dockerfile install Debian's ``fonts-wqy-microhei``), the
verification QR code as SVG (segno), the seal block, the signature lines and ``第 n 页 / 共 m
页`` with the document number on every page.

WeasyPrint needs Pango >= 1.44 from the OS (Debian: libpango-1.0-0, libpangoft2-1.0-0,
libharfbuzz-subset0, fontconfig); it is imported when a PDF is rendered, so a hub without those
libraries still starts and answers a rendering request with ``PdfUnavailable``.

The PDF bytes are not the document's identity: WeasyPrint stamps a creation time and embeds a
font subset that depends on the fonts installed. The hash the transparency log records is
``schemas.documents.document_sha256`` over the model (see ``schemas.documents.canonical``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import jinja2
import segno

from schemas.documents import DocType, DocumentBase, document_blocks
from schemas.documents.common import local_time

ARCHIVE_COPY = "归档联"
# Records the person questioned or inspected signs on every page (询问笔录 "逐页签名", CASES.md
# §7), so a page cannot be swapped: the line is in each page's bottom margin.
PAGE_SIGNATURE: dict[DocType, str] = {
    DocType.INQUIRY_RECORD: "被询问人签名：",
    DocType.INSPECTION_RECORD: "当事人（在场人）签名：",
}
FONT_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC")


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs are not installed."""


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hub.documents", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["qr_svg"] = _qr_svg
    return env


def _qr_svg(data: str) -> str:
    """The QR symbol as an SVG data URI (level M, 4-module quiet zone, ISO/IEC 18004)."""
    uri: str = segno.make(data, error="m", micro=False).svg_data_uri(scale=4, border=4)
    return uri


def render_html(
    doc: DocumentBase, verify_base: str, *, copy_label: str = ARCHIVE_COPY, stamp: str = ""
) -> str:
    """The HTML WeasyPrint lays out (also what a browser preview can show); ``stamp`` is the
    ISO time for the PDF's creation and modification dates (``dcterms`` meta, which WeasyPrint
    reads)."""
    context: dict[str, Any] = {
        "doc": doc,
        "heading": doc.type.heading,
        "blocks": document_blocks(doc, verify_base),
        "copy_label": copy_label,
        "fonts": ", ".join(f'"{f}"' for f in FONT_FAMILIES),
        "issued": local_time(doc.issued_at),
        "stamp": stamp,
        "page_signature": PAGE_SIGNATURE.get(doc.type, ""),
    }
    return _templates().get_template("document.html").render(context)


def render_pdf(
    doc: DocumentBase,
    verify_base: str,
    *,
    copy_label: str = ARCHIVE_COPY,
    created_at: datetime | None = None,
) -> bytes:
    """The A4 PDF of ``doc``; its QR code points at the verification URL under ``verify_base``.

    ``created_at`` sets the PDF's creation and modification dates (default: the issue time), so
    two renderings of a document differ only where the fonts installed differ.
    """
    try:
        import weasyprint  # noqa: PLC0415 (needs Pango from the OS: only when rendering)
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            f"WeasyPrint cannot load ({exc}); install libpango-1.0-0 libpangoft2-1.0-0 "
            "libharfbuzz-subset0 and fonts-wqy-microhei"
        ) from exc
    stamp = (created_at or doc.issued_at).isoformat(timespec="seconds")
    html = render_html(doc, verify_base, copy_label=copy_label, stamp=stamp)
    pdf: bytes = weasyprint.HTML(string=html).write_pdf(pdf_identifier=doc.number.encode())
    return pdf
