"""The report as a Word document (python-docx), for editing: same text, tables and charts."""

from __future__ import annotations

import io
from datetime import datetime

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from .charts import chart_png, parts
from .document import AGENCY_SIZE, Block, Chart, ReportDocument, line_width_mm, pieces

FONT = "Times New Roman"
INDENT = Cm(1.27)
NBSP = "\u00a0"
# Tables (rows with the total): one of up to WHOLE_ROWS is never split; a longer one keeps its
# first KEEP_FIRST and its last KEEP_LAST rows together (as report.css).
WHOLE_ROWS, KEEP_FIRST, KEEP_LAST = 31, 10, 5
RULE_SHARE = 0.4  # rules under the agency and the subject: 40 % of the text (NĐ 30: 1/3-1/2)


def _set_font(run, size: float | None = None, bold=None, italic=None) -> None:
    run.font.name = FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic


def _add_text(para, text: str, size: float, bold=False, italic=False, keep=False) -> None:
    """A run of ``text``; ``keep``: a reference (1809/STTTT-TTTTTT) whose hyphens are Word's
    non-breaking hyphen (w:noBreakHyphen, drawn as "-" in any font; Liberation Serif has no
    U+2011 glyph), so it never splits across lines. Word does not break after "/"."""
    run = para.add_run()
    _set_font(run, size, bold, italic)
    if not keep:
        run.text = text
        return
    for index, part in enumerate(text.split("-")):
        if index:
            run._r.append(OxmlElement("w:noBreakHyphen"))
        if part:
            run.add_text(part)


def _add_pieces(para, text: str, size: float, bold=False, italic=False) -> None:
    for part, strong, keep in pieces(text):
        _add_text(para, part, size, bold=bold or strong, italic=italic, keep=keep)


def _paragraph(
    container,
    text: str = "",
    *,
    size=14,
    bold=False,
    italic=False,
    align=None,
    indent=None,
    after=6,
    before=0,
    keep_with_next=False,
):
    para = container.add_paragraph()
    fmt = para.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(before)
    fmt.first_line_indent = indent
    fmt.keep_with_next = keep_with_next
    if align is not None:
        para.alignment = align
    if text:
        _set_font(para.add_run(text), size, bold, italic)
    return para


def _rule(cell, width_mm: float, cell_mm: float) -> None:
    """A short centred line (a bottom border on an indented empty paragraph)."""
    para = _paragraph(cell, after=0, size=4)
    side = Mm(max((cell_mm - width_mm) / 2, 0))
    para.paragraph_format.left_indent = side
    para.paragraph_format.right_indent = side
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    para._p.get_or_add_pPr().append(border)


def _no_borders(table) -> None:
    """No borders and no cell padding: a column's text is as wide as the column (the agency
    lines are measured for the 66 mm column)."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side in ("top", "left", "bottom", "right"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:w"), "0")
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def _column_widths(table, widths_mm) -> None:
    """Fixed column widths, in every place a reader looks: the grid (LibreOffice, and Word's
    fixed layout) and each cell (Word)."""
    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm, strict=True):
        col.set(qn("w:w"), str(round(width * 1440 / 25.4)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _agency(cell, lines, *, bold: bool, first: bool) -> float:
    """An agency name in its measured lines, one paragraph each; the words of a line joined by
    no-break spaces inside a word (TRUYỀN THÔNG), so Word too breaks between words only.
    Returns the longest line's width in mm (0 without the font's metrics)."""
    widest = 0.0
    for index, line in enumerate(lines):
        words = [word.replace(" ", NBSP) for word in line]
        _cell_text(
            cell,
            " ".join(words),
            size=AGENCY_SIZE,
            bold=bold,
            align=WD_ALIGN_PARAGRAPH.CENTER,
            first=first and index == 0,
        )
        widest = max(widest, line_width_mm(" ".join(line), AGENCY_SIZE, bold) or 0.0)
    return widest


def _cell_text(
    cell, text: str, *, size=12, bold=False, italic=False, align=None, first=True
) -> None:
    para = cell.paragraphs[0] if first else cell.add_paragraph()
    para.paragraph_format.space_after = Pt(0)
    if align is not None:
        para.alignment = align
    _set_font(para.add_run(text), size, bold, italic)


def _page_number_header(section) -> None:
    """Page numbers centred at the top from page 2 (the first page has its own empty header)."""
    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = para.add_run()
    _set_font(run, 13)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    section.first_page_header.is_linked_to_previous = False


def _header(document, doc: ReportDocument, text_mm: float) -> None:
    h = doc.header
    table = document.add_table(rows=2, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (text_mm * 0.4, text_mm * 0.6)
    _column_widths(table, widths)
    center = WD_ALIGN_PARAGRAPH.CENTER
    org, nation = table.rows[0].cells
    _agency(org, h.parent_agency_lines, bold=False, first=True)
    agency_mm = _agency(org, h.agency_lines, bold=True, first=False)
    _rule(org, (agency_mm or widths[0] * 0.9) * RULE_SHARE, widths[0])
    _cell_text(nation, h.nation, size=12, bold=True, align=center)
    para = nation.add_paragraph()
    para.alignment = center
    para.paragraph_format.space_after = Pt(0)
    run = para.add_run(h.motto)
    _set_font(run, 13, bold=True)
    run.underline = True
    number, date = table.rows[1].cells
    _cell_text(number, h.number_line, size=13, align=center)
    _cell_text(date, h.place_date, size=13, italic=True, align=center)
    for cell in (number, date):
        cell.paragraphs[0].paragraph_format.space_before = Pt(8)

    _paragraph(document, h.doc_type, bold=True, align=center, before=18, after=0)
    subject = _paragraph(document, align=center, after=0)
    _add_pieces(subject, h.subject, 14, bold=True)
    rule = document.add_table(rows=1, cols=1)
    _no_borders(rule)
    rule.alignment = WD_TABLE_ALIGNMENT.CENTER
    _column_widths(rule, (text_mm,))
    _rule(rule.rows[0].cells[0], _subject_mm(h.subject, text_mm) * RULE_SHARE, text_mm)
    if h.recipient:
        _paragraph(document, h.recipient, align=center, before=10, after=10)


def _subject_mm(subject: str, text_mm: float) -> float:
    """The width of the subject's longest line (14 pt bold, filled word by word)."""
    if line_width_mm(subject, 14, True) is None:
        return text_mm * 0.9
    widest, line = 0.0, ""
    for word in subject.split():
        candidate = f"{line} {word}".strip()
        if line and line_width_mm(candidate, 14, True) > text_mm:
            widest = max(widest, line_width_mm(line, 14, True))
            line = word
        else:
            line = candidate
    return max(widest, line_width_mm(line, 14, True))


