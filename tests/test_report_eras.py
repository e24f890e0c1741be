"""The report in a database that lived through the 2025 reorganisation (``eras_app``).

2023-09 is figure for figure the report of a 2023-only database; 2025-08 has two levels only
(14 departments, 114 communes named "xã, phường, đặc khu", no districts) and says so in the PDF,
the DOCX and the draft page; a report issued before the 2025 files were imported keeps its bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from helpdesk.cli import DEMO_2025_DIR, DEMO_PASSWORDS
from helpdesk.extensions import db
from helpdesk.formatting import count2, number, percent
from helpdesk.reports.builder import build_month
from helpdesk.reports.services import build_document
from helpdesk.reports.text import HEADINGS, generated_blocks, paragraph_label
from helpdesk.units.models import Unit

from .conftest import login
from .test_report_pdf import _fonts, _to_unicode
from .test_report_seed import docx_text, pdf_text, squash

MONTH = "2025-08"
REPORT_DATE = date(2025, 9, 5)
DISTRICT_WORDS = ("quận", "huyện")


def _csv(name: str) -> list[dict[str, str]]:
    with open(DEMO_2025_DIR / name, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def expected_2025() -> dict:
    """What the 2025-08 report must say, read from the data set's files (not the database)."""
    units = [u for u in _csv("units.csv") if not u["valid_to"]]  # the units that exist now
    stats = {r["unit_code"]: r for r in _csv("unit_stats.csv") if r["month"] == MONTH}
    communes = [u for u in units if u["level"] == "commune"]
    departments = [u for u in units if u["level"] == "department"]

    def figure(unit, name):
        value = stats.get(unit["code"], {}).get(name, "")
        return int(value) if value else None

    signed = [
        f"{u['kind']} {u['name']} ({count2(figure(u, 'signed_results'))} kết quả)"
        for u in communes
        if figure(u, "signed_results")
    ]
    received = sum(figure(u, "received") or 0 for u in communes)
    online = sum(figure(u, "online") or 0 for u in communes)
    return {
        "departments": departments,
        "communes": communes,
        "signed_communes": signed,
        "commune_total": f"Tổng cộng {number(received)} {number(online)} "
        f"{percent(online, received)}",
        "commune_signed_units": len(signed),
        "commune_received": received,
    }


# --- (a) 2023-09 unchanged by the reorganisation files ----------------------------------------


def test_2023_09_is_the_same_report_in_a_database_of_both_eras(eras_app, app_factory):
    eras_figures = build_month("2023-09")
    eras_blocks = generated_blocks(eras_figures)

    app_factory("demo")  # a 2023-only database (its own app context, pushed on top)
    demo_figures = build_month("2023-09")
    demo_blocks = generated_blocks(demo_figures)

    # Every figure and unit is the same; only the organisation (today's settings) differs.
    assert eras_figures.organisation != demo_figures.organisation
    assert replace(eras_figures, organisation=demo_figures.organisation) == demo_figures
    assert [lvl.level for lvl in eras_figures.levels] == ["department", "district", "commune"]
    assert [lvl.units for lvl in eras_figures.levels] == [19, 15, 217]

    def without_closing(blocks):
        return [b for b in blocks if b.key != "closing"]

    assert without_closing(eras_blocks) == without_closing(demo_blocks)
    assert len(eras_blocks) == len(demo_blocks) > 25
    closing = {b.key: b.text for b in eras_blocks}["closing"]
    assert closing == "Sở Khoa học và Công nghệ kính báo cáo Ủy ban nhân dân thành phố./."
    text = "\n".join(b.text for b in eras_blocks)
    assert "các xã, phường, thị trấn là **48.597** hồ sơ" in text
    assert "Cấp xã có 38.251 hồ sơ của 184/217 đơn vị, cụ thể:" in text
    assert "33/217 xã phường." in text and "đặc khu" not in text


@pytest.mark.parametrize(("month", "queries"), [("2023-09", 11), ("2025-08", 10)])
def test_builder_queries_are_fixed_in_each_era(eras_app, count_queries, month, queries):
    """One query per kind of data; a month without districts has no district sums to read."""
    with count_queries() as counter:
        figures = build_month(month)
    assert counter.count == queries, counter.statements
    assert figures.has_districts is (month == "2023-09")


# --- (b) 2025-08: two levels ------------------------------------------------------------------


def test_2025_08_figures_have_the_month_levels_only(eras_app):
    figures = build_month(MONTH)
    assert [(lvl.level, lvl.units) for lvl in figures.levels] == [
        ("department", 14),
        ("commune", 114),
    ]
    commune = figures.level("commune")
    assert commune.kinds == ("xã", "phường", "đặc khu")
    assert commune.label == "Cấp xã, phường, đặc khu"
    assert figures.level("district") is None and figures.districts == ()
    assert figures.district_communes == ()
    expected = expected_2025()
    assert [u.full_name for u in figures.communes] == [
        f"{u['kind']} {u['name']}" for u in expected["communes"]
    ]
    assert {u.full_name for u in figures.departments} == {
        f"{u['kind']} {u['name']}" for u in expected["departments"]
    }
    assert commune.received == expected["commune_received"]
    assert commune.signed_units == expected["commune_signed_units"]


