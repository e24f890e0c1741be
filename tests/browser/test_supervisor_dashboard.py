"""A supervisor opens the dashboard, picks a quarter and a month with the keyboard, clicks a
count and lands on the matching list."""

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def _list_total(page) -> int:
    text = page.locator("p.count").inner_text()
    match = re.search(r"trong ([\d.]+) yêu cầu", text)
    assert match, text
    return int(match.group(1).replace(".", ""))


def _focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def _pick(page, ky: str, nam: str) -> None:
    """Choose a period with the keyboard only: the kind in the list, Tab, the year, Enter."""
    page.get_by_label("Kỳ", exact=True).focus()
    page.get_by_label("Kỳ", exact=True).select_option(ky)
    assert _focused(page) == "period-ky"
    page.keyboard.press("Tab")
    assert _focused(page) == "period-nam"
    page.keyboard.press("Control+A")
    page.keyboard.type(nam)
    page.keyboard.press("Tab")
    assert _focused(page) == "BUTTON"
    page.keyboard.press("Enter")


def test_supervisor_picks_a_quarter_and_a_month_and_drills_down(live_server, page):
    sign_in(page, live_server.url, "thang.vd", "Thang-Demo-2023")
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role(
        "link", name="Tổng hợp"
    ).click()
    assert "/tong-hop/" in page.url
    # It opens on the newest month with data (the demo ends in September 2023).
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Tổng hợp công tác hỗ trợ tháng 9/2023"
    )

    # A quarter: the form works without JavaScript (a plain GET, then the period's address).
    _pick(page, "Q3", "2023")
    page.wait_for_url(re.compile(r"/tong-hop/2023-Q3$"))
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Tổng hợp công tác hỗ trợ quý III/2023"
    )
    assert page.get_by_label("Kỳ", exact=True).input_value() == "Q3"
    for chart in page.locator(".charts img").all():
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    # The quarter's late-dossier complaints (August and September) lead to exactly those.
    row = page.locator("table.matrix tbody tr").filter(
        has=page.get_by_role("rowheader", name="Phản ánh hồ sơ trễ hạn", exact=True)
    )
    link = row.locator("td").first.get_by_role("link")
    shown = int(link.inner_text())
    assert shown > 24  # September alone has 24
    link.click()
    page.wait_for_url(re.compile(r"/yeu-cau/\?"))
    assert "from=2023-07-01" in page.url and "to=2023-09-30" in page.url
    assert "category=late_dossier" in page.url
    assert _list_total(page) == shown
    page.go_back()

    # A year out of range is not even sent (the field's own limits, 2000 to this year)...
    _pick(page, "Q3", "23")
    assert page.url.endswith("/tong-hop/2023-Q3")
    assert not page.get_by_label("Năm").evaluate("input => input.validity.valid")
    # ... and a malformed address says why, beside the form, which leads on.
    page.goto(live_server.url + "/tong-hop/2023-Q5")
    assert page.get_by_role("alert").inner_text().startswith("“2023-Q5” không phải kỳ báo cáo")
    assert page.get_by_label("Năm").get_attribute("aria-invalid") == "true"

    # A month.
    _pick(page, "09", "2023")
    page.wait_for_url(re.compile(r"/tong-hop/2023-09$"))
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Tổng hợp công tác hỗ trợ tháng 9/2023"
    )
    row = page.locator("table.matrix tbody tr").filter(
        has=page.get_by_role("rowheader", name="Phản ánh hồ sơ trễ hạn", exact=True)
    )
    link = row.locator("td").first.get_by_role("link")
    assert int(link.inner_text()) == 24
    link.click()
    page.wait_for_url(re.compile(r"/yeu-cau/\?"))
    assert "month=2023-09" in page.url and "category=late_dossier" in page.url
    assert _list_total(page) == 24
    # The 5th cell: supervisors have a tick box first (bulk actions).
    categories = page.locator("table.tickets tbody tr td:nth-child(5)").all_inner_texts()
    assert categories and set(categories) == {"Phản ánh hồ sơ trễ hạn"}

    # Back on the dashboard, a district's count leads to that district's tickets.
    page.go_back()
    rows = page.locator("section[aria-labelledby=h-district] tbody tr")
    ngo_quyen = rows.filter(has=page.get_by_role("rowheader", name="quận Ngô Quyền", exact=True))
    ngo_quyen.locator("td").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"district="))
    assert _list_total(page) == 14
