"""A4 PDFs of every document type, read back with pypdf: every laid-out field, the number, the
verification URL, page numbers, the contents Art. 52 and Art. 59 require, and the CJK font
embedded (not merely referenced)."""

from __future__ import annotations

import io
import re
import sys
from functools import cache
from html import unescape

import pypdf
import pypdfium2 as pdfium
import pytest
import segno
import zxingcpp

from hub.documents.pdf import PdfUnavailable, render_html, render_pdf
from schemas.documents import DocType, document_blocks, verification_url
from schemas.documents import layout as blocks
from tests.factories.documents import VERIFY_BASE, sample


@cache
def pdf_of(doc_type: DocType) -> bytes:
    return render_pdf(sample(doc_type), VERIFY_BASE)


def text_of(pdf: bytes) -> str:
    """All pages' text with whitespace removed (lines wrap anywhere in CJK text)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("doc_type", list(DocType))
def test_every_laid_out_content_is_in_the_pdf(doc_type: DocType) -> None:
    doc = sample(doc_type)
    pdf = pdf_of(doc_type)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert squash(doc.type.heading) in text
    assert squash(doc.number) in text
    assert squash(doc.subject.name) in text
    assert verification_url(VERIFY_BASE, doc.type, doc.number) in text
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for n in range(1, pages + 1):
        assert f"第{n}页/共{pages}页" in text
    checked = 0
    for block in document_blocks(doc, VERIFY_BASE):
        match block:
            case blocks.FieldBlock(label=label, value=value) if value:
                assert squash(f"{label}：{value}") in text, label
            case blocks.ParagraphsBlock(paragraphs=paragraphs):
                for p in paragraphs:
                    assert squash(p) in text, p
            case blocks.TableBlock(columns=columns, rows=rows):
                assert squash("".join(columns)) in text
                for row in rows:
                    assert squash("".join(row)) in text, row
            case blocks.SignatureBlock(label=label, signer=signer):
                assert squash(f"{label}：{signer or ''}") in text, label
            case blocks.SealBlock(name=name, date=date):
                assert squash(name + date) in text
            case _:
                continue
        checked += 1
    assert checked >= 8  # the loop saw the document's body, not just its header


ART_52 = (
    "当事人：张三",
    "违法行为：在华强北路宝华大厦北侧人行道擅自摆摊设点",
    "违法时间：2026年11月26日13:45",
    "违法地点：深圳市福田区华强北街道华强北路1016号宝华大厦北侧人行道",
    "处罚依据：《深圳经济特区市容和环境卫生管理条例》第十八条第二款",
    "处罚决定：罚款人民币200元",
    "60日内向深圳市福田区人民政府申请行政复议",
    "6个月内依法向深圳市福田区人民法院提起行政诉讼",
    "深圳市福田区城市管理和综合执法局",
    "李明（执法证号：44030500365）",
    "王芳（执法证号：44030500366）",
)
ART_59 = (
    "当事人：张三",
    "居民身份证：440304199001011234",
    "经查，你（单位）于2026年11月26日",  # the facts
    "证据：现场检查笔录；询问笔录；现场照片3张",
    "违反规定：《深圳经济特区市容和环境卫生管理条例》第十八条第一款",
    "处罚依据：《深圳经济特区市容和环境卫生管理条例》第十八条第二款",
    "处罚决定：罚款人民币200元",
    "罚款自收到本决定书之日起15日内缴至中国工商银行深圳福田支行",  # Art. 67
    "60日内向深圳市福田区人民政府申请行政复议",
    "6个月内依法向深圳市福田区人民法院提起行政诉讼",
    "（印章）深圳市福田区城市管理和综合执法局2026年11月26日",  # agency, seal, date
)


@pytest.mark.parametrize(
    ("doc_type", "needles"),
    [(DocType.ON_SPOT_DECISION, ART_52), (DocType.PENALTY_DECISION, ART_59)],
)
def test_the_statutory_contents_are_printed(doc_type: DocType, needles: tuple[str, ...]) -> None:
    text = text_of(pdf_of(doc_type))
    for needle in needles:
        assert squash(needle) in text, needle


@pytest.mark.parametrize("doc_type", [DocType.ON_SPOT_DECISION, DocType.PRESERVATION_NOTICE])
def test_the_cjk_font_is_embedded(doc_type: DocType) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf_of(doc_type)))
    embedded: set[str] = set()
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                d = descendant.get_object()
                descriptor = d["/FontDescriptor"].get_object()
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    embedded.add(str(d["/BaseFont"]))
    assert any(re.search(r"WenQuanYi|Noto", name) for name in embedded), embedded


def test_an_inquiry_record_has_a_signature_line_on_every_page() -> None:
    from schemas.documents.scene import QA

    qa = [QA(q=f"第{i}个问题：你当时在做什么？", a="我在摆摊卖手机壳。" * 6) for i in range(40)]
    pdf = render_pdf(sample(DocType.INQUIRY_RECORD, qa=qa), VERIFY_BASE)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    for page in reader.pages:
        assert "被询问人签名：" in page.extract_text()


@pytest.mark.parametrize("doc_type", list(DocType))
def test_the_printed_qr_code_scans_to_the_verification_url(doc_type: DocType) -> None:
    """Rasterised at 150 dpi (a phone photographing a page does worse than that, and M-level
    error correction is there for it) and read by an independent decoder."""
    doc = sample(doc_type)
    found = []
    for page in pdfium.PdfDocument(pdf_of(doc_type)):
        found += [r.text for r in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
    assert found == [verification_url(VERIFY_BASE, doc.type, doc.number)]


def test_the_qr_code_carries_the_verification_url() -> None:
    """The template wires the verification URL into the QR image (segno encodes it; its
    symbol is tested upstream) and prints the URL under it for a reader without a camera."""
    doc = sample(DocType.SERVICE_RECEIPT)
    html = render_html(doc, VERIFY_BASE)
    url = verification_url(VERIFY_BASE, doc.type, doc.number)
    img = re.search(r'<img src="(data:image/svg\+xml[^"]+)" alt="([^"]+)"', html)
    assert img is not None
    assert img.group(2) == url
    assert unescape(img.group(1)) == segno.make(url, error="m").svg_data_uri(scale=4, border=4)
    assert segno.make(url, error="m").version >= 8  # 133 bytes: the whole URL, not a prefix


def test_without_weasyprint_the_hub_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as without Pango
    with pytest.raises(PdfUnavailable, match="libpango"):
        render_pdf(sample(DocType.SERVICE_RECEIPT), VERIFY_BASE)


def test_markup_in_a_field_is_text_not_html() -> None:
    doc = sample(DocType.RECTIFICATION_NOTICE, place="<b>华强北路</b>&amp;")
    html = render_html(doc, VERIFY_BASE)
    assert "&lt;b&gt;华强北路&lt;/b&gt;&amp;amp;" in html
    assert "<b>华强北路</b>" not in html
