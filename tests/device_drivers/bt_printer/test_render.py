"""Bluetooth printer rendering: golden ESC/POS and CPCL byte streams, plus checks that do not
depend on the goldens (QR bytes from the spec, GB18030, wrapping, page framing, label height).

The goldens under ``golden/`` hold the exact bytes a printer receives for the sample notice,
every copy's page concatenated. After an intended layout change, rewrite them with

    EHUB_UPDATE_GOLDEN=1 python -m pytest tests/device_drivers/bt_printer/test_render.py -q

(the golden tests then report "skipped: rewritten"), and read the diff before committing, e.g.
``python -c "import sys; print(open(sys.argv[1], 'rb').read().decode('gb18030', 'replace'))"``.
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.bt_printer import cpcl, escpos
from device_drivers.bt_printer.document import (
    DocType,
    EnforcementDocument,
    Paper,
    format_local_time,
    render_cpcl,
    render_escpos,
)
from device_drivers.bt_printer.errors import PrinterError, RenderError

GOLDEN = Path(__file__).parent / "golden"
COPIES = ("当事人联", "存根联")


def notice(**overrides: Any) -> EnforcementDocument:
    """A street-vending rectification notice in Futian. Sample data: no article is cited."""
    fields: dict[str, Any] = {
        "doc_type": DocType.RECTIFICATION_NOTICE,
        "title": "关于华强北路占道经营的责令改正通知",
        "case_number": "深福华城责改〔2026〕第0517号",
        "officer_name": "李明",
        "officer_badge": "44030500365",
        "street": "深圳市福田区华强北街道华强北路1016号宝华大厦北侧人行道",
        "issued_at": datetime(2026, 11, 26, 6, 5, tzinfo=UTC),  # 14:05 in Shenzhen
        "legal_basis": "《深圳经济特区市容和环境卫生管理条例》关于禁止占用道路摆卖的规定",
        "body": (
            "经查，你（单位）于2026年11月26日在华强北路宝华大厦北侧人行道擅自摆摊设点、"
            "占道经营，影响市容和环境卫生。\n"
            "现责令你（单位）立即停止上述行为，并于2026年11月27日18时前自行清理占道物品、"
            "恢复原状。逾期不改正的，本机关将依法处理。"
        ),
        "case_url": "https://enforce.example.com/cases/SZ-FT-HQB-2026-0517",
        "team_name": "深圳市福田区华强北街道综合行政执法队",
    }
    fields.update(overrides)
    return EnforcementDocument(**fields)


# --- goldens -----------------------------------------------------------------------------------

RENDERS: dict[str, Callable[[], list[bytes]]] = {
    "notice_58mm.escpos.bin": lambda: render_escpos(notice(), Paper.MM58, copies=COPIES),
    "notice_80mm.escpos.bin": lambda: render_escpos(notice(), Paper.MM80, copies=COPIES, cut=True),
    "notice.cpcl.bin": lambda: render_cpcl(notice(), 576, copies=COPIES),
}


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
        pytest.fail(
            f"{name} differs at byte {at} (got {len(stream)} bytes, golden {len(expected)}):\n"
            f"  got    {stream[max(0, at - 16) : at + 16].hex(' ')}\n"
            f"  golden {expected[max(0, at - 16) : at + 16].hex(' ')}"
        )


# --- QR code -----------------------------------------------------------------------------------


def test_qr_command_matches_the_escpos_spec() -> None:
    url = "https://e.example/c/1"  # 21 bytes -> pL = 21 + 3 = 0x18
    expected = (
        bytes.fromhex("1d 28 6b 04 00 31 41 32 00")  # fn 65: model 2
        + bytes.fromhex("1d 28 6b 03 00 31 43 06")  # fn 67: module 6 dots
        + bytes.fromhex("1d 28 6b 03 00 31 45 31")  # fn 69: error correction M
        + bytes.fromhex("1d 28 6b 18 00 31 50 30")  # fn 80: store, pL pH = k + 3
        + url.encode("ascii")
        + bytes.fromhex("1d 28 6b 03 00 31 51 30")  # fn 81: print
    )
    assert escpos.qr_code(url, module_size=6, ecc=escpos.QrEcc.M) == expected


def test_qr_store_length_uses_the_high_byte() -> None:
    data = b"x" * 300  # 303 = 0x012f
    assert bytes.fromhex("1d 28 6b 2f 01 31 50 30") + data in escpos.qr_code(data)


def test_qr_data_limits() -> None:
    with pytest.raises(RenderError):
        escpos.qr_code(b"")
    with pytest.raises(RenderError):
        escpos.qr_code(b"x" * (escpos.QR_MAX_BYTES + 1))


def test_page_carries_the_case_url_as_qr() -> None:
    doc = notice()
    page = render_escpos(doc, Paper.MM58)[0]
    assert escpos.qr_code(doc.case_url, module_size=6) in page
    label = render_cpcl(doc)[0]
    assert f"MA,{doc.case_url}\r\nENDQR\r\n".encode() in label


# --- GB18030 -----------------------------------------------------------------------------------


def test_gb18030_known_codes() -> None:
    assert escpos.encode_gb18030("中文") == bytes.fromhex("d6d0cec4")  # GB2312 two-byte
    assert escpos.encode_gb18030("𠀀") == bytes.fromhex("95328236")  # four-byte (Ext. B)
    assert escpos.encode_gb18030("A1") == b"A1"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_gb18030_round_trip(text: str) -> None:
    assert escpos.encode_gb18030(text).decode("gb18030") == text


@pytest.mark.parametrize("bad", ["\ud800", "李\udfff明"])
def test_unencodable_text_raises(bad: str) -> None:
    with pytest.raises(RenderError):
        escpos.encode_gb18030(bad)
    with pytest.raises(RenderError):
        escpos.line(bad)
    with pytest.raises(RenderError):
        cpcl.text(cpcl.FONT_GB16, 0, 0, bad)
    with pytest.raises(RenderError, match="officer_name"):
        notice(officer_name=bad)


@pytest.mark.parametrize("bad", ["\x1b@", "a\r\nPRINT", "\x00", "\x85"])
def test_control_characters_raise_instead_of_reaching_the_printer(bad: str) -> None:
    with pytest.raises(RenderError):
        escpos.encode_gb18030(bad)
    with pytest.raises(RenderError):
        cpcl.text(cpcl.FONT_GB16, 0, 0, bad)
    with pytest.raises(RenderError):
        notice(street=f"华强北路{bad}")


def test_render_error_is_a_printer_error() -> None:
    assert issubclass(RenderError, PrinterError)


def test_page_text_round_trips() -> None:
    doc = notice()
    label = render_cpcl(doc)[0].decode("gb18030")  # strict: the whole label is text
    for expected in (doc.street, "签发时间：2026年11月26日 14:05", "当事人签名：", doc.team_name):
        assert expected in label
    page = render_escpos(doc, Paper.MM80)[0]
    for expected in ("签发时间：2026年11月26日 14:05", "执法人员：李明（执法证号：44030500365）"):
        assert expected.encode("gb18030") + b"\n" in page


# --- wrapping ----------------------------------------------------------------------------------

MIXED = st.text(
    alphabet=st.sampled_from(
        list("华强北街道占道经营责令改正福田区深圳")
        + list("，。、；：（）《》“”【】")
        + list("abcXYZ0123456789-_/.:%")
        + [" ", " ", "\u3000", "·", "—", "é", "𠀀", "ｱ"]
    ),
    max_size=300,
)


@settings(max_examples=300)
@given(MIXED, st.integers(min_value=4, max_value=64))
def test_wrap_fits_the_width_and_keeps_every_character(text: str, columns: int) -> None:
    lines = escpos.wrap(text, columns)
    assert all(escpos.display_width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    # Encoding line by line gives the same bytes as the whole: no character was cut in two.
    encoded = [escpos.encode_gb18030(line) for line in lines]
    assert b"".join(encoded) == escpos.encode_gb18030("".join(lines))
    assert all(part.decode("gb18030") == line for part, line in zip(encoded, lines, strict=True))


@given(st.characters(blacklist_categories=("Cs", "Cc")))
def test_columns_agree_with_east_asian_width_where_it_is_wide(ch: str) -> None:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        assert escpos.char_columns(ch) == 2
    # Never narrower than the bytes the printer draws from: 1 column only for single bytes.
    assert escpos.char_columns(ch) == min(2, len(escpos.encode_gb18030(ch)))


def test_wrap_examples() -> None:
    assert escpos.wrap("一二三，", 6) == ["一二", "三，"]  # no comma at the start of a line
    assert escpos.wrap("一二《三》", 6) == ["一二", "《三》"]  # no bracket at the end of one
    # A year goes down with its closing bracket, and the opening one with it.
    assert escpos.wrap("深福执罚〔2026〕第1号", 14) == ["深福执罚", "〔2026〕第1号"]
    assert escpos.wrap("ab cd ef", 5) == ["ab cd", "ef"]
    assert escpos.wrap("https://x.cn/abcdef", 8) == ["https://", "x.cn/abc", "def"]
    assert escpos.wrap("第一段\n第二段", 32) == ["第一段", "第二段"]
    assert escpos.wrap("", 32) == [""]
    with pytest.raises(RenderError):
        escpos.wrap("中", 3)


def test_paper_columns() -> None:
    assert (Paper.MM58.columns, Paper.MM58.dots) == (32, 384)
    assert (Paper.MM80.columns, Paper.MM80.dots) == (48, 576)


# --- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("paper", list(Paper))
def test_every_escpos_page_starts_with_initialisation(paper: Paper) -> None:
    pages = render_escpos(notice(), paper, copies=COPIES)
    assert len(pages) == 2
    for page in pages:
        assert page.startswith(b"\x1b@\x1c&")  # ESC @, then FS & (Chinese mode)
        assert page.count(b"\x1b@") == 1


def test_every_cpcl_label_is_a_complete_session() -> None:
    for label in render_cpcl(notice(), copies=COPIES):
        assert label.startswith(b"! 0 200 200 ")
        assert label.endswith(b"FORM\r\nPRINT\r\n")
        assert label.count(b"! 0 200 200") == 1
        assert b"\n" not in label.replace(b"\r\n", b"")  # every line ends with CRLF


def escpos_lines(page: bytes) -> list[tuple[str, int]]:
    """(text, width multiplier) of each printed line, skipping the commands this driver emits.

    Safe byte by byte: GB18030 trail bytes are never 0x0a, 0x1b, 0x1c or 0x1d.
    """
    lines: list[tuple[str, int]] = []
    text, width, i = bytearray(), 1, 0
    while i < len(page):
        if page.startswith(b"\x1d(k", i):  # GS ( k pL pH ...: skip the whole function
            i += 5 + page[i + 3] + 256 * page[i + 4]
        elif page.startswith(b"\x1d!", i):
            width = (page[i + 2] >> 4) + 1
            i += 3
        elif page.startswith((b"\x1b@", b"\x1c&"), i):
            i += 2
        elif page[i] in b"\x1b\x1d":  # ESC a/E/d n, GS V m
            i += 3
        elif page[i] == 0x0A:
            lines.append((text.decode("gb18030"), width))  # strict: no stray command bytes
            text.clear()
            i += 1
        else:
            text.append(page[i])
            i += 1
    assert not text, "text left without a line feed"
    return lines


@pytest.mark.parametrize("paper", list(Paper))
def test_escpos_lines_fit_the_paper(paper: Paper) -> None:
    lines = escpos_lines(render_escpos(notice(), paper)[0])
    for text, width in lines:
        assert escpos.display_width(text) * width <= paper.columns, text
    assert ("责令改正通知书", 2) in lines  # the heading, double size
    assert ("签发时间：2026年11月26日 14:05", 1) in lines


def test_copies_print_distinct_footers() -> None:
    doc = notice()
    pages = render_escpos(doc, copies=COPIES)
    footers = [f"第 {n}/2 联 · {label}".encode("gb18030") for n, label in enumerate(COPIES, 1)]
    case = doc.case_number.encode("gb18030")
    for page, footer, other in zip(pages, footers, reversed(footers), strict=True):
        assert footer in page
        assert other not in page
        assert case in page[page.index(footer) :]  # the case number follows the footer
    assert pages[0] != pages[1]
    labels = render_cpcl(doc, copies=COPIES)
    assert "第 2/2 联 · 存根联" in labels[1].decode("gb18030")
    with pytest.raises(RenderError):
        render_escpos(doc, copies=("存根联", "存根联"))
    with pytest.raises(RenderError):
        render_cpcl(doc, copies=())


# --- CPCL label height -------------------------------------------------------------------------

QR_M_BYTES = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213)  # byte mode, level M, v1..v10


def content_bottom(label: bytes, font: cpcl.CpclFont) -> tuple[int, int]:
    """(declared height, lowest dot any command draws), read back from the label text."""
    lines = label.decode("gb18030").split("\r\n")
    declared = int(lines[0].split()[4])
    mag, bottom = 1, 0
    for i, line in enumerate(lines):
        words = line.split(" ")
        if words[0] == "SETMAG":
            mag = max(1, int(words[2]))
        elif words[0] == "TEXT":
            bottom = max(bottom, int(words[4]) + font.height * mag)
        elif words[0] == "LINE":
            bottom = max(bottom, max(int(words[2]), int(words[4])) + int(words[5]))
        elif words[:2] == ["B", "QR"]:
            data = lines[i + 1].split(",", 1)[1].encode()
            version = next(v for v, cap in enumerate(QR_M_BYTES, 1) if len(data) <= cap)
            bottom = max(bottom, int(words[3]) + (17 + 4 * version) * int(words[7]))
    return declared, bottom


@pytest.mark.parametrize("font", [cpcl.FONT_GB16, cpcl.FONT_GB24])
@pytest.mark.parametrize("width", [384, 576])
def test_cpcl_height_covers_the_content(font: cpcl.CpclFont, width: int) -> None:
    for label in render_cpcl(notice(), width, copies=COPIES, font=font):
        declared, bottom = content_bottom(label, font)
        assert bottom <= declared
        assert f"PAGE-WIDTH {width}\r\n".encode() in label


@settings(max_examples=50, deadline=None)
@given(body=MIXED.filter(lambda s: s.strip()), legal=MIXED.filter(lambda s: s.strip()))
def test_any_body_renders_and_fits(body: str, legal: str) -> None:
    doc = notice(body=body, legal_basis=legal)
    declared, bottom = content_bottom(render_cpcl(doc)[0], cpcl.FONT_GB16)
    assert bottom <= declared
    assert render_escpos(doc, Paper.MM58)[0].startswith(b"\x1b@")


# --- the document ------------------------------------------------------------------------------


def test_issued_at_prints_in_shenzhen_time() -> None:
    assert format_local_time(datetime(2026, 11, 26, 6, 5, tzinfo=UTC)) == "2026年11月26日 14:05"
    tokyo = timezone(timedelta(hours=9))
    assert format_local_time(datetime(2026, 1, 1, 0, 30, tzinfo=tokyo)) == "2025年12月31日 23:30"


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ""},
        {"case_number": "  "},
        {"officer_badge": ""},
        {"title": "长" * 41},
        {"body": "文" * 2001},
        {"case_url": "ftp://enforce.example.com/c/1"},
        {"case_url": "javascript:alert(1)"},
        {"case_url": "https://"},
        {"case_url": "https://例子.cn/案件"},
        {"issued_at": datetime(2026, 11, 26, 14, 5)},  # naive
        {"doc_type": "责令改正通知书"},  # a str, not a DocType
    ],
)
def test_invalid_documents_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(RenderError):
        notice(**overrides)


def test_document_is_frozen() -> None:
    doc = notice()
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.title = "x"  # type: ignore[misc]
