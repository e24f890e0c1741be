"""The statistics pages through HTTP: month page, edits, locks, activities, browser imports."""

from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from helpdesk.audit import AuditLog
from helpdesk.extensions import db
from helpdesk.stats import services
from helpdesk.stats.models import Activity, MonthLock, UnitStat
from helpdesk.stats.queries import level_totals
from helpdesk.units.models import Unit

from .conftest import login

SUPERVISOR = ("thang.vd", "Thang-Demo-2023")


@pytest.fixture
def sup(demo_app, tmp_path):
    demo_app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    client = demo_app.test_client()
    assert login(client, *SUPERVISOR).status_code == 302
    return client


def text_of(response) -> str:
    """The page's visible text, tags removed, whitespace collapsed."""
    body = re.sub(
        r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def hidden(response, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', response.get_data(as_text=True))
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


def stat(month: str, code: str) -> UnitStat | None:
    return db.session.scalar(
        select(UnitStat).join(Unit).where(UnitStat.month == month, Unit.code == code)
    )


def multipart(fields: dict) -> tuple[bytes, str]:
    """Encode a form in memory: the test client would spool a big body to an unclosed file."""
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client, *files, kind: str = ""):
    fields = [("files", FileStorage(io.BytesIO(body), name)) for name, body in files]
    body, content_type = multipart([*fields, ("kind", kind)])
    return client.post("/so-lieu/nhap", data=body, content_type=content_type)


def confirm(client, preview, **override):
    data = {k: hidden(preview, k) for k in ("token", "digest", "fingerprint")}
    data.update(override)
    return client.post("/so-lieu/nhap/xac-nhan", data=data)


def stat_count() -> int:
    return db.session.scalar(select(func.count()).select_from(UnitStat))


# --- access and the month page ----------------------------------------------------------------


def test_operators_are_refused(demo_app, auth):
    client = demo_app.test_client()
    auth(client, "operator")
    for url in ("/so-lieu/", "/so-lieu/2023-09", "/so-lieu/nhap", "/so-lieu/2023-09/mau.xlsx"):
        assert client.get(url).status_code == 403, url


def test_index_goes_to_the_latest_month_or_the_chosen_one(sup):
    assert sup.get("/so-lieu/").headers["Location"].endswith("/so-lieu/2023-09")
    assert sup.get("/so-lieu/?thang=2023-10").headers["Location"].endswith("/so-lieu/2023-10")
    assert sup.get("/so-lieu/?thang=2023-13").headers["Location"].endswith("/so-lieu/2023-09")
    assert sup.get("/so-lieu/2023-13").status_code == 404
    assert sup.get("/so-lieu/abc").status_code == 404


def test_month_page_shows_levels_totals_rates_and_activities(sup):
    response = sup.get("/so-lieu/2023-09")
    assert response.status_code == 200
    page = text_of(response)
    summary = page[page.index("Tổng hợp theo cấp") :]
    assert "Cấp Sở, ngành 19/19 31.854 26.162 82,13% 1.817" in summary
    assert "Cấp quận, huyện 15/15 8.453 8.239 97,47% 6.038" in summary
    assert "Cấp xã, phường 217/217 48.597 47.864 98,49% 38.251" in summary
    assert "Toàn thành phố 251/251 88.904 82.265 92,53% 46.106" in summary
    assert "quận Lê Chân (15 đơn vị)" in page  # communes grouped by district
    assert "Cấp xã, phường: đủ 217/217 đơn vị" in page
    assert "67.086" in page and "55.955" in page and "22/09/2023" in page
    assert "Tổng hợp, rà soát thủ tục hành chính" in page  # an activity
    assert "Cần kiểm tra (5)" in page
    body = response.get_data(as_text=True)
    assert 'href="/so-lieu/2023-09/don-vi/SYT/received"' in body


def test_month_page_without_data_lists_everyone_as_missing(sup):
    page = text_of(sup.get("/so-lieu/2023-11"))
    assert "Chưa có số liệu tháng 11/2023" in page
    assert "Cấp Sở, ngành: thiếu 19/19" in page
    assert "Chưa có số liệu đơn vị nào cho tháng 11/2023." in page


# --- single values ----------------------------------------------------------------------------


def test_edit_a_single_value_with_a_reason(sup):
    old = stat("2023-09", "SYT").received
    form = sup.get("/so-lieu/2023-09/don-vi/SYT/received")
    assert form.status_code == 200
    assert hidden(form, "expected") == str(old)
    response = sup.post(
        "/so-lieu/2023-09/don-vi/SYT/received",
        data={"value": "1.234", "expected": str(old), "reason": "Sở Y tế báo lại"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/so-lieu/2023-09#u-SYT")
    assert stat("2023-09", "SYT").received == 1234
    entry = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
    assert entry.action == "stat_edit" and "Lý do: Sở Y tế báo lại" in entry.summary
    assert entry.detail_data["old"] == old and entry.detail_data["new"] == 1234


def test_edit_value_errors_are_shown_beside_the_field(sup):
    current = stat("2023-09", "SYT")
    url = "/so-lieu/2023-09/don-vi/SYT/online"
    response = sup.post(url, data={"value": "12,5", "expected": str(current.online), "reason": ""})
    assert response.status_code == 400
    page = text_of(response)
    assert "không phải số nguyên" in page and "Nhập lý do sửa." in page
    assert 'value="12,5"' in response.get_data(as_text=True)  # what was typed is kept
    response = sup.post(
        url,
        data={
            "value": str(current.received + 1),
            "expected": str(current.online),
            "reason": "Thử vượt tổng",
        },
    )
    assert response.status_code == 400
    assert "lớn hơn Hồ sơ tiếp nhận" in text_of(response)
    assert stat("2023-09", "SYT").online == current.online


def test_stale_edit_is_refused_with_what_changed(sup):
    current = stat("2023-09", "SYT")
    seen = current.online
    current.online = seen - 1  # someone else's save
    db.session.commit()
    response = sup.post(
        "/so-lieu/2023-09/don-vi/SYT/online",
        data={"value": "5", "expected": str(seen), "reason": "Sửa theo công văn"},
    )
    assert response.status_code == 200
    page = text_of(response)
    assert f"lúc mở trang là {seen:,}".replace(",", ".") in page
    assert stat("2023-09", "SYT").online == seen - 1
    assert hidden(response, "expected") == str(seen - 1)  # a second save goes through


def test_edit_city_value(sup):
    response = sup.post(
        "/so-lieu/2023-09/thanh-pho/population_as_of",
        data={"value": "29/09/2023", "expected": "2023-09-22", "reason": "Số liệu đến cuối tháng"},
    )
    assert response.status_code == 302
    assert "29/09/2023" in text_of(sup.get("/so-lieu/2023-09"))
    assert sup.get("/so-lieu/2023-09/thanh-pho/bogus").status_code == 404
    assert sup.get("/so-lieu/2023-09/don-vi/SYT/bogus").status_code == 404
    assert sup.get("/so-lieu/2023-09/don-vi/NOPE/online").status_code == 404


# --- locks ------------------------------------------------------------------------------------


def test_locked_month_is_read_only_until_unlocked_with_a_reason(sup):
    services.lock_month("2023-09", None)
    db.session.commit()
    response = sup.get("/so-lieu/2023-09")
    page = text_of(response)
    assert "Tháng đã khóa" in page and "Thêm hoạt động" not in page
    assert "/don-vi/SYT/received" not in response.get_data(as_text=True)
    old = stat("2023-09", "SYT").received
    response = sup.post(
        "/so-lieu/2023-09/don-vi/SYT/received",
        data={"value": "1", "expected": str(old), "reason": "Thử sửa khi khóa"},
    )
    assert "đã khóa" in text_of(response) and stat("2023-09", "SYT").received == old
    response = sup.post("/so-lieu/2023-09/hoat-dong", data={"text": "Mới"}, follow_redirects=True)
    assert "đã khóa" in text_of(response)
    response = sup.post("/so-lieu/2023-09/mo-khoa", data={"reason": ""})
    assert response.status_code == 400 and "Nhập lý do mở khóa." in text_of(response)
    assert db.session.get(MonthLock, "2023-09") is not None
    response = sup.post("/so-lieu/2023-09/mo-khoa", data={"reason": "Quận báo sai số liệu"})
    assert response.status_code == 302
    assert db.session.get(MonthLock, "2023-09") is None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "unlock"))
    assert "Quận báo sai số liệu" in entry.summary


# --- activities and control totals ------------------------------------------------------------


def test_activities_through_the_page(sup):
    response = sup.post("/so-lieu/2023-10/hoat-dong", data={"text": ""})
    assert response.status_code == 400 and "Nhập nội dung hoạt động." in text_of(response)
    for text in ("Một", "Hai"):
        assert sup.post("/so-lieu/2023-10/hoat-dong", data={"text": text}).status_code == 302
    first, second = db.session.scalars(
        select(Activity).where(Activity.month == "2023-10").order_by(Activity.position)
    ).all()
    url = f"/so-lieu/2023-10/hoat-dong/{second.id}"
    assert sup.post(url + "/chuyen", data={"huong": "len"}).status_code == 302
    assert sup.post(url + "/chuyen", data={"huong": "ngang"}).status_code == 400
    edit = sup.get(url)
    assert hidden(edit, "expected") == "Hai"
    assert sup.post(url, data={"text": "Hai (sửa)", "expected": "Hai"}).status_code == 302
    assert sup.post(f"/so-lieu/2023-10/hoat-dong/{first.id}/xoa").status_code == 302
    page = text_of(sup.get("/so-lieu/2023-10"))
    assert "Hai (sửa)" in page and "Một" not in page[page.index("Hoạt động hỗ trợ khác") :]
    # An activity of another month is not reachable under this one.
    assert sup.get(f"/so-lieu/2023-09/hoat-dong/{second.id}").status_code == 404


def test_control_totals_warn_on_the_month_page(sup):
    form = sup.get("/so-lieu/2023-09/tong-kiem-tra")
    assert form.status_code == 200 and "Hiện: 31.854" in text_of(form)
    response = sup.post(
        "/so-lieu/2023-09/tong-kiem-tra",
        data={"department__received": "31.850", "district__online": "abc"},
    )
    assert response.status_code == 400 and "không phải số nguyên" in text_of(response)
    response = sup.post("/so-lieu/2023-09/tong-kiem-tra", data={"department__received": "31.850"})
    assert response.status_code == 302
    page = text_of(sup.get("/so-lieu/2023-09"))
    assert (
        "Cấp Sở, ngành: Hồ sơ tiếp nhận: tổng các đơn vị là 31.854, khác tổng kiểm tra 31.850 "
        "(lệch +4)." in page
    )


# --- template download ------------------------------------------------------------------------


def test_template_download_round_trips_through_the_upload(sup):
    response = sup.get("/so-lieu/2023-10/mau.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "unit_stats-2023-10.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert sheet.max_row == 252
    for row in sheet.iter_rows(min_row=2):
        if row[1].value in ("SYT", "STP"):
            row[3].value, row[4].value = 100, 90
    out = io.BytesIO()
    book.save(out)
    preview = upload(sup, ("unit_stats-2023-10.xlsx", out.getvalue()))
    assert "Thêm mới" in text_of(preview)
    assert stat("2023-10", "SYT") is None  # the preview writes nothing
    done = confirm(sup, preview)
    assert done.headers["Location"].endswith("/so-lieu/2023-10")
    assert level_totals("2023-10")["department"].received == 200


# --- upload preview and confirm ---------------------------------------------------------------


def test_preview_shows_changes_old_to_new_then_confirm_writes(sup):
    syt = stat("2023-09", "SYT")
    old_received, old_online = syt.received, syt.online
    text = (
        "month,unit_code,received,online\n"
        f"2023-09,SYT,{old_received + 100},{old_online}\n"
        "2023-10,STP,50,40\n"
    )
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    preview = upload(sup, ("unit_stats.csv", text.encode()))
    assert preview.status_code == 200
    page = text_of(preview)
    assert "Xem trước: chưa có gì được ghi" in page
    old, new = f"{old_received:,}".replace(",", "."), f"{old_received + 100:,}".replace(",", ".")
    assert f"Sở Y tế · 2023-09 Hồ sơ tiếp nhận: {old} → thành {new}" in page
    assert "Sở Tư pháp · 2023-10 Hồ sơ tiếp nhận: 50 Hồ sơ trực tuyến: 40" in page
    assert "unit_stats.csv unit_stats" not in page  # the kind is shown by its label
    body = preview.get_data(as_text=True)
    assert f"<del>{old}</del>" in body and f"<ins>{new}</ins>" in body
    assert stat("2023-09", "SYT").received == old_received
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before
    done = confirm(sup, preview)
    assert done.status_code == 302 and done.headers["Location"].endswith("/so-lieu/2023-10")
    assert stat("2023-09", "SYT").received == old_received + 100
    assert stat("2023-10", "STP").received == 50
    flashed = text_of(sup.get(done.headers["Location"]))
    assert "Đã nhập unit_stats.csv: 1 thêm mới, 1 cập nhật, 0 không đổi." in flashed
    # The stored bytes are gone: confirming twice imports nothing more.
    again = confirm(sup, preview)
    assert again.headers["Location"].endswith("/so-lieu/nhap")


def test_reupload_is_a_noop_preview(sup, demo_app):
    from helpdesk.cli import DEMO_DIR

    body = (DEMO_DIR / "unit_stats.csv").read_bytes()
    preview = upload(sup, ("unit_stats.csv", body))
    assert "0 0 502" in text_of(preview)  # added, changed, unchanged
    before = stat_count()
    assert confirm(sup, preview).status_code == 302
    assert stat_count() == before


def test_data_changed_between_preview_and_confirm(sup):
    syt = stat("2023-09", "SYT")
    text = f"month,unit_code,received\n2023-09,SYT,{syt.received + 1}\n"
    preview = upload(sup, ("unit_stats.csv", text.encode()))
    # Meanwhile someone fixes the same value by hand.
    syt.received += 1
    db.session.commit()
    response = confirm(sup, preview)
    assert response.status_code == 200
    page = text_of(response)
    assert "Dữ liệu trong hệ thống đã thay đổi từ lúc xem trước" in page
    assert "0 0 1" in page  # the new preview: nothing added or changed, one unchanged
    # Confirming the new preview goes through.
    assert confirm(sup, response).status_code == 302


def test_confirm_refuses_altered_or_foreign_uploads(sup, demo_app, auth):
    text = "month,unit_code,received\n2023-10,SYT,5\n"
    preview = upload(sup, ("unit_stats.csv", text.encode()))
    response = confirm(sup, preview, digest="0" * 64)
    assert response.headers["Location"].endswith("/so-lieu/nhap")
    assert stat("2023-10", "SYT") is None
    other = demo_app.test_client()
    auth(other, "supervisor")
    assert confirm(other, preview).headers["Location"].endswith("/so-lieu/nhap")
    assert stat("2023-10", "SYT") is None
    assert confirm(sup, preview, token="../../etc/passwd").status_code == 302
    assert confirm(sup, preview).status_code == 302
    assert stat("2023-10", "SYT").received == 5


def test_cancel_discards_the_upload(sup, demo_app, tmp_path, auth):
    preview = upload(sup, ("unit_stats.csv", b"month,unit_code,received\n2023-10,SYT,5\n"))
    assert list((tmp_path / "uploads").iterdir())
    other = demo_app.test_client()
    auth(other, "supervisor")
    other.post("/so-lieu/nhap/huy", data={"token": hidden(preview, "token")})
    assert list((tmp_path / "uploads").iterdir())  # only the uploader may cancel
    response = sup.post("/so-lieu/nhap/huy", data={"token": hidden(preview, "token")})
    assert response.status_code == 302
    assert list((tmp_path / "uploads").iterdir()) == []


# --- bad input --------------------------------------------------------------------------------


def test_two_bad_rows_listed_with_their_lines_and_nothing_written(sup):
    text = (
        "month,unit_code,received,online\n"
        "2023-10,SYT,10,5\n"
        "2023-10,STP,498,512\n"
        "2023-10,SKHDT,10,5\n"
        "2023-10,99999,1,1\n"
    )
    response = upload(sup, ("unit_stats.csv", text.encode()))
    page = text_of(response)
    assert "Có 2 lỗi: chưa có gì được ghi" in page
    assert "unit_stats.csv:3: online: 512 lớn hơn received (498)" in page
    assert "unit_stats.csv:5: unit_code: không có đơn vị 99999" in page
    assert "Xác nhận nhập" not in page
    assert stat("2023-10", "SYT") is None


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("unit_stats.pdf", b"%PDF-1.4", "không phải tệp CSV hoặc XLSX"),
        ("so-lieu.xls", b"\xd0\xcf\x11\xe0", "tệp Excel cũ (.xls)"),
        ("unit_stats.csv", b"", "tệp rỗng"),
        ("unit_stats.csv", b"\n\n", "tệp rỗng"),
        ("unit_stats.xlsx", b"PK\x03\x04 not a workbook", "không phải tệp XLSX hợp lệ"),
        ("unit_stats.csv", b"\xff\xfe\x00\x00binary", "không phải UTF-8"),
        ("bao-cao.csv", b"month,unit_code\n", "không rõ loại tệp"),
        ("unit_stats.csv", b"code,level,kind,name\nX,department,S,Y\n", "dòng tiêu đề không"),
        ("users.csv", b"username,full_name,role\nthang.vd,X,admin\n", "chỉ quản trị viên"),
    ],
)
def test_bad_files_give_a_clear_message_and_write_nothing(sup, name, body, message):
    before = stat_count()
    response = upload(sup, (name, body))
    assert response.status_code == 200
    page = text_of(response)
    assert message in page, page[:2000]
    assert "chưa có gì được ghi" in page and "Xác nhận nhập" not in page
    assert stat_count() == before