def _block(document, block: Block, lead: bool = False) -> None:
    """A paragraph; ``lead``: kept on the page of the one that follows."""
    heading = block.kind in ("heading", "subheading")
    para = _paragraph(
        document,
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
        indent=INDENT,
        keep_with_next=heading or lead,
    )
    if heading:
        _add_pieces(para, block.text, 14, bold=True, italic=block.kind == "subheading")
        return
    if block.prefix:
        _set_font(para.add_run(block.prefix), 14)
    for text, strong, keep in block.pieces:
        _add_text(para, text, 14, bold=strong, keep=keep)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def _keep_rows(table) -> None:
    """As the PDF: a table that fits on a page (WHOLE_ROWS rows) is kept whole; a longer one
    keeps its header and first KEEP_FIRST rows together, and its last KEEP_LAST rows (Word
    keeps a row with the next when its paragraphs are "keep with next")."""
    rows = table.rows
    count = len(rows) - 1  # without the header
    last = len(rows) - 1
    for index, row in enumerate(rows):
        if count <= WHOLE_ROWS:
            keep = index < last
        else:
            keep = index <= KEEP_FIRST or last - KEEP_LAST <= index < last
        if keep:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    paragraph.paragraph_format.keep_with_next = True


def _chart(document, chart: Chart, text_mm: float) -> None:
    _paragraph(
        document,
        chart.title,
        size=13,
        bold=True,
        italic=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        before=8,
        after=2,
        keep_with_next=True,
    )
    for part in range(parts(chart)):  # a long chart: several pictures, each whole on a page
        picture = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
        png = io.BytesIO(chart_png(chart, part=part))
        picture.add_run().add_picture(png, width=Mm(text_mm))
    rows = (*chart.rows, chart.total)
    table = document.add_table(rows=1 + len(rows), cols=5)
    table.style = "Table Grid"
    _column_widths(table, (12, text_mm - 12 - 3 * 28, 28, 28, 28))
    right, center = WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.CENTER
    head = ("TT", chart.unit_heading, "Tiếp nhận", "Trực tuyến", "Tỷ lệ")
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        _cell_text(cell, text, bold=True, align=center)
    _repeat_header(table.rows[0])
    for index, (row, item) in enumerate(zip(table.rows[1:], rows, strict=True), start=1):
        total = item is chart.total
        values = ("" if total else str(index), item.label, *item.cells)
        aligns = (center, None, right, right, right)
        for cell, text, align in zip(row.cells, values, aligns, strict=True):
            _cell_text(cell, text, bold=total, align=align)
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    _keep_rows(table)
    if chart.note:
        _paragraph(document, chart.note, size=12, italic=True, before=2)
    else:
        _paragraph(document, after=4, size=6)


def _signature(document, doc: ReportDocument, text_mm: float) -> None:
    sig = doc.signature
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _column_widths(table, (text_mm / 2, text_mm / 2))
    left, right = table.rows[0].cells
    _cell_text(left, sig.distribution_label, size=12, bold=True, italic=True)
    for line in sig.distribution:
        _cell_text(left, f"- {line}", size=11, first=False)
    center = WD_ALIGN_PARAGRAPH.CENTER
    for index, line in enumerate(sig.title_lines):
        _cell_text(right, line, size=14, bold=True, align=center, first=index == 0)
    for _ in range(4):
        _cell_text(right, "", size=14, first=False)
    _cell_text(right, sig.name, size=14, bold=True, align=center, first=False)


def render_docx(doc: ReportDocument) -> bytes:
    """The report as DOCX bytes: A4, NĐ 30/2020 margins, Times New Roman."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    text_mm = 210 - 30 - 15
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.0
    _page_number_header(section)
    props = document.core_properties
    props.title = doc.title
    props.author = doc.header.agency
    props.language = "vi-VN"
    # A fixed timestamp: the same document gives the same bytes' content.
    stamp = datetime.fromisoformat(f"{doc.month}-01T00:00:00")
    props.created = props.modified = stamp
    props.last_modified_by = doc.header.agency
    props.revision = 1

    _header(document, doc, text_mm)
    for index, block in enumerate(doc.blocks):
        following = doc.blocks[index + 1] if index + 1 < len(doc.blocks) else None
        if block.chart is not None:
            _chart(document, block.chart, text_mm)
        else:
            # The commune sentence stays with the district lists that follow it.
            lead = block.key == "s13_commune" and following is not None
            _block(document, block, lead=lead and following.kind == "sub")
    _signature(document, doc, text_mm)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
