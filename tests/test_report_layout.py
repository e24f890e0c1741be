"""The official layout (Nghị định 30/2020, Phụ lục I) item by item, read back from the PDF
(pdfplumber: every character's face, size and place) and from the DOCX; and the font's
certainty: without Times New Roman or a metric twin no PDF is built, the message says how to
install the font.

Rules quoted in the tests are from ND30_FORMAT.md (Mục I and the table of Mục II/V).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk import fonts
from helpdesk.extensions import db
from helpdesk.reports.document import _JOINED, agency_lines, agency_words

MM = 72 / 25.4
LEFT, RIGHT, TOP, BOTTOM = 30 * MM, (210 - 15) * MM, 20 * MM, (297 - 20) * MM
CENTRE = (LEFT + RIGHT) / 2
HEADER_SPLIT = LEFT + 0.4 * (RIGHT - LEFT)  # the header's two columns: 40 % and 60 %
SIGNER_CENTRE = LEFT + 0.75 * (RIGHT - LEFT)
INDENT = 12.7 * MM
TOLERANCE = 0.6 * MM  # pdfplumber's glyph boxes overshoot the advance a little


# --- reading the PDF back -------------------------------------------------------------------


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    sizes: set[float]
    faces: set[str]

    @property
    def size(self) -> float:
        assert len(self.sizes) == 1, (self.text, self.sizes)
        return next(iter(self.sizes))

    @property
    def bold(self) -> bool:
        return all("Bold" in face for face in self.faces)

    @property
    def italic(self) -> bool:
        return all("Italic" in face for face in self.faces)

    @property
    def upright(self) -> bool:
        return not any("Italic" in face for face in self.faces)

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def lines_of(page, bbox=None, min_size=0.0) -> list[Line]:
    area = page.crop(bbox) if bbox else page
    result = []
    for raw in area.extract_text_lines(return_chars=True):
        chars = [c for c in raw["chars"] if c["text"].strip() and c["size"] > min_size]
        if not chars:
            continue
        result.append(
            Line(
                text=" ".join(raw["text"].split()),
                x0=min(c["x0"] for c in chars),
                x1=max(c["x1"] for c in chars),
                top=min(c["top"] for c in chars),
                bottom=max(c["bottom"] for c in chars),
                sizes={round(c["size"], 1) for c in chars},
                faces={c["fontname"].split("+")[-1] for c in chars},
            )
        )
    return result


def rules_of(page, top: float, bottom: float) -> list[dict]:
    """Thin horizontal rules (a border drawn as a filled rectangle) between two heights."""
    return sorted(
        (
            r
            for r in page.rects
            if r["height"] < 1.5 and r["width"] > 5 * MM and top <= r["top"] <= bottom
        ),
        key=lambda r: r["top"],
    )


def only(lines: list[Line], text: str) -> Line:
    found = [line for line in lines if line.text == text]
    assert len(found) == 1, (text, [line.text for line in lines])
    return found[0]


def rule_under(page, lines: list[Line]) -> dict:
    """The rule just under the last of ``lines`` (within 6 pt), as wide as a share of them."""
    last = max(line.bottom for line in lines)
    rules = rules_of(page, last - 1, last + 6)
    assert len(rules) == 1, (lines[-1].text, rules)
    return rules[0]


def _document(month: str, report_date: date):
    from helpdesk.reports.services import build_document

    return build_document(month, report_date)


def _pdf(doc) -> bytes:
    from helpdesk.reports.render import render_pdf

    return render_pdf(doc)


# --- agency names: where a line may break ---------------------------------------------------


def test_agency_names_break_between_words_only():
    # Both seed agencies and their parent: multi-syllable words stay whole.
    assert agency_words("SỞ THÔNG TIN VÀ TRUYỀN THÔNG") == ("SỞ", "THÔNG TIN", "VÀ", "TRUYỀN THÔNG")
    assert agency_words("Sở Khoa học và Công nghệ") == ("SỞ", "KHOA HỌC", "VÀ", "CÔNG NGHỆ")
    assert agency_words("ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG") == (
        "ỦY BAN NHÂN DÂN",
        "THÀNH PHỐ HẢI PHÒNG",
    )
    # A dash stays at the end of its line; "XÃ HỘI" is a word, not the unit "XÃ".
    assert agency_words("SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI") == (
        "SỞ",
        "LAO ĐỘNG -",
        "THƯƠNG BINH",
        "VÀ",
        "XÃ HỘI",
    )
    assert agency_words("UBND QUẬN LÊ CHÂN") == ("UBND", "QUẬN LÊ CHÂN")

    # Measured in the 66 mm column at 12 pt (Times New Roman metrics).
    assert agency_lines("SỞ THÔNG TIN VÀ TRUYỀN THÔNG", True) == (
        ("SỞ", "THÔNG TIN", "VÀ"),
        ("TRUYỀN THÔNG",),
    )
    one_line = (("SỞ", "KHOA HỌC", "VÀ", "CÔNG NGHỆ"),)
    assert agency_lines("SỞ KHOA HỌC VÀ CÔNG NGHỆ", True) == one_line
    assert agency_lines("ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG", False) == (
        ("ỦY BAN NHÂN DÂN",),
        ("THÀNH PHỐ HẢI PHÒNG",),
    )
    assert agency_lines("UBND THÀNH PHỐ HẢI PHÒNG", False) == (("UBND", "THÀNH PHỐ HẢI PHÒNG"),)


def test_references_are_kept_whole():
    from helpdesk.reports.document import pieces, unbreakable

    text = "theo Văn bản số **1809/STTTT-TTTTTT** ngày 31/8/2023 và Quyết định 766/QĐ-TTg."
    kept = [part for part, _bold, keep in pieces(text) if keep]
    assert kept == ["1809/STTTT-TTTTTT", "31/8/2023", "766/QĐ-TTg"]
    assert "".join(part for part, _b, _k in pieces(text)) == text.replace("**", "")
    assert unbreakable("766/QĐ-TTg") == "766\u2060/\u2060QĐ\u2060-\u2060TTg"
    assert _JOINED.findall("Lao động – Thương binh, tiếp - nhận") == []


# --- the PDF, item by item ------------------------------------------------------------------


def _check_fonts_and_margins(pdf) -> None:
    for number, page in enumerate(pdf.pages, start=1):
        assert (round(page.width / MM), round(page.height / MM)) == (210, 297)
        faces = {c["fontname"].split("+")[-1].replace("-", "") for c in page.chars}
        # Times New Roman or its metric twin only, in every face.
        assert all(f.startswith(("LiberationSerif", "TimesNewRoman")) for f in faces), faces
        body = [c for c in page.chars if c["top"] >= TOP - 1]
        # Margins: top and bottom 20 mm (20-25), left 30 mm (30-35), right 15 mm (15-20).
        assert min(c["x0"] for c in body) >= LEFT - TOLERANCE, number
        assert max(c["x1"] for c in body) <= RIGHT + TOLERANCE, number
        assert max(c["bottom"] for c in body) <= BOTTOM + TOLERANCE, number
        assert min(c["top"] for c in body) <= 25 * MM, number  # the text starts at the margin
        # Page numbers: Arabic, 13-14 pt upright, centred in the top margin, none on page 1.
        marks = lines_of(page, (0, 0, page.width, TOP))
        if number == 1:
            assert marks == []
        else:
            assert [m.text for m in marks] == [str(number)]
            assert 13 <= marks[0].size <= 14 and marks[0].upright and not marks[0].bold
            assert abs(marks[0].centre - CENTRE) < 1.5 * MM


def _check_header(page, doc, agency: list[str], parent: list[str]) -> float:
    """Ô 1-5a and 9a on page 1; returns the bottom of the header (the recipient line)."""
    h = doc.header
    left = lines_of(page, (LEFT - 2, TOP - 2, HEADER_SPLIT, 50 * MM))
    right = lines_of(page, (HEADER_SPLIT, TOP - 2, RIGHT + 2, 50 * MM))
    # Ô 2: parent agency 12-13 pt upright UPPER; agency 12-13 pt bold UPPER, broken between
    # words (SỞ THÔNG TIN VÀ / TRUYỀN THÔNG), a rule of 1/3-1/2 of its length under it.
    assert [line.text for line in left] == [*parent, *agency, " ".join(h.number_line.split())]
    for line in left[: len(parent)]:
        assert 12 <= line.size <= 13 and line.upright and not line.bold
        assert line.text == line.text.upper()
    agency_lines_ = left[len(parent) : len(parent) + len(agency)]
    for line in agency_lines_:
        assert 12 <= line.size <= 13 and line.bold and line.upright
        assert line.text == line.text.upper()
    widest = max(line.width for line in agency_lines_)
    rule = rule_under(page, agency_lines_)
    assert 1 / 3 <= rule["width"] / widest <= 1 / 2, (rule["width"], widest)
    assert abs((rule["x0"] + rule["x1"]) / 2 - agency_lines_[0].centre) < 1 * MM
    # Ô 3: "Số:" 13 pt upright, centred under the agency name.
    number = left[-1]
    assert number.size == 13 and number.upright and not number.bold
    assert abs(number.centre - agency_lines_[0].centre) < 2 * MM

    # Ô 1: the national name 12-13 pt bold UPPER on ONE line; the motto 13-14 pt bold under
    # it with a rule as long as the motto; ô 4: place and date 13-14 pt italic on the line of
    # the number, centred under them.
    nation, motto, place_date = right
    assert nation.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert 12 <= nation.size <= 13 and nation.bold and nation.upright
    assert motto.text == "Độc lập - Tự do - Hạnh phúc"
    assert 13 <= motto.size <= 14 and motto.bold and motto.upright
    assert abs(motto.centre - nation.centre) < 1 * MM
    rule = rule_under(page, [motto])
    assert abs(rule["x0"] - motto.x0) < 1 * MM and abs(rule["x1"] - motto.x1) < 1 * MM
    assert place_date.text == h.place_date
    assert 13 <= place_date.size <= 14 and place_date.italic
    assert abs(place_date.centre - nation.centre) < 2 * MM
    assert abs(place_date.bottom - number.bottom) < 1.5  # the same line
    assert nation.top < left[0].top + 2  # both columns start at the top

    # Ô 5a: BÁO CÁO 13-14 pt bold centred; the subject 13-14 pt bold under it, a rule of
    # 1/3-1/2 of its length under that; ô 9a: "Kính gửi: ..." 13-14 pt upright.
    middle = lines_of(page, (0, number.bottom + 2, page.width, 100 * MM))
    doc_type = middle[0]
    assert doc_type.text == "BÁO CÁO" and 13 <= doc_type.size <= 14 and doc_type.bold
    assert abs(doc_type.centre - CENTRE) < 1 * MM
    subject = [line for line in middle[1:] if line.top < only(middle, h.recipient).top]
    assert " ".join(line.text for line in subject) == h.subject
    for line in subject:
        assert 13 <= line.size <= 14 and line.bold and abs(line.centre - CENTRE) < 1 * MM
    rule = rule_under(page, subject)
    widest = max(line.width for line in subject)
    assert 1 / 3 <= rule["width"] / widest <= 1 / 2
    assert abs((rule["x0"] + rule["x1"]) / 2 - CENTRE) < 1 * MM
    recipient = only(middle, h.recipient)
    assert 13 <= recipient.size <= 14 and recipient.upright and not recipient.bold
    return recipient.bottom


def _check_body(pdf, header_bottom: float) -> list[str]:
    """Ô 6: 13-14 pt, justified, first lines indented 1-1.27 cm, at least 6 pt between
    paragraphs, single to 1.5 line spacing. Returns every line's text (all pages)."""
    texts = []
    last_page = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        texts += [line.text for line in lines_of(page)]
        lines = lines_of(page, (0, TOP, page.width, page.height), min_size=13.5)
        if number == 1:
            lines = [line for line in lines if line.top > header_bottom]
        if number == last_page:
            end = next(line.top for line in lines_of(page) if line.text.startswith("Nơi nhận"))
            lines = [line for line in lines if line.bottom < end - 2]
        for line, after in zip(lines, [*lines[1:], None], strict=False):
            assert 13 <= line.size <= 14, line.text
            starts = abs(line.x0 - LEFT - INDENT) < TOLERANCE or (
                LEFT + 10 * MM - TOLERANCE <= line.x0 <= LEFT + INDENT + TOLERANCE
            )
            assert starts or abs(line.x0 - LEFT) < TOLERANCE, (number, line.text)
            if after is None:
                continue
            pitch = after.top - line.top
            if abs(after.x0 - LEFT) < TOLERANCE:  # the paragraph goes on: this line is full
                assert abs(line.x1 - RIGHT) < TOLERANCE, (number, line.text)
                assert line.size <= pitch <= 1.5 * 1.15 * line.size + 0.5, (number, line.text)
            elif pitch < 60:  # a new paragraph on the same page (not after a table or chart)
                assert pitch >= 1.15 * line.size + 6 - 0.5, (number, line.text, pitch)
    return texts


