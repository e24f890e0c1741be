"""The statistics pages in a database that lived through the 2025 reorganisation.

``eras_app`` holds 09/2023 (19 departments, 15 districts, 217 communes) and 08/2025 (14
departments, 114 communes, no district). Every page, check and template shows the month's units
only, and a code names the unit it means in that month (11311: phường Minh Khai until 30/6/2025,
phường Hồng Bàng after).
"""

from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from helpdesk.cli import DEMO_DIRS, DEMO_PASSWORDS
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.stats import services
from helpdesk.stats.checks import jumps, missing_units
from helpdesk.stats.models import UnitStat
from helpdesk.stats.page import month_page
from helpdesk.stats.queries import level_totals
from helpdesk.stats.template import build_template
from helpdesk.units.models import Unit
from helpdesk.units.periods import CodeIndex

from .conftest import login

SUPERVISOR = "thang.vd"


@pytest.fixture
def sup(eras_app, tmp_path):
    eras_app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    client = eras_app.test_client()
    assert login(client, SUPERVISOR, DEMO_PASSWORDS[SUPERVISOR][2]).status_code == 302
    return client


def text_of(response) -> str:
    body = re.sub(
        r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def hidden(response, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', response.get_data(as_text=True))
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


def unit_in(code: str, month: str) -> Unit:
    return CodeIndex(db.session.scalars(select(Unit).where(Unit.code == code))).in_month(
        code, month
    )


def stat_of(unit: Unit, month: str) -> UnitStat | None:
    return db.session.scalar(
        select(UnitStat).where(UnitStat.unit_id == unit.id, UnitStat.month == month)
    )


def upload(client, name: str, body: bytes):
    boundary, data = encode_multipart(
        MultiDict([("files", FileStorage(io.BytesIO(body), name)), ("kind", "")])
    )
    return client.post(
        "/so-lieu/nhap", data=data, content_type=f"multipart/form-data; boundary={boundary}"
    )


def confirm(client, preview):
    data = {k: hidden(preview, k) for k in ("token", "digest", "fingerprint")}
    return client.post("/so-lieu/nhap/xac-nhan", data=data)


# --- the month page ---------------------------------------------------------------------------


def test_august_2025_page_shows_that_month_s_levels_only(sup):
    response = sup.get("/so-lieu/2025-08")
    assert response.status_code == 200
    page = text_of(response)
    summary = page[page.index("Tổng hợp theo cấp") :]
    assert "Cấp Sở, ngành 14/14 30.412" in summary
    assert "Cấp xã, phường, đặc khu 114/114 68.215" in summary
    assert "Toàn thành phố 128/128 98.627" in summary
    assert "Cấp xã, phường, đặc khu: đủ 114/114 đơn vị" in page
    assert "Tổng cấp xã, phường, đặc khu" in page
    body = response.get_data(as_text=True)
    assert 'id="cap-department"' in body and 'id="cap-commune"' in body
    assert 'id="cap-district"' not in body
    # 114 communes with no district: no district group, no empty "(114 đơn vị)" heading.
    assert 'class="district-group"' not in body and "(114 đơn vị)" not in page
    assert len(re.findall(r'<tr id="u-', body)) == 128
    assert 'id="u-11311"' in body and "phường Hồng Bàng" in page
    assert "phường Minh Khai" not in page  # the 2023 unit with that code
    for word in ("quận", "huyện", "thị trấn"):
        assert word not in page.lower(), word


def test_september_2023_page_is_unchanged_by_the_later_units(sup):
    page = text_of(sup.get("/so-lieu/2023-09"))
    summary = page[page.index("Tổng hợp theo cấp") :]
    expected = [
        "Cấp Sở, ngành 19/19 31.854 26.162 82,13%",
        "Cấp quận, huyện 15/15 8.453 8.239 97,47%",
        "Cấp xã, phường 217/217 48.597 47.864 98,49%",
        "Toàn thành phố 251/251 88.904 82.265 92,53%",
    ]
    for line in expected:
        assert line in summary
    assert "Cấp xã, phường, đặc khu" not in page
    assert "quận Lê Chân (15 đơn vị)" in page  # communes grouped by their district
    assert "phường Minh Khai" in page and "phường Hồng Bàng" not in page
    # The same totals as in a database that never saw 2025.
    eras = {level: t.received for level, t in level_totals("2023-09").items()}
    assert eras == {"department": 31854, "district": 8453, "commune": 48597}


def test_index_opens_the_latest_month_with_data(sup):
    assert sup.get("/so-lieu/").headers["Location"].endswith("/so-lieu/2025-08")
    assert sup.get("/so-lieu/?thang=2023-09").headers["Location"].endswith("/so-lieu/2023-09")


def test_a_month_page_s_query_count_does_not_depend_on_the_era(eras_app, count_queries):
    counts = {}
    for month in ("2023-09", "2025-08", "2025-09"):
        with count_queries() as counter:
            page = month_page(month)
        counts[month] = counter.count
        assert page.sections
    # 2023-09 reads its districts' totals; months without districts skip that one query.
    assert counts["2023-09"] <= 13, counts
    assert counts["2025-08"] == counts["2025-09"] == counts["2023-09"] - 1, counts
    levels = [s.level for s in month_page("2025-08").sections]
    assert levels == ["department", "commune"]


def test_month_page_through_http_in_a_bounded_number_of_queries(sup, count_queries):
    sup.get("/so-lieu/2025-08")  # warm up (the signed-in user, the templates)
    counts = []
    for month in ("2023-09", "2025-08"):
        with count_queries() as counter:
            assert sup.get(f"/so-lieu/{month}").status_code == 200
        counts.append(counter.count)
    assert max(counts) <= 15, counts


# --- checks -----------------------------------------------------------------------------------


def test_the_2025_import_s_warnings_are_about_2025_units(eras_app):
    folder = DEMO_DIRS[-1]
    files = [(name, (folder / name).read_bytes()) for name in ("units.csv", "unit_stats.csv")]
    report = run_import(files, dry_run=True)
    assert report.ok, [str(e) for e in report.errors]
    # Every unit of 2025-07 and 2025-08 reported: only the jumps against July remain.
    assert len(report.warnings) == 7, report.warnings
    for warning in report.warnings:
        assert "gấp hơn 5 lần tháng 7/2025" in warning, warning
    joined = "\n".join(report.warnings)
    for stale in ("chưa có số liệu", "quận", "huyện", "/22", "/331", "/19", "/217"):
        assert stale not in joined


def test_missing_units_count_the_month_s_units(eras_app):
    db.session.execute(delete(UnitStat).where(UnitStat.month == "2025-08"))
    db.session.commit()
    text = "month,unit_code,received,online\n2025-08,SYT,10,10\n"
    report = run_import([("unit_stats.csv", text.encode())], dry_run=True)
    assert report.ok
    assert report.warnings[0].startswith(
        "Cấp Sở, ngành: 13/14 Sở, ban, ngành chưa có số liệu tháng 8/2025: Sở Giáo dục và Đào tạo"
    )
    assert report.warnings[1] == (
        "Cấp xã, phường, đặc khu: chưa đơn vị nào (0/114) có số liệu tháng 8/2025."
    )
    assert len(report.warnings) == 2 and "quận, huyện" not in " ".join(report.warnings)
    # Some communes reported: named with the month's phrase.
    text += "2025-08,11311,5,5\n"
    report = run_import([("unit_stats.csv", text.encode())], dry_run=True)
    assert report.warnings[1].startswith(
        "Cấp xã, phường, đặc khu: 113/114 xã, phường, đặc khu chưa có số liệu tháng 8/2025: "
    )
    # 2023 still counts its own units, named as 2023 names them.
    assert [f.message.split(":")[0] for f in missing_units("2023-11")] == [
        "Chưa có số liệu đơn vị nào cho tháng 11/2023."
    ]
    db.session.execute(delete(UnitStat).where(UnitStat.month == "2023-09", UnitStat.id % 2 == 0))
    db.session.commit()
    found = missing_units("2023-09")
    assert [f.message.split(":")[0] for f in found] == [
        "Cấp Sở, ngành",
        "Cấp quận, huyện",
        "Cấp xã, phường",
    ]
    assert "/19 Sở, ban, ngành" in found[0].message
    assert "/15 quận, huyện" in found[1].message
    assert "/217 xã, phường, thị trấn" in found[2].message


def test_a_jump_compares_the_same_unit_not_the_same_code(eras_app):
    minh_khai, hong_bang = unit_in("11311", "2025-06"), unit_in("11311", "2025-07")
    assert minh_khai.id != hong_bang.id and minh_khai.name == "Minh Khai"
    assert stat_of(hong_bang, "2025-07").payment_transactions == 136
    # The old unit with that code had tiny figures in June: not a base for the new one.
    db.session.add(UnitStat(month="2025-06", unit_id=minh_khai.id, payment_transactions=1))
    db.session.commit()
    assert "11311" not in {f.unit_code for f in jumps("2025-07")}
    # The new unit's own July is its base for August.
    stat_of(hong_bang, "2025-07").payment_transactions = 10
    db.session.commit()
    found = [f for f in jumps("2025-08") if f.unit_code == "11311"]
    assert [f.message for f in found] == [
        "phường Hồng Bàng: Giao dịch thanh toán trực tuyến 90 gấp hơn 5 lần tháng 7/2025 (10)."
    ]


# --- control totals ---------------------------------------------------------------------------


def test_control_totals_only_for_the_month_s_levels(sup, eras_app):
    form = sup.get("/so-lieu/2025-08/tong-kiem-tra")
    body = form.get_data(as_text=True)
    assert 'name="department__received"' in body and 'name="commune__received"' in body
    assert "district__" not in body and "quận, huyện" not in text_of(form)
    assert "Cấp xã, phường, đặc khu" in text_of(form)
    assert 'name="district__received"' in sup.get("/so-lieu/2023-09/tong-kiem-tra").get_data(
        as_text=True
    )
    response = sup.post(
        "/so-lieu/2025-08/tong-kiem-tra",
        data={"commune__received": "68.000", "district__received": "5"},
    )
    assert response.status_code == 302
    page = text_of(sup.get("/so-lieu/2025-08"))
    assert (
        "Cấp xã, phường, đặc khu: Hồ sơ tiếp nhận: tổng các đơn vị là 68.215, khác tổng kiểm tra "
        "68.000 (lệch +215)." in page
    )
    with pytest.raises(services.StatsError, match="Tháng 8/2025 không có đơn vị nào ở cấp quận"):
        services.set_control_totals("2025-08", {("district", "received"): 5}, None)
    db.session.rollback()


# --- the XLSX template ------------------------------------------------------------------------


def test_the_august_2025_template_lists_its_128_units_and_imports_back(sup, eras_app):
    response = sup.get("/so-lieu/2025-08/mau.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 128
    codes = [r[1] for r in rows]
    assert len(set(codes)) == 128
    months = {u.code: u.level for u in map(lambda c: unit_in(c, "2025-08"), codes)}
    assert list(months.values()).count("department") == 14
    assert list(months.values()).count("commune") == 114
    names = {r[1]: r[2] for r in rows}
    assert names["11311"] == "phường Hồng Bàng"
    assert "SKHDT" not in names and "303" not in names  # merged department, a 2023 district
    guide = {r[0]: r[1] for r in book["Hướng dẫn"].iter_rows(values_only=True)}
    assert guide["Đơn vị"].startswith("14 Sở, ban, ngành; 114 xã, phường, đặc khu")
    # Fill in two figures and upload the file as it is.
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == "11311":
            row[3].value, row[4].value = 300, 290
    out = io.BytesIO()
    book.save(out)
    preview = upload(sup, "unit_stats-2025-08.xlsx", out.getvalue())
    assert preview.status_code == 200
    page = text_of(preview)
    assert "0 1 127" in page  # added, changed, unchanged
    assert "phường Hồng Bàng · 2025-08 Hồ sơ tiếp nhận: 246 → thành 300" in page
    assert "Minh Khai" not in page
    assert confirm(sup, preview).status_code == 302
    hong_bang = unit_in("11311", "2025-08")
    assert (stat_of(hong_bang, "2025-08").received, stat_of(hong_bang, "2025-08").online) == (
        300,
        290,
    )
    assert stat_of(unit_in("11311", "2023-09"), "2023-09").received == 226


def test_template_query_count_is_constant(eras_app, count_queries):
    counts = []
    for month in ("2023-09", "2025-08"):
        with count_queries() as counter:
            build_template(month)
        counts.append(counter.count)
    assert counts == [2, 2]


def test_preview_labels_each_code_with_its_unit_of_the_row_s_month(sup, count_queries):
    text = "month,unit_code,received,online\n2023-09,11311,227,222\n2025-08,11311,247,240\n"
    with count_queries() as counter:
        preview = upload(sup, "unit_stats.csv", text.encode())
    page = text_of(preview)
    assert "phường Minh Khai (quận Hồng Bàng) · 2023-09 Hồ sơ tiếp nhận: 226 → thành 227" in page
    assert "phường Hồng Bàng · 2025-08 Hồ sơ tiếp nhận: 246 → thành 247" in page
    labels = [s for s in counter.statements if "FROM units" in s and "units.code IN" in s]
    assert len(labels) == 1, labels


# --- single values ----------------------------------------------------------------------------


def test_editing_11311_in_2023_and_in_2025_edits_two_units(sup):
    minh_khai, hong_bang = unit_in("11311", "2023-09"), unit_in("11311", "2025-08")
    form = sup.get("/so-lieu/2023-09/don-vi/11311/received")
    assert form.status_code == 200
    assert "phường Minh Khai (quận Hồng Bàng) (mã 11311) · tháng 9/2023" in text_of(form)
    assert hidden(form, "expected") == "226"
    response = sup.post(
        "/so-lieu/2023-09/don-vi/11311/received",
        data={"value": "1.111", "expected": "226", "reason": "Phường báo lại"},
    )
    assert response.headers["Location"].endswith("/so-lieu/2023-09#u-11311")
    form = sup.get("/so-lieu/2025-08/don-vi/11311/received")
    assert "Sửa Hồ sơ tiếp nhận phường Hồng Bàng (mã 11311) · tháng 8/2025" in text_of(form)
    assert hidden(form, "expected") == "246"
    response = sup.post(
        "/so-lieu/2025-08/don-vi/11311/received",
        data={"value": "2.222", "expected": "246", "reason": "Phường báo lại"},
    )
    assert response.headers["Location"].endswith("/so-lieu/2025-08#u-11311")
    db.session.expire_all()
    assert stat_of(minh_khai, "2023-09").received == 1111
    assert stat_of(hong_bang, "2025-08").received == 2222
    assert stat_of(minh_khai, "2025-08") is None and stat_of(hong_bang, "2023-09") is None


def test_a_code_that_names_no_unit_in_the_month_says_why(sup):
    response = sup.get("/so-lieu/2025-08/don-vi/11299/received")
    assert response.status_code == 404
    page = text_of(response)
    assert "Tháng 8/2025 không có đơn vị mã 11299" in page
    assert "đã kết thúc ngày 30/6/2025; đơn vị kế thừa: phường Hồng Bàng (11311)" in page
    assert sup.get("/so-lieu/2023-09/don-vi/10510/received").status_code == 404  # not yet
    assert sup.get("/so-lieu/2025-08/don-vi/KHONGCO/received").status_code == 404
    assert sup.get("/so-lieu/2023-09/don-vi/11299/received").status_code == 200


def test_the_service_refuses_a_unit_outside_the_month(eras_app):
    minh_khai = unit_in("11311", "2023-09")
    with pytest.raises(services.StatsError, match="không tồn tại trong tháng 8/2025"):
        services.set_unit_value("2025-08", minh_khai, "received", 1, "Thử sai tháng", None, None)
    db.session.rollback()
    assert stat_of(minh_khai, "2025-08") is None
