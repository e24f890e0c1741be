"""A supervisor loads a month's figures in the browser: errors, correction, preview, confirm."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser

DEPARTMENTS = [
    "SLDTBXH", "SGTVT", "SGDDT", "SNNPTNT", "STTTT", "SDL", "SVHTT", "SKHCN", "SCT", "STNMT",
    "SNV", "SNGV", "SXD", "SYT", "STP", "SKHDT", "STC", "VPUBND", "TTTP",
]  # fmt: skip


def october_csv(bad: bool) -> bytes:
    lines = ["month,unit_code,received,online"]
    for i, code in enumerate(DEPARTMENTS):
        lines.append(f"2023-10,{code},{1000 + i},{900 + i}")
    if bad:
        lines[5] = "2023-10,STTTT,498,512"  # line 6: more online than received
        lines[12] = "2023-10,99999,1,1"  # line 13: no such unit
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def server(live_server, tmp_path):
    live_server.app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path)
    return live_server


def choose(page, name: str, body: bytes) -> None:
    page.get_by_label("Tệp số liệu (CSV hoặc XLSX)").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": body}
    )


def test_supervisor_fixes_two_bad_rows_then_confirms(server, page):
    sign_in(page, server.url, "thang.vd", "Thang-Demo-2023")
    nav = page.get_by_role("navigation", name="Điều hướng chính")
    nav.get_by_role("link", name="Số liệu tháng").click()
    expect(page.get_by_role("heading", name="Số liệu tháng 9/2023")).to_be_visible()
    page.get_by_role("link", name="Nhập tệp số liệu").click()

    choose(page, "unit_stats.csv", october_csv(bad=True))
    page.get_by_role("button", name="Xem trước").click()
    errors = page.locator(".errors-list li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_have_text("unit_stats.csv:6: online: 512 lớn hơn received (498)")
    expect(errors.nth(1)).to_have_text("unit_stats.csv:13: unit_code: không có đơn vị 99999")
    expect(page.get_by_role("button", name="Xác nhận nhập")).to_have_count(0)

    choose(page, "unit_stats.csv", october_csv(bad=False))
    page.get_by_role("button", name="Xem trước").click()
    expect(page.get_by_role("heading", name="Xem trước: chưa có gì được ghi")).to_be_visible()
    summary = page.locator(".preview-summary tbody tr")
    expect(summary).to_have_text(re.compile(r"unit_stats\.csv.*19\s*0\s*0"))
    page.get_by_role("button", name="Xác nhận nhập").click()

    expect(page).to_have_url(re.compile(r"/so-lieu/2023-10$"))
    expect(
        page.get_by_text("Đã nhập unit_stats.csv: 19 thêm mới, 0 cập nhật, 0 không đổi.")
    ).to_be_visible()
    total = sum(1000 + i for i in range(19))  # 19.171
    online = sum(900 + i for i in range(19))  # 17.271
    row = page.locator("tr.level-total[data-level=department]")
    expect(row).to_contain_text("19/19")
    expect(row).to_contain_text(f"{total:,}".replace(",", "."))
    expect(row).to_contain_text(f"{online:,}".replace(",", "."))
    expect(row).to_contain_text("90,09%")
    # Districts and communes have not reported October yet, and the page says so.
    expect(page.locator("#canh-bao")).to_contain_text("Cấp quận, huyện: chưa đơn vị nào (0/15)")


def test_oversized_file_is_stopped_before_upload(server, page):
    sign_in(page, server.url, "thang.vd", "Thang-Demo-2023")
    page.goto(server.url + "/so-lieu/nhap")
    choose(page, "unit_stats.csv", b"x" * (11 * 1024 * 1024))
    message = page.locator("#size-error")
    expect(message).to_be_visible()
    expect(message).to_have_text("Tệp quá lớn (tối đa 10 MB): unit_stats.csv")
    page.get_by_role("button", name="Xem trước").click()
    expect(page).to_have_url(re.compile(r"/so-lieu/nhap$"))
    expect(page.locator(".preview")).to_have_count(0)