def _check_signature(page, doc) -> None:
    """Ô 9b: "Nơi nhận:" 12 pt bold italic, level with the signer's title, flush left; its
    lines 11 pt upright; ô 7a/7b: signer's title and name 13-14 pt bold, centred right."""
    s = doc.signature
    lines = lines_of(page, (LEFT - 2, TOP, HEADER_SPLIT + 20 * MM, page.height))
    start = next(i for i, line in enumerate(lines) if line.text == s.distribution_label)
    label, *recipients = lines[start : start + 1 + len(s.distribution)]
    assert label.size == 12 and label.bold and label.italic and abs(label.x0 - LEFT) < TOLERANCE
    assert [line.text for line in recipients] == [f"- {line}" for line in s.distribution]
    for line in recipients:
        assert line.size == 11 and line.upright and not line.bold
    signer = lines_of(page, (LEFT + (RIGHT - LEFT) / 2, label.top - 2, RIGHT + 2, page.height))
    assert [line.text for line in signer] == [*s.title_lines, s.name]
    for line in signer:
        assert 13 <= line.size <= 14 and line.bold and line.upright
        assert abs(line.centre - SIGNER_CENTRE) < 1 * MM
    assert abs(signer[0].top - label.top) < 3  # level with the signing authority


TABLE_HEAD = re.compile(r"^TT .+ Tiếp nhận Trực tuyến Tỷ lệ$")
TABLE_ROW = re.compile(r"^\d+ .+ (?:[\d.]+|–) (?:[\d.]+|–) (?:\d+,\d\d%|–)$")


