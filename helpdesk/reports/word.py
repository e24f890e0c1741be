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
from .document import Block, Chart, ReportDocument

FONT = "Times New Roman"
INDENT = Cm(1.27)


def _set_font(run, size: float | None = None, bold=None, italic=None) -> None:
    run.font.name = FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic


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
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


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
    table.autofit = False  # keep the widths set below
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (text_mm * 0.4, text_mm * 0.6)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Mm(width)
    center = WD_ALIGN_PARAGRAPH.CENTER
    org, nation = table.rows[0].cells
    _cell_text(org, h.parent_agency.upper(), size=12, align=center)
    _cell_text(org, h.agency.upper(), size=12, bold=True, align=center, first=False)
    _rule(org, widths[0] * 0.35, widths[0])
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
    _paragraph(document, h.subject, bold=True, align=center, after=0)
    rule = document.add_table(rows=1, cols=1)
    rule.autofit = False  # keep the width set below
    _no_borders(rule)
    rule.alignment = WD_TABLE_ALIGNMENT.CENTER
    rule.rows[0].cells[0].width = Mm(text_mm)
    _rule(rule.rows[0].cells[0], text_mm * 0.3, text_mm)
    if h.recipient:
        _paragraph(document, h.recipient, align=center, before=10, after=10)


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
        _set_font(para.add_run(block.text), 14, True, block.kind == "subheading")
        return
    if block.prefix:
        _set_font(para.add_run(block.prefix), 14)
    for text, strong in block.runs:
        _set_font(para.add_run(text), 14, bold=strong)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


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
    table.autofit = False  # keep the widths set below
    table.style = "Table Grid"
    widths = (12, text_mm - 12 - 3 * 28, 28, 28, 28)
    right, center = WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.CENTER
    head = ("TT", chart.unit_heading, "Tiếp nhận", "Trực tuyến", "Tỷ lệ")
    for cell, text, width in zip(table.rows[0].cells, head, widths, strict=True):
        cell.width = Mm(width)
        _cell_text(cell, text, bold=True, align=center)
    _repeat_header(table.rows[0])
    for index, (row, item) in enumerate(zip(table.rows[1:], rows, strict=True), start=1):
        total = item is chart.total
        values = ("" if total else str(index), item.label, *item.cells)
        aligns = (center, None, right, right, right)
        for cell, text, width, align in zip(row.cells, values, widths, aligns, strict=True):
            cell.width = Mm(width)
            _cell_text(cell, text, bold=total, align=align)
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    if chart.note:
        _paragraph(document, chart.note, size=12, italic=True, before=2)
    else:
        _paragraph(document, after=4, size=6)


def _signature(document, doc: ReportDocument, text_mm: float) -> None:
    sig = doc.signature
    table = document.add_table(rows=1, cols=2)
    table.autofit = False  # keep the widths set below
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width = right.width = Mm(text_mm / 2)
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
