"""The PDF as a reader gets it: A4, NĐ 30/2020 margins, embedded fonts with every glyph,
page numbers from page 2, table headers repeated, no heading alone at a page foot."""

from __future__ import annotations

import io
from datetime import date

import pytest

from helpdesk.extensions import db
from helpdesk.reports.text import HEADINGS

MM = 72 / 25.4


def _document(month="2023-09"):
    from helpdesk.reports.services import build_document

    return build_document(month, date(2023, 9, 29))


def _pdf(doc) -> bytes:
    from helpdesk.reports.render import render_pdf

    return render_pdf(doc)


def _fonts(data: bytes) -> dict[str, tuple[dict, dict]]:
    """BaseFont -> (the font dictionary, its descriptor), for every font any page uses."""
    import pypdf

    fonts = {}
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]
        stack = [resources]
        while stack:  # fonts of the page and of its form XObjects (the SVG charts)
            res = stack.pop().get_object()
            for ref in res.get("/Font", {}).values():
                font = ref.get_object()
                descendant = (
                    font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
                )
                fonts[str(font["/BaseFont"])] = (font, descendant["/FontDescriptor"].get_object())
            for xobject in res.get("/XObject", {}).values():
                xobject = xobject.get_object()
                if "/Resources" in xobject:
                    stack.append(xobject["/Resources"])
    return fonts


def _to_unicode(font) -> dict[int, str]:
    from pdfminer.cmapdb import CMapParser, FileUnicodeMap

    cmap = FileUnicodeMap()
    CMapParser(cmap, io.BytesIO(font["/ToUnicode"].get_object().get_data())).run()
    return dict(cmap.cid2unichr)


def test_fonts_embedded_and_every_character_has_a_glyph(demo_app):
    from fontTools.ttLib import TTFont

    doc = _document()
    data = _pdf(doc)
    fonts = _fonts(data)
    assert fonts, "no font in the PDF"
    covered: set[str] = set()
    for name, (font, descriptor) in fonts.items():
        # Times New Roman, or its installed fallback Liberation Serif: never another face.
        assert "LiberationSerif" in name.replace("-", "") or "TimesNewRoman" in name, name
        program = next(
            (descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor),
            None,
        )
        assert program is not None, f"{name} is not embedded"
        glyphs = TTFont(io.BytesIO(program.get_object().get_data()))
        order = glyphs.getGlyphOrder()
        mapping = _to_unicode(font)
        assert 0 not in mapping, f"{name}: .notdef (a missing glyph) is used for {mapping.get(0)!r}"
        for cid, text in mapping.items():
            if text.strip():
                glyph = glyphs["glyf"][order[cid]]
                assert glyph.numberOfContours != 0, f"{name}: empty glyph for {text!r}"
            covered.update(text)
    needed = {ch for ch in doc.plain_text() if not ch.isspace()}
    assert needed - covered == set(), f"characters without a glyph: {sorted(needed - covered)}"
    assert {"ư", "ơ", "ầ", "ộ", "Ủ", "đ", "Đ", "ỹ"} <= covered


def test_page_geometry_numbers_and_headings(demo_app):
    import pdfplumber

    doc = _document()
    data = _pdf(doc)
    headings = set(HEADINGS.values()) | {"Cấp Sở, ngành", "Cấp quận, huyện", "Cấp xã, phường"}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) >= 4
        for number, page in enumerate(pdf.pages, start=1):
            assert (round(page.width / MM), round(page.height / MM)) == (210, 297)
            words = page.extract_words(extra_attrs=["size"])
            top_margin = [w["text"] for w in words if w["bottom"] < 20 * MM]
            body = [w for w in words if w["top"] >= 20 * MM and w["size"] > 10]
            # Page numbers: none on page 1, centred in the top margin from page 2.
            if number == 1:
                assert top_margin == []
            else:
                assert top_margin == [str(number)], (number, top_margin)
                mark = next(w for w in words if w["bottom"] < 20 * MM)
                centre = (mark["x0"] + mark["x1"]) / 2
                assert abs(centre - (30 * MM + (210 - 45) * MM / 2)) < 3 * MM
            # Margins: 30 mm left, 15 mm right, 20 mm bottom (to within 1 mm: the widths
            # pdfplumber reads for the last glyph of a justified line overshoot a little).
            assert min(w["x0"] for w in body) >= 29 * MM
            assert max(w["x1"] for w in body) <= (210 - 14) * MM
            assert max(w["bottom"] for w in body) <= (297 - 19) * MM
            # No heading alone at the foot of a page (a chart's axis labels after a chart
            # title count as what follows it: the title is not alone).
            if number < len(pdf.pages):
                lines = page.crop((0, 20 * MM, page.width, page.height)).extract_text() or ""
                last = lines.strip().splitlines()[-1].strip()
                assert last not in headings, f"page {number} ends with the heading {last!r}"
                assert not last.endswith("cụ thể:"), f"page {number} ends with {last!r}"


def _many_departments(count: int) -> None:
    """A month whose department table needs more than a page (an agency-wide restructuring)."""
    from helpdesk.stats.models import UnitStat
    from helpdesk.units.models import Unit

    for index in range(1, count + 1):
        unit = Unit(
            code=f"D{index:03d}",
            level="department",
            kind="Sở",
            name=f"Đơn vị thử {index}",
            position=index,
        )
        unit.refresh_search_key()
        db.session.add(unit)
        db.session.flush()
        db.session.add(
            UnitStat(
                month="2024-03",
                unit_id=unit.id,
                received=1000 + index,
                online=900 + index,
                signed_results=index % 3,
            )
        )
    db.session.commit()


def test_a_table_across_pages_repeats_its_header(app):
    import pdfplumber

    _many_departments(70)
    from helpdesk.reports.services import build_document

    data = _pdf(build_document("2024-03", date(2024, 4, 2)))
    pages_with_rows = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            text = page.extract_text() or ""
            rows = [line for line in text.splitlines() if "Sở Đơn vị thử" in line and "%" in line]
            if rows:
                pages_with_rows += 1
                assert "TT Sở, ngành Tiếp nhận Trực tuyến Tỷ lệ" in text, text[:300]
    assert pages_with_rows >= 2


@pytest.mark.parametrize("count", [5, 60])
def test_builder_runs_a_constant_number_of_queries(app, count_queries, count):
    """The builder's SQL does not grow with the number of units."""
    from helpdesk.reports.builder import build_month

    _many_departments(count)
    with count_queries() as counter:
        figures = build_month("2024-03")
    assert len(figures.departments) == count
    # One query per kind of data: statistics exist, the month's units, level totals, payments
    # (this month and the previous), city figures, unit figures, tickets, on-time counts,
    # activities, organisation; no district sums (no district: test_report_eras counts them).
    assert counter.count == 10, counter.statements