def _tables(pdf) -> list[list[int]]:
    """Each figures table as the number of its rows on each page it crosses; asserts that
    its header row repeats on every page."""
    tables: list[list[int]] = []
    open_table = False
    for page in pdf.pages:
        lines = [line.text for line in lines_of(page, (0, TOP, page.width, page.height), 10)]
        for index, text in enumerate(lines):
            if TABLE_HEAD.match(text):
                if not open_table:
                    tables.append([])
                tables[-1].append(0)
                open_table = True
            elif TABLE_ROW.match(text) or text.startswith("Tổng cộng "):
                assert open_table and tables[-1], f"a row without its header: {text}"
                assert index > 0 and (
                    TABLE_HEAD.match(lines[index - 1]) or TABLE_ROW.match(lines[index - 1])
                ), f"a row away from its table: {text}"
                tables[-1][-1] += 1
                if text.startswith("Tổng cộng "):
                    open_table = False
    assert not open_table
    return tables


def _check_tables(tables: list[list[int]], doc) -> None:
    """A table never starts with a few rows at a page's foot: one that fits on a page is whole,
    a longer one starts with at least 5 rows (and ends with at least 5)."""
    charts = [b.chart for b in doc.blocks if b.chart is not None]
    assert [sum(t) for t in tables] == [len(c.rows) + 1 for c in charts]
    for table in tables:
        if sum(table) <= 31:
            assert len(table) == 1, table
        else:
            assert table[0] >= 5 and table[-1] >= 5, table


