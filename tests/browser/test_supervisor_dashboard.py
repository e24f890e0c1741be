"""A supervisor opens the month's dashboard, clicks a count and lands on the matching list."""

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def _list_total(page) -> int:
    text = page.locator("p.count").inner_text()
    match = re.search(r"trong ([\d.]+) yêu cầu", text)
    assert match, text
    return int(match.group(1).replace(".", ""))


def test_supervisor_opens_a_month_and_drills_down(live_server, page):
    sign_in(page, live_server.url, "thang.vd", "Thang-Demo-2023")
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role(
        "link", name="Tổng hợp"
    ).click()
    assert "/tong-hop/" in page.url

    # Any month can be picked; the form works without JavaScript (a plain GET).
    page.get_by_label("Tháng", exact=True).fill("2023-09")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url(re.compile(r"/tong-hop/2023-09$"))
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Tổng hợp công tác hỗ trợ tháng 9/2023"
    )
    # The charts are images the server drew, and they loaded.
    for chart in page.locator(".charts img").all():
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")

    # The late-dossier complaints of September: click the count in the audience x category table.
    row = page.locator("table.matrix tbody tr").filter(
        has=page.get_by_role("rowheader", name="Phản ánh hồ sơ trễ hạn", exact=True)
    )
    link = row.locator("td").first.get_by_role("link")
    shown = int(link.inner_text())
    assert shown == 24
    link.click()
    page.wait_for_url(re.compile(r"/yeu-cau/\?"))
    assert "month=2023-09" in page.url and "category=late_dossier" in page.url
    assert _list_total(page) == shown
    categories = page.locator("table.tickets tbody tr td:nth-child(4)").all_inner_texts()
    assert categories and set(categories) == {"Phản ánh hồ sơ trễ hạn"}

    # Back on the dashboard, a district's count leads to that district's tickets.
    page.go_back()
    rows = page.locator("section[aria-labelledby=h-district] tbody tr")
    ngo_quyen = rows.filter(has=page.get_by_role("rowheader", name="quận Ngô Quyền", exact=True))
    ngo_quyen.locator("td").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"district="))
    assert _list_total(page) == 14