def _check_2025_text(text: str, fmt: str) -> None:
    expected = expected_2025()
    lowered = text.lower()
    for word in DISTRICT_WORDS:
        assert word not in lowered, f"{fmt}: {word!r} in a month without districts"
    assert "Cấp huyện" not in text and "Cấp quận" not in text
    assert "thị trấn" not in text and "xã phường." not in text
    # The commune level named by its kinds, in every sentence that names it.
    assert "các Sở, ngành là 30.412 hồ sơ, các xã, phường, đặc khu là 68.215 hồ sơ." in text
    assert "các xã, phường, đặc khu là 66.311 hồ sơ (đạt tỷ lệ 97,21%):" in text
    assert "thủ tục hành chính của 107 xã, phường, đặc khu đã được thiết lập" in text
    # 14 departments, 114 communes.
    assert re.search(r"- Cấp sở có [\d.]+ hồ sơ của \d\d/14 đơn vị, cụ thể: ", text), fmt
    assert "- Các đơn vị chưa thực hiện: 03/14 sở, ban ngành, 12/114 xã, phường, đặc khu." in text
    # The communes in one paragraph, in the official order, without district headings.
    signed = expected["signed_communes"]
    head = f"- Cấp xã có 29.502 hồ sơ của {count2(len(signed))}/114 đơn vị, cụ thể: "
    assert head + ", ".join(signed) + "." in text, fmt
    assert "+ " not in text.split("1.3.")[1].split("1.4.")[0]
    # Charts titled by the level's label; the commune table lists every commune.
    assert "Cấp Sở, ngành" in text and "Cấp xã, phường, đặc khu" in text
    assert "TT Xã, phường, đặc khu Tiếp nhận Trực tuyến Tỷ lệ" in text
    table = text.split("TT Xã, phường, đặc khu Tiếp nhận Trực tuyến Tỷ lệ", 1)[1]
    for index, unit in enumerate(expected["communes"], start=1):
        assert f"{index} {unit['kind']} {unit['name']} " in table, (fmt, unit["name"])
    assert expected["commune_total"] in table
    assert "Sở Khoa học và Công nghệ kính báo cáo Ủy ban nhân dân thành phố./." in text


def test_2025_08_pdf(eras_app):
    from helpdesk.reports.render import render_pdf

    doc = build_document(MONTH, REPORT_DATE)
    data = render_pdf(doc)
    text = pdf_text(data)
    _check_2025_text(text, "pdf")
    assert "Hải Phòng, ngày 05 tháng 9 năm 2025" in text

    # Every character of the new names (đặc khu, Thuỷ Nguyên, Hoà Bình...) has a glyph.
    covered: set[str] = set()
    for name, (font, _descriptor) in _fonts(data).items():
        mapping = _to_unicode(font)
        assert 0 not in mapping, f"{name}: .notdef used for {mapping.get(0)!r}"
        for chars in mapping.values():
            covered.update(chars)
    needed = {ch for ch in doc.plain_text() if not ch.isspace()}
    assert needed - covered == set()


def test_2025_08_pdf_pages(eras_app):
    """The long commune table crosses pages cleanly: its header repeated, never one lone row
    at a page foot or head; no heading is left alone at a page foot."""
    import pdfplumber

    from helpdesk.reports.render import render_pdf

    data = render_pdf(build_document(MONTH, REPORT_DATE))
    row = re.compile(r"^\d+ (?:phường|xã|đặc khu) .+ \d+,\d\d%$")
    header = "TT Xã, phường, đặc khu Tiếp nhận Trực tuyến Tỷ lệ"
    headings = set(HEADINGS.values()) | {"Cấp Sở, ngành", "Cấp xã, phường, đặc khu"}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages_with_rows = []
        for page in pdf.pages:
            body = page.crop((0, 20 / 25.4 * 72, page.width, page.height))
            body = body.filter(lambda obj: obj.get("object_type") != "char" or obj["size"] > 10)
            lines = [line.strip() for line in (body.extract_text() or "").splitlines()]
            rows = [line for line in lines if row.match(line)]
            if rows:
                pages_with_rows.append(len(rows))
                assert header in lines, lines[:5]
            # The last line with the charts' own labels: a chart after its title counts.
            last = (page.crop(body.bbox).extract_text() or "").strip().splitlines()[-1].strip()
            assert not last.endswith("cụ thể:"), last
            assert last not in headings, f"page {page.page_number} ends with {last!r}"
    assert sum(pages_with_rows) == 114 and len(pages_with_rows) >= 2
    assert min(pages_with_rows) >= 2


def test_2025_08_docx(eras_app):
    import docx

    from helpdesk.reports.word import render_docx

    data = render_docx(build_document(MONTH, REPORT_DATE))
    _check_2025_text(docx_text(data), "docx")
    document = docx.Document(io.BytesIO(data))
    figures = [t for t in document.tables if t.rows[0].cells[0].text == "TT"]
    assert [t.rows[0].cells[1].text for t in figures] == ["Sở, ngành", "Xã, phường, đặc khu"]
    assert [len(t.rows) for t in figures] == [1 + 14 + 1, 1 + 114 + 1]
    # The department chart, and the 114 communes drawn as three pictures of two columns.
    assert len(document.inline_shapes) == 1 + 3
    lead = next(p for p in document.paragraphs if p.text.startswith("- Cấp xã có"))
    assert not lead.paragraph_format.keep_with_next  # a long paragraph, nothing to keep with