def _check_references(texts: list[str], doc) -> None:
    """A document reference or a date (1809/STTTT-TTTTTT, 766/QĐ-TTg) is never split."""
    tokens = set(_JOINED.findall(doc.plain_text()))
    assert {"1809/STTTT-TTTTTT", "766/QĐ-TTg"} <= tokens or "SKHCN" in doc.header.symbol
    for token in tokens:
        assert any(token in text for text in texts), f"split across lines: {token}"


def test_seed_month_pdf_to_the_letter(demo_app):
    import pdfplumber

    doc = _document("2023-09", date(2023, 9, 29))
    with pdfplumber.open(io.BytesIO(_pdf(doc))) as pdf:
        _check_fonts_and_margins(pdf)
        header_bottom = _check_header(
            pdf.pages[0],
            doc,
            agency=["SỞ THÔNG TIN VÀ", "TRUYỀN THÔNG"],
            parent=["ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG"],
        )
        texts = _check_body(pdf, header_bottom)
        _check_signature(pdf.pages[-1], doc)
        tables = _tables(pdf)
    _check_tables(tables, doc)
    assert [len(t) for t in tables] == [1, 1, 1]  # 19, 15 and 14 rows: each on one page
    _check_references(texts, doc)
    assert any("1809/STTTT-TTTTTT ngày 31/8/2023" in text for text in texts)


