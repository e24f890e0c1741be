"""The DOCX is a real Word document laid out like the PDF: page, margins, font, header rows."""

from __future__ import annotations

import io
from datetime import date

from docx.shared import Pt


def test_docx_layout(demo_app):
    import docx

    from helpdesk.reports.services import build_document
    from helpdesk.reports.word import render_docx

    data = render_docx(build_document("2023-09", date(2023, 9, 29)))
    document = docx.Document(io.BytesIO(data))
    section = document.sections[0]
    size = (section.page_width, section.page_height)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(x.mm) for x in size] == [210, 297]  # stored in twips
    assert [round(x.mm) for x in margins] == [20, 20, 30, 15]
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(14)

    # Page numbers at the top from page 2: a PAGE field in the header, an empty first page.
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml
    assert "PAGE" not in section.first_page_header._element.xml

    # Tables behind the charts: their header row repeats on every page, rows do not split.
    figures = [t for t in document.tables if t.rows[0].cells[0].text == "TT"]
    assert [t.rows[0].cells[1].text for t in figures] == ["Sở, ngành", "Quận, huyện", "Quận, huyện"]
    for table in figures:
        assert "w:tblHeader" in table.rows[0]._tr.xml
        assert table.rows[-1].cells[1].text == "Tổng cộng"
    assert [len(t.rows) for t in figures] == [1 + 19 + 1, 1 + 15 + 1, 1 + 14 + 1]

    # The three charts are pictures; bold figures stay bold.
    assert len(document.inline_shapes) == 3
    summary = next(p for p in document.paragraphs if p.text.startswith("Tổng số hồ sơ"))
    bold = [run.text for run in summary.runs if run.bold]
    assert bold[:2] == ["88.904", "31.854"] and "92,53%" in bold
    headings = [p for p in document.paragraphs if p.text.startswith(("1. ", "1.2.", "2. "))]
    assert all(p.paragraph_format.keep_with_next for p in headings)
