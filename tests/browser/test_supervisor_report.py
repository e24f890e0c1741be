"""A supervisor drafts, corrects, downloads and issues the September 2023 report in Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser
SCREENS = Path(os.environ.get("HELPDESK_SCREENS", "/work/notes/screens"))


def _screenshot(page, name: str) -> None:
    if SCREENS.parent.exists():
        SCREENS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENS / name), full_page=False)


def test_supervisor_overrides_resets_and_issues(live_server, page):
    sign_in(page, live_server.url, "thang.vd", "Thang-Demo-2023")
    nav = page.get_by_role("navigation", name="Điều hướng chính")
    nav.get_by_role("link", name="Báo cáo", exact=True).click()
    page.get_by_role("link", name="Mở bản nháp tháng 9/2023").click()
    expect(page.get_by_role("heading", name="Báo cáo tháng 9/2023")).to_be_visible()
    expect(page.get_by_text("88.904", exact=True).first).to_be_visible()
    chart = "Biểu đồ hồ sơ tiếp nhận và hồ sơ trực tuyến, Cấp Sở, ngành"
    expect(page.get_by_role("img", name=chart).first).to_be_visible()

    # Date, number and signer.
    page.get_by_label("Ngày báo cáo").fill("2023-09-29")
    page.get_by_label("Số văn bản").fill("7")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_text("Đã lưu ngày, số và người ký.")).to_be_visible()
    expect(page.get_by_text("Số: 07/BC-STTTT")).to_be_visible()
    _screenshot(page, "report-draft.png")

    # Override the closing sentence, then restore it.
    page.get_by_text("Sửa đoạn «Câu kết»").click()
    box = page.get_by_label("Nội dung đoạn «Câu kết»")
    box.fill("Sở Thông tin và Truyền thông trân trọng báo cáo./.")
    box.press("Tab")
    page.get_by_role("button", name="Lưu đoạn này").last.click()
    expect(page.get_by_text("Đã lưu đoạn «Câu kết».")).to_be_visible()
    closing = page.locator("#p-closing")
    expect(closing).to_have_text("Sở Thông tin và Truyền thông trân trọng báo cáo./.")
    page.get_by_text("Sửa đoạn «Câu kết»").click()
    page.get_by_role("button", name="Khôi phục nội dung tự động").click()
    expect(page.get_by_text("Đã khôi phục đoạn «Câu kết».")).to_be_visible()
    expect(closing).to_have_text(
        "Sở Thông tin và Truyền thông kính báo cáo Ủy ban nhân dân thành phố./."
    )

    # Download the draft PDF.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải PDF (bản nháp)").click()
    assert download.value.suggested_filename == "bao-cao-2023-09-du-thao.pdf"

    # Issue: the confirmation must be ticked (keyboard only).
    page.get_by_role("button", name="Phát hành báo cáo").click()
    expect(page.get_by_text("Đánh dấu xác nhận trước khi phát hành.")).to_be_visible()
    page.get_by_label("Tôi đã kiểm tra nội dung; phát hành và khóa số liệu tháng này.").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Phát hành báo cáo").click()
    expect(page.get_by_text("Đã phát hành báo cáo tháng 9/2023")).to_be_visible()
    expect(page.get_by_role("link", name="Tải PDF đã phát hành")).to_be_visible()
    expect(page.get_by_text("Sửa đoạn")).to_have_count(0)
    with page.expect_download() as issued:
        page.get_by_role("link", name="Tải PDF đã phát hành").click()
    assert issued.value.suggested_filename == "bao-cao-2023-09.pdf"


def test_operator_does_not_see_reports(live_server, page):
    sign_in(page, live_server.url, "hoa.nt", "Hoa-Demo-2023")
    assert page.get_by_role("link", name="Báo cáo", exact=True).count() == 0  # nav nor tiles
    response = page.goto(live_server.url + "/bao-cao/2023-09")
    assert response.status == 403