def test_2025_month_pdf_to_the_letter(eras_app):
    import pdfplumber

    doc = _document("2025-08", date(2025, 9, 3))
    assert doc.header.agency == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    with pdfplumber.open(io.BytesIO(_pdf(doc))) as pdf:
        _check_fonts_and_margins(pdf)
        header_bottom = _check_header(
            pdf.pages[0],
            doc,
            agency=["SỞ KHOA HỌC VÀ CÔNG NGHỆ"],
            parent=["ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG"],
        )
        texts = _check_body(pdf, header_bottom)
        _check_signature(pdf.pages[-1], doc)
        tables = _tables(pdf)
    _check_tables(tables, doc)
    # The 114 communes cross pages: a first page of at least 5 rows, the header on each.
    assert len(tables[1]) >= 3 and min(tables[1]) >= 5, tables
    _check_references(texts, doc)


# --- the DOCX -------------------------------------------------------------------------------


def _runs_xml_text(paragraph) -> str:
    """The paragraph's w:t texts only (a w:noBreakHyphen is not a "-" here)."""
    from docx.oxml.ns import qn

    return "".join(t.text or "" for t in paragraph._p.iter(qn("w:t")))


def test_seed_month_docx_to_the_letter(demo_app):
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    from helpdesk.reports.word import render_docx

    doc = _document("2023-09", date(2023, 9, 29))
    document = docx.Document(io.BytesIO(render_docx(doc)))
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert 20 <= round(section.top_margin.mm) <= 25 and 20 <= round(section.bottom_margin.mm) <= 25
    assert 30 <= round(section.left_margin.mm) <= 35 and 15 <= round(section.right_margin.mm) <= 20
    # Page numbers: a PAGE field centred in the header, 13-14 pt; none on the first page.
    assert section.different_first_page_header_footer
    number = section.header.paragraphs[0]
    assert "PAGE" in number._p.xml and number.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(Pt(13) <= r.font.size <= Pt(14) for r in number.runs)
    assert "PAGE" not in section.first_page_header._element.xml

    # Every run in Times New Roman.
    body = document.element.body
    names = {f.get(qn("w:ascii")) for f in body.iter(qn("w:rFonts"))}
    assert names == {"Times New Roman"}

    # The header table: no cell padding, 40/60 columns; the agency in its measured lines with
    # no-break spaces inside words; sizes and styles as the PDF.
    header = document.tables[0]
    assert 'w:w="0"' in header._tbl.tblPr.xml  # tblCellMar: the column is the text width
    grid = [int(c.get(qn("w:w"))) for c in header._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert [round(w * 25.4 / 1440) for w in grid] == [66, 99]  # 40 % and 60 % of 165 mm
    org, nation = header.rows[0].cells
    lines = [p for p in org.paragraphs if p.text]
    assert [p.text.replace("\xa0", " ") for p in lines] == [
        "ỦY BAN NHÂN DÂN",
        "THÀNH PHỐ HẢI PHÒNG",
        "SỞ THÔNG TIN VÀ",
        "TRUYỀN THÔNG",
    ]
    assert lines[3].text == "TRUYỀN\xa0THÔNG"  # Word cannot break inside the word either
    for paragraph, bold in zip(lines, (False, False, True, True), strict=True):
        (run,) = paragraph.runs
        assert run.font.size == Pt(12) and bool(run.bold) == bold
    rule = org.paragraphs[-1]
    assert "w:bottom" in rule._p.xml and not rule.text
    rule_mm = 66 - 2 * rule.paragraph_format.left_indent.mm
    from helpdesk.reports.document import line_width_mm

    assert 1 / 3 <= rule_mm / line_width_mm("SỞ THÔNG TIN VÀ", 12, True) <= 1 / 2
    (nation_run,) = nation.paragraphs[0].runs
    assert nation_run.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and nation_run.bold
    assert nation_run.font.size == Pt(12)
    (motto,) = nation.paragraphs[1].runs
    assert motto.bold and motto.underline and motto.font.size == Pt(13)
    number_cell, date_cell = header.rows[1].cells
    assert number_cell.paragraphs[0].runs[0].font.size == Pt(13)
    (date_run,) = date_cell.paragraphs[0].runs
    assert date_run.italic and date_run.font.size == Pt(13)

    # Body paragraphs: 14 pt, justified, first line 1.27 cm, 6 pt after; references whole.
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    body_paras = [p for p in paragraphs if p.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY]
    assert len(body_paras) > 20
    for paragraph in body_paras:
        assert paragraph.paragraph_format.first_line_indent == Cm(1.27)
        assert paragraph.paragraph_format.space_after >= Pt(6)
        assert all(r.font.size == Pt(14) for r in paragraph.runs if r.text)
    reference = next(p for p in body_paras if "1809/STTTT-TTTTTT" in p.text)
    assert "w:noBreakHyphen" in reference._p.xml
    assert "1809/STTTT-TTTTTT" not in _runs_xml_text(reference)  # its hyphen does not break
    assert "1809/STTTTTTTTTT" in _runs_xml_text(reference)

    # Figures tables of up to 31 rows are kept whole (each row kept with the next).
    figures = [t for t in document.tables if t.rows[0].cells[0].text == "TT"]
    assert len(figures) == 3
    for table in figures:
        keeps = [
            all(p.paragraph_format.keep_with_next for p in r.cells[1].paragraphs)
            for r in table.rows
        ]
        assert keeps == [True] * (len(table.rows) - 1) + [False]

    # Nơi nhận 12 pt bold italic, its lines 11 pt; the signer 14 pt bold.
    signature = document.tables[-1]
    recipients, signer = signature.rows[0].cells
    label = recipients.paragraphs[0].runs[0]
    assert label.text == "Nơi nhận:" and label.bold and label.italic and label.font.size == Pt(12)
    assert all(p.runs[0].font.size == Pt(11) for p in recipients.paragraphs[1:])
    named = [p for p in signer.paragraphs if p.text]
    assert [p.text for p in named] == [*doc.signature.title_lines, doc.signature.name]
    assert all(p.runs[0].bold and p.runs[0].font.size == Pt(14) for p in named)


# --- font certainty -------------------------------------------------------------------------


@pytest.fixture
def no_report_font(monkeypatch):
    """A machine without Times New Roman or a metric twin (a family that does not exist)."""
    monkeypatch.setattr(fonts, "FAMILIES", ("Phông Không Có",))
    fonts.report_font.cache_clear()
    yield
    fonts.report_font.cache_clear()


def test_font_check_finds_the_installed_twin(capsys):
    fonts.report_font.cache_clear()
    assert fonts.require_report_font() in fonts.FAMILIES
    assert fonts.main() == 0
    assert "report font:" in capsys.readouterr().out
    width = fonts.text_width("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    assert 87 * MM < width < 90 * MM  # Times New Roman's metrics: it fits the 99 mm column


def test_without_the_font_no_pdf_is_built(demo_app, no_report_font, capsys):
    from helpdesk.reports.builder import ReportError
    from helpdesk.reports.render import FontMissingError, render_html
    from helpdesk.reports.word import render_docx

    assert fonts.report_font() is None
    with pytest.raises(fonts.FontMissing):
        fonts.require_report_font()
    assert fonts.main() == 1
    assert "fonts-liberation2" in capsys.readouterr().err

    doc = _document("2023-09", date(2023, 9, 29))
    with pytest.raises(FontMissingError) as raised:
        _pdf(doc)
    assert isinstance(raised.value, ReportError)
    assert str(raised.value) == fonts.INSTALL_HINT and "fonts-liberation2" in str(raised.value)
    # The editable formats do not depend on the font; the agency still breaks between words.
    assert render_docx(doc).startswith(b"PK")
    assert '<span class="nobr">TRUYỀN THÔNG</span>' in render_html(doc)


def test_without_the_font_the_command_says_how_to_install(demo_app, no_report_font, tmp_path):
    output = tmp_path / "report.pdf"
    result = demo_app.test_cli_runner().invoke(
        args=["report", "build", "--month", "2023-09", "--output", str(output)]
    )
    assert result.exit_code == 1, result.output
    assert fonts.INSTALL_HINT in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_without_the_font_the_pages_say_how_to_install(demo_client, auth, no_report_font):
    from helpdesk.reports.models import IssuedReport
    from helpdesk.stats.models import MonthLock

    auth(demo_client, "supervisor")
    response = demo_client.get("/bao-cao/2023-09/tai-ve.pdf", follow_redirects=True)
    assert response.status_code in (200, 503)
    page = response.get_data(as_text=True)
    assert "fonts-liberation2" in page and response.content_type.startswith("text/html")

    # Issuing stores a PDF: refused with the same message, nothing issued or locked.
    issue = demo_client.post(
        "/bao-cao/2023-09/phat-hanh", data={"confirm": "y"}, follow_redirects=True
    )
    assert issue.status_code in (200, 503)
    assert "fonts-liberation2" in issue.get_data(as_text=True)
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0
    assert db.session.get(MonthLock, "2023-09") is None


def test_2025_docx_long_table_keeps_its_start_and_end(eras_app):
    import docx

    from helpdesk.reports.word import render_docx

    document = docx.Document(io.BytesIO(render_docx(_document("2025-08", date(2025, 9, 3)))))
    communes = [t for t in document.tables if t.rows[0].cells[0].text == "TT"][1]
    assert len(communes.rows) == 1 + 114 + 1
    keeps = [
        all(p.paragraph_format.keep_with_next for p in r.cells[1].paragraphs) for r in communes.rows
    ]
    # The header and rows 1-10 keep with the next (so at least 11 rows start the table), the
    # rows before the last five keep with the next (the table never ends with a lone row).
    assert keeps[:11] == [True] * 11 and keeps[11:-6] == [False] * (len(keeps) - 17)
    assert keeps[-6:] == [True] * 5 + [False]


def test_lean_chart_svg_draws_the_same_picture(demo_app):
    """charts.lean_svg drops matplotlib's naming groups, the metadata and zero rotations and
    nothing else: every drawn element, in the same order, with the same attributes and text."""
    from xml.etree import ElementTree as ET

    from helpdesk.reports import charts
    from helpdesk.reports.services import build_document, figures_of

    doc = build_document("2023-09", date(2023, 9, 29), figures_of("2023-09"))
    chart = next(b.chart for b in doc.blocks if b.chart is not None)
    fig, rc = charts._figure(chart)
    raw = io.BytesIO()
    with rc:
        fig.savefig(raw, format="svg", metadata={"Date": None, "Creator": None})

    def drawn(data: bytes) -> list:
        root = ET.fromstring(data)  # noqa: S314 - our own charts
        skipped = {f"{{{charts.SVG_NS}}}g"}
        inside_metadata = {e for m in root.iter(f"{{{charts.SVG_NS}}}metadata") for e in m.iter()}
        out = []
        for e in root.iter():
            if e.tag in skipped or e in inside_metadata:
                continue
            attrib = dict(e.attrib)
            if re.fullmatch(r"rotate\(-?0 [\d.]+ [\d.]+\)", attrib.get("transform", "")):
                del attrib["transform"]
            d = attrib.get("d")
            if d is not None:
                attrib["d"] = " ".join(d.split())
            out.append((e.tag, attrib, (e.text or "").strip()))
        return out

    lean = charts.chart_svg(chart)
    assert drawn(lean) == drawn(raw.getvalue())
    assert len(drawn(lean)) > 100
    tags = [e.tag for e in ET.fromstring(lean).iter()]  # noqa: S314
    assert not any(t.endswith("}g") or t.endswith("}metadata") for t in tags)
    assert "rotate(-0 " not in lean.decode() and "Hồ sơ" in lean.decode()