def test_2025_08_draft_page(eras_client, auth):
    auth(eras_client, "supervisor")
    html = eras_client.get(f"/bao-cao/{MONTH}").get_data(as_text=True)
    assert "các xã, phường, đặc khu là <b>68.215</b> hồ sơ" in html
    labels = re.findall(r"Sửa đoạn «([^»]+)»", html)
    assert "1.3. Cấp xã" in labels and "1.3. Cấp sở" in labels
    assert not [label for label in labels if "quận" in label or "huyện" in label], labels
    report = html[html.index('<article class="report-doc"') : html.index("</article>")]
    assert "quận" not in report.lower() and "huyện" not in report.lower()
    assert report.count('class="chart chart-part"') == 3
    assert paragraph_label("s13_commune") == "1.3. Cấp xã"


def test_a_commune_without_district_in_a_month_with_districts(app):
    """A month in which districts ended part way: its district-less communes are listed after
    the districts' communes (chart rows and 1.3), never dropped."""
    from helpdesk.stats.models import UnitStat

    def unit(code, level, kind, name, parent=None, **dates):
        row = Unit(code=code, level=level, kind=kind, name=name, parent=parent, **dates)
        row.refresh_search_key()
        db.session.add(row)
        db.session.flush()
        return row

    district = unit("H1", "district", "huyện", "An Dương", valid_to=date(2024, 3, 15))
    old = unit("X1", "commune", "xã", "An Hưng", district, valid_to=date(2024, 3, 15))
    new = unit("X2", "commune", "đặc khu", "Cát Hải", valid_from=date(2024, 3, 16))
    for row, signed in ((district, 2), (old, 3), (new, 4)):
        db.session.add(
            UnitStat(month="2024-03", unit_id=row.id, received=10, online=9, signed_results=signed)
        )
    db.session.commit()
    doc = build_document("2024-03", date(2024, 4, 2))
    text = doc.plain_text()
    assert "- Cấp xã có 7 hồ sơ của 02/02 đơn vị, cụ thể:" in text
    assert "+ Huyện An Dương: xã An Hưng (03 kết quả);" in text
    assert "+ Không thuộc quận, huyện: đặc khu Cát Hải (04 kết quả)." in text
    chart = next(b.chart for b in doc.blocks if b.chart and b.chart.key == "chart_commune")
    assert [r.label for r in chart.rows] == ["huyện An Dương", "đặc khu Cát Hải"]
    assert chart.title == "Cấp xã, đặc khu"
    assert "các xã, đặc khu là" in text


# --- (c) an issued 2023 report survives the 2025 import ---------------------------------------


def test_a_report_issued_before_the_2025_import_downloads_byte_for_byte(app_factory):
    from helpdesk.imports import run_import
    from helpdesk.imports.engine import collect_files
    from helpdesk.reports import services
    from helpdesk.reports.models import IssuedReport

    app = app_factory("demo")
    services.issue("2023-09", None)
    db.session.commit()
    issued = db.session.scalar(select(IssuedReport))
    pdf, digest, issued_id = bytes(issued.pdf), issued.sha256, issued.id
    assert hashlib.sha256(pdf).hexdigest() == digest

    report = run_import(collect_files([DEMO_2025_DIR]))
    assert report.ok, [str(e) for e in report.errors]
    db.session.expire_all()
    assert db.session.scalar(select(Unit).where(Unit.code == "STTTT", Unit.valid_to.is_not(None)))

    client = app.test_client()
    username = next(u for u, (role, *_rest) in DEMO_PASSWORDS.items() if role == "supervisor")
    assert login(client, username, DEMO_PASSWORDS[username][2]).status_code == 302
    download = client.get(f"/bao-cao/da-phat-hanh/{issued_id}.pdf")
    assert download.status_code == 200
    assert download.data == pdf
    assert hashlib.sha256(download.data).hexdigest() == digest
    assert download.headers["X-Content-SHA256"] == digest
    # The issued month's DOCX is still the issued text (2023's issuer), not today's settings.
    word = client.get("/bao-cao/2023-09/tai-ve.docx")
    assert "Sở Thông tin và Truyền thông kính báo cáo" in docx_text(word.data)
    # And the new month reports on the units it has.
    assert "/114 đơn vị" in squash(build_document(MONTH, REPORT_DATE).plain_text())


def test_cli_builds_the_2025_08_report(eras_app, tmp_path):
    output = tmp_path / "x.pdf"
    result = eras_app.test_cli_runner().invoke(
        args=["report", "build", "--month", MONTH, "--date", "2025-09-05", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(output.read_bytes())
    assert "Hải Phòng, ngày 05 tháng 9 năm 2025" in text
    assert "/114 xã, phường, đặc khu." in text and "quận" not in text.lower()