def test_a_supervisor_cannot_grant_roles_by_import(sup):
    upload(sup, ("users.csv", b"username,full_name,role\nthang.vd,X,admin\n"))
    from helpdesk.auth.models import User

    assert db.session.scalar(select(User.role).where(User.username == "thang.vd")) == "supervisor"


def test_admin_may_import_every_kind(demo_app, tmp_path):
    demo_app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path)
    client = demo_app.test_client()
    login(client, "admin", "Admin-Demo-2023")
    preview = upload(
        client, ("users.csv", b"username,full_name,role\nmoi.nv,Nguyen Van Moi,operator\n")
    )
    assert "Xác nhận nhập" in text_of(preview)


def test_a_kind_chosen_on_the_form_names_the_file(sup):
    preview = upload(
        sup,
        ("So lieu thang 10.csv", b"month,unit_code,received\n2023-10,SYT,7\n"),
        kind="unit_stats",
    )
    page = text_of(preview)
    assert "unit_stats-So lieu thang 10.csv" in page and "Xác nhận nhập" in page
    confirm(sup, preview)
    assert stat("2023-10", "SYT").received == 7


def test_no_file_chosen(sup):
    response = sup.post("/so-lieu/nhap", data={"kind": ""}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Chọn ít nhất một tệp." in text_of(response)


def test_file_over_the_import_limit(sup):
    body = b"month,unit_code,received\n" + b"2023-10,SYT,1\n" * (11 * 1024 * 1024 // 14)
    response = upload(sup, ("unit_stats.csv", body))
    assert "unit_stats.csv: tệp quá lớn (tối đa 10 MB)" in text_of(response)
    assert stat("2023-10", "SYT") is None


def test_fifty_megabytes_is_refused_with_a_clear_message(sup):
    response = upload(sup, ("unit_stats.csv", b"x" * (50 * 1024 * 1024)))
    assert response.status_code == 413
    assert "Tệp quá lớn: mỗi lần tải lên tối đa 10 MB" in text_of(response)
    assert stat("2023-10", "SYT") is None


def test_fifty_megabytes_with_csrf_on(app_factory, tmp_path):
    app = app_factory("demo", WTF_CSRF_ENABLED=True, IMPORT_UPLOAD_DIR=str(tmp_path))
    client = app.test_client()
    page = client.get("/dang-nhap").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/dang-nhap",
        data={"username": SUPERVISOR[0], "password": SUPERVISOR[1], "csrf_token": token},
    )
    body, content_type = multipart(
        [("files", FileStorage(io.BytesIO(b"x" * (50 * 1024 * 1024)), "unit_stats.csv"))]
    )
    response = client.post("/so-lieu/nhap", data=body, content_type=content_type)
    assert response.status_code == 413
    assert "Tệp quá lớn" in text_of(response)
