"""Contract documents (schemas.documents) on the Bluetooth printer: golden ESC/POS bytes of the
on-the-spot decision, the rectification notice and the service receipt at 58 and 80 mm (and
CPCL of the decision), plus checks that hold for every type whatever the goldens say.

Rewrite the goldens after an intended layout change with

    EHUB_UPDATE_GOLDEN=1 python -m pytest tests/device_drivers/bt_printer/test_documents.py -q
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from device_drivers.bt_printer import escpos
from device_drivers.bt_printer.document import (
    Paper,
    render_document_cpcl,
    render_document_escpos,
)
from device_drivers.bt_printer.errors import RenderError
from schemas.documents import DocType, verification_url
from schemas.documents.common import Party, PartyKind
from tests.factories.documents import VERIFY_BASE, sample

GOLDEN = Path(__file__).parent / "golden"
COPIES = ("当事人联", "存根联")
GOLDEN_TYPES = (DocType.ON_SPOT_DECISION, DocType.RECTIFICATION_NOTICE, DocType.SERVICE_RECEIPT)


def _renders() -> dict[str, Callable[[], list[bytes]]]:
    out: dict[str, Callable[[], list[bytes]]] = {}
    for t in GOLDEN_TYPES:
        for paper in Paper:
            out[f"{t.value}_{paper.value}.escpos.bin"] = lambda t=t, paper=paper: (
                render_document_escpos(
                    sample(t), VERIFY_BASE, paper, copies=COPIES, cut=paper is Paper.MM80
                )
            )
    out["on_spot_decision.cpcl.bin"] = lambda: render_document_cpcl(
        sample(DocType.ON_SPOT_DECISION), VERIFY_BASE, 576, copies=COPIES
    )
    return out


RENDERS = _renders()


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_matches_golden(name: str) -> None:
    stream = b"".join(RENDERS[name]())
    path = GOLDEN / name
    if os.environ.get("EHUB_UPDATE_GOLDEN") == "1":
        path.write_bytes(stream)
        pytest.skip(f"rewritten: {path}")
    assert path.exists(), f"{path} missing: run with EHUB_UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    if stream != expected:
        at = next(
            (i for i, (a, b) in enumerate(zip(stream, expected, strict=False)) if a != b),
            min(len(stream), len(expected)),
        )
        pytest.fail(f"{name} differs at byte {at} (got {len(stream)}, golden {len(expected)})")


# --- independent of the goldens ----------------------------------------------------------------

_COMMAND = re.compile(
    rb"\x1b[@]|\x1c[&.]|\x1ba.|\x1bE.|\x1d!.|\x1bd.|\x1dV.|\x1d\(k(..)\x31(.)", re.DOTALL
)


def printed_lines(page: bytes) -> tuple[list[str], list[bytes]]:
    """The text lines of an ESC/POS page (commands stripped) and the QR payloads it stores."""
    text = bytearray()
    qrs: list[bytes] = []
    i = 0
    while i < len(page):
        m = _COMMAND.match(page, i)
        if m is None:
            text.append(page[i])
            i += 1
            continue
        if m.group(1) is not None:  # GS ( k pL pH cn fn ...: skip its parameters
            size = m.group(1)[0] + 256 * m.group(1)[1]
            params = page[m.end() : m.end() + size - 2]
            if m.group(2) == b"P":  # fn 80: store data (m = '0', then the payload)
                qrs.append(params[1:])
            i = m.end() + size - 2
        else:
            i = m.end()
    return text.decode("gb18030").split("\n"), qrs


@pytest.mark.parametrize("doc_type", list(DocType))
@pytest.mark.parametrize("paper", list(Paper))
def test_every_type_prints_within_the_roll(doc_type: DocType, paper: Paper) -> None:
    doc = sample(doc_type)
    pages = render_document_escpos(doc, VERIFY_BASE, paper, copies=COPIES)
    assert len(pages) == 2
    for n, page in enumerate(pages, start=1):
        lines, qrs = printed_lines(page)
        for line in lines:
            # A double-size line counts twice; none is wider than the paper.
            assert escpos.display_width(line) <= paper.columns, line
        joined = "".join(line.strip() for line in lines)
        assert doc.type.heading in joined
        assert doc.number in joined
        assert f"第 {n}/2 联 · {COPIES[n - 1]}" in joined
        assert qrs == [verification_url(VERIFY_BASE, doc.type, doc.number).encode()]


def test_on_spot_decision_prints_what_art_52_requires() -> None:
    doc = sample(DocType.ON_SPOT_DECISION)
    lines, _ = printed_lines(render_document_escpos(doc, VERIFY_BASE, Paper.MM80)[0])
    text = "".join(line.strip() for line in lines)
    for needle in (
        "张三",  # the party
        "擅自摆摊设点",  # the act
        "2026年11月26日 13:45",  # its time (Beijing)
        "宝华大厦北侧人行道",  # its place
        "《深圳经济特区市容和环境卫生管理条例》第十八条第二款",  # the basis
        "罚款人民币200元",  # penalty and amount
        "60日内向深圳市福田区人民政府申请行政复议",
        "6个月内依法向深圳市福田区人民法院提起行政诉讼",
        "深圳市福田区城市管理和综合执法局",  # the agency
        "李明（执法证号：44030500365）",
        "王芳（执法证号：44030500366）",
    ):
        assert needle in text, needle


def test_a_refusal_to_sign_is_printed() -> None:
    from schemas.documents.common import Receipt, ReceiptStatus

    doc = sample(
        DocType.RECTIFICATION_NOTICE,
        receipt=Receipt(
            status=ReceiptStatus.REFUSED, note="当事人拒绝签名，已全程录像。", witness="赵六"
        ),
    )
    lines, _ = printed_lines(render_document_escpos(doc, VERIFY_BASE, Paper.MM58)[0])
    text = "".join(line.strip() for line in lines)
    assert "当事人拒绝签收。当事人拒绝签名，已全程录像。（见证人：赵六）" in text


def test_a_title_too_wide_for_double_size_prints_normal_size() -> None:
    page = render_document_escpos(sample(DocType.ON_SPOT_DECISION), VERIFY_BASE, Paper.MM58)[0]
    lines, _ = printed_lines(page)
    assert "当场行政处罚决定书" in lines  # one line, not split before 书
    assert b"\x1d!\x11" not in page  # never double size for it on 58 mm
    page80 = render_document_escpos(sample(DocType.ON_SPOT_DECISION), VERIFY_BASE, Paper.MM80)[0]
    assert b"\x1d!\x11" in page80  # 18 columns fit in 24: double size on 80 mm


def test_text_a_printer_cannot_encode_is_refused_with_its_place() -> None:
    with pytest.raises(ValidationError):  # the contract already refuses a lone surrogate ...
        Party(kind=PartyKind.CITIZEN, name="张\ud800三")
    # ... and the printer path refuses it too where a model was built without validation.
    party = Party.model_construct(kind=PartyKind.CITIZEN, name="张\ud800三")
    doc = sample(DocType.ON_SPOT_DECISION).model_copy(update={"party": party})
    with pytest.raises(RenderError, match=r"on_spot_decision .*FieldBlock"):
        render_document_escpos(doc, VERIFY_BASE)


def test_a_bad_verification_base_is_refused() -> None:
    with pytest.raises(RenderError, match="http"):
        render_document_escpos(sample(DocType.SERVICE_RECEIPT), "ftp://hub.example")


@pytest.mark.parametrize("doc_type", list(DocType))
def test_every_type_renders_as_cpcl_with_its_number_and_qr(doc_type: DocType) -> None:
    doc = sample(doc_type)
    labels = render_document_cpcl(doc, VERIFY_BASE, 576, copies=COPIES)
    assert len(labels) == 2
    for label in labels:
        text = label.decode("gb18030")  # strict: a CPCL label is all text
        assert text.startswith("! 0 200 200 ")
        assert doc.number in text and doc.type.heading in text
        assert verification_url(VERIFY_BASE, doc.type, doc.number) in text
        assert text.rstrip().endswith("PRINT")
