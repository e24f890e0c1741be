"""An operator logs a call with the keyboard alone, in Debian's Chromium."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, LiveServer, sign_in

pytestmark = pytest.mark.browser

KNOWN_PHONE = "0962 820 561"  # Đinh Quang Long, who called on 1 August (HT-2308-0002)
DOSSIER = "000.00.12.H26-230915-0042"


def test_operator_logs_a_call_with_the_keyboard_and_finds_it_by_dossier_code(live_server, page):
    sign_in(page, live_server.url, "hoa.nt", "Hoa-Demo-2023")
    # Operators start on quick entry, with the cursor in the phone field.
    expect(page).to_have_url(re.compile(r"/yeu-cau/moi$"))
    phone = page.get_by_label("Số điện thoại")
    expect(phone).to_be_focused()

    page.keyboard.type(KNOWN_PHONE)
    history = page.locator("#caller-history")
    expect(history.get_by_role("link", name="HT-2308-0002")).to_be_visible()
    expect(history).to_contain_text("Tra cứu trạng thái hồ sơ")
    name = page.get_by_label("Họ tên người yêu cầu")
    expect(name).to_have_value("Đinh Quang Long")  # filled in from the last call

    page.keyboard.press("Tab")
    expect(name).to_be_focused()
    page.keyboard.press("Tab")  # into the category group
    page.keyboard.press("3")  # "Tra cứu trạng thái hồ sơ"
    expect(page.get_by_label("Tra cứu trạng thái hồ sơ")).to_be_checked()
    expect(page.locator("[data-audience-out]")).to_have_text("Đối tượng: Công dân")

    unit = page.get_by_role("combobox", name="Đơn vị liên quan")
    expect(unit).to_be_focused()
    page.keyboard.type("le chan")
    expect(page.get_by_role("listbox").get_by_role("option").first).to_contain_text("quận Lê Chân")
    page.keyboard.press("Enter")
    expect(unit).to_have_value("quận Lê Chân")

    page.keyboard.press("Tab")
    expect(page.get_by_label("Mã hồ sơ")).to_be_focused()
    page.keyboard.type(DOSSIER.lower())
    page.keyboard.press("Tab")
    page.keyboard.type("Hỏi tiến độ hồ sơ đăng ký kinh doanh")
    page.keyboard.press("Control+Enter")  # "Lưu và đóng"

    flash = page.locator(".flash-success")
    expect(flash).to_contain_text(re.compile(r"Đã lưu HT-\d{4}-\d{4} \(đã đóng\)"))
    ref = re.search(r"HT-\d{4}-\d{4}", flash.inner_text()).group(0)
    expect(page.get_by_label("Số điện thoại")).to_be_focused()  # ready for the next call

    page.get_by_role("link", name="Yêu cầu hỗ trợ").first.click()
    search = page.get_by_label("Tìm", exact=True)
    search.fill(DOSSIER)
    search.press("Enter")
    row = page.locator("table.tickets tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ref)
    expect(row).to_contain_text("quận Lê Chân")
    expect(row).to_contain_text("Đã đóng")

    row.get_by_role("link", name=ref).click()
    expect(page.locator("#lich-su")).to_contain_text("Trả lời ngay trong cuộc gọi.")
    expect(page.locator("dl.facts")).to_contain_text(DOSSIER)


def test_bad_input_keeps_what_was_typed(live_server, page):
    sign_in(page, live_server.url, "tuan.pv", "Tuan-Demo-2023")
    page.goto(live_server.url + "/yeu-cau/moi")
    expect(page.get_by_label("Số điện thoại")).to_be_focused()  # type only once focus is there
    page.keyboard.type("0912 345")
    page.get_by_label("Mã hồ sơ").fill("000.00.12-1")
    page.get_by_label("Nội dung").fill("Hỏi về hồ sơ")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#requester_phone-err")).to_contain_text("không phải số điện thoại")
    expect(page.locator("#dossier_code-err")).to_contain_text("không đúng dạng")
    expect(page.locator("#category-err")).to_have_text("Chọn nhóm yêu cầu.")
    expect(page.get_by_label("Nội dung")).to_have_value("Hỏi về hồ sơ")
    expect(page.get_by_label("Số điện thoại")).to_have_value("0912 345")


# -- units over time: the picker offers the units of the call's day -----------------------------


@pytest.fixture
def eras_server(app_factory):
    """The 2023 data set, then the 2025 reorganisation (every 2023 commune ended 30/6/2025)."""
    app = app_factory("eras", WTF_CSRF_ENABLED=True)
    with LiveServer(app) as server:
        yield server


def _to_the_unit_field(page, base_url):
    sign_in(page, base_url, "hoa.nt", "Hoa-Demo-2023")
    expect(page).to_have_url(re.compile(r"/yeu-cau/moi$"))
    expect(page.get_by_label("Số điện thoại")).to_be_focused()
    page.keyboard.type("0912 345 678")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # into the category group
    page.keyboard.press("3")  # "Tra cứu trạng thái hồ sơ"; focus moves on to the unit
    unit = page.get_by_role("combobox", name="Đơn vị liên quan")
    expect(unit).to_be_focused()
    return unit


def test_an_ended_unit_is_shown_ended_and_its_successor_picked_with_the_keyboard(eras_server, page):
    unit = _to_the_unit_field(page, eras_server.url)
    page.keyboard.type("minh khai")
    listbox = page.get_by_role("listbox")
    ended = listbox.get_by_role("group", name=re.compile(r"phường Minh Khai \(quận Hồng Bàng\)"))
    expect(ended).to_contain_text("đã kết thúc 30/6/2025")
    successor = ended.get_by_role("option")
    expect(successor).to_have_count(1)
    expect(successor).to_contain_text("phường Hồng Bàng")
    expect(successor).to_contain_text("đơn vị kế thừa")
    # The ended unit itself is a heading, not a choice.
    expect(listbox.get_by_role("option", name=re.compile("Minh Khai"))).to_have_count(0)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(successor).to_have_attribute("aria-selected", "true")
    expect(unit).to_have_attribute("aria-activedescendant", successor.get_attribute("id"))
    chosen_id = successor.get_attribute("data-id")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".quick-form").screenshot(path=str(ARTIFACTS / "picker-ended-unit.png"))

    page.keyboard.press("Enter")
    expect(unit).to_have_value("phường Hồng Bàng")
    expect(page.locator("input[name=unit_id]")).to_have_value(chosen_id)
    page.keyboard.press("Control+Enter")
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text(re.compile(r"Đã lưu HT-\d{4}-\d{4} \(đã đóng\)"))
    flash.get_by_role("link").click()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("phường Hồng Bàng")
    expect(facts.locator(".ended-mark")).to_have_count(0)


def test_on_a_2023_call_the_unit_of_that_day_is_offered(eras_server, page):
    unit = _to_the_unit_field(page, eras_server.url)
    page.get_by_text("Thêm chi tiết, kênh, thời điểm").click()
    page.get_by_label("Thời điểm tiếp nhận").fill("2023-09-12T09:00")
    unit.click()
    page.keyboard.type("minh khai")
    option = page.get_by_role("listbox").get_by_role("option").first
    expect(option).to_contain_text("phường Minh Khai (quận Hồng Bàng)")
    expect(page.get_by_role("listbox").locator(".ended-mark")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(unit).to_have_value("phường Minh Khai (quận Hồng Bàng)")
    page.keyboard.press("Control+Enter")
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text(re.compile(r"Đã lưu HT-2309-\d{4}"))
    flash.get_by_role("link").click()
    # Saved in 2023, the unit has ended since: its page says so.
    expect(page.locator("dl.facts")).to_contain_text(
        "phường Minh Khai (quận Hồng Bàng) đã kết thúc 30/6/2025"
    )


def test_operator_inserts_a_canned_answer_and_records_satisfaction(live_server, page):
    """Alt+M in the result field opens the picker (the category's answers first, searched
    without accents), Enter inserts; one key records how the caller felt."""
    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.tickets.models import CannedAnswer, Ticket

    sign_in(page, live_server.url, "hoa.nt", "Hoa-Demo-2023")
    page.keyboard.type("0912 000 111")
    page.keyboard.press("Tab")
    page.keyboard.type("Trần Thị Hạnh")
    page.keyboard.press("Tab")
    page.keyboard.press("2")  # "Lấy mã kích hoạt"
    expect(page.get_by_label("Lấy mã kích hoạt")).to_be_checked()
    page.get_by_text("Thêm chi tiết, kênh, thời điểm").click()
    result = page.get_by_label("Đã trả lời / kết quả")
    result.focus()
    page.keyboard.press("Alt+m")
    dialog = page.get_by_role("dialog", name="Chèn câu trả lời mẫu")
    expect(dialog).to_be_visible()
    options = dialog.get_by_role("option")
    expect(options.first).to_contain_text("Đăng nhập bằng tài khoản VNeID")  # made for it
    expect(dialog.get_by_label("Tìm (không dấu cũng được)")).to_be_focused()
    page.keyboard.type("gui lai ma")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Gửi lại mã kích hoạt")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(result).to_have_value(re.compile(r"^Hệ thống đã gửi lại mã kích hoạt"))
    expect(result).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "quick-entry-answer.png"), full_page=True)

    page.get_by_role("radio", name="Không hỏi").focus()
    page.keyboard.press("h")
    expect(page.get_by_role("radio", name="Hài lòng", exact=True)).to_be_checked()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".flash-success")).to_contain_text("Đã lưu HT-")

    with live_server.app.app_context():
        ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert ticket.requester_name == "Trần Thị Hạnh"
        assert ticket.satisfaction == "satisfied"
        assert ticket.resolution_note.startswith("Hệ thống đã gửi lại mã kích hoạt")
        used = db.session.scalar(select(CannedAnswer).where(CannedAnswer.code == "ma-kich-hoat"))
        assert used.uses == 1


def test_a_repeat_call_is_logged_from_the_keyboard_alone(live_server, page):
    """A caller rings again about an open complaint: the panel offers the open request, Alt+1
    adds this call to it (a contact of its own, counted). Another caller, known by the last six
    digits of the number, gets last time's unit and dossier with Alt+L."""
    sign_in(page, live_server.url, "hoa.nt", "Hoa-Demo-2023")
    page.keyboard.type("0395 063 080")
    panel = page.locator("#caller-history")
    duplicates = panel.get_by_role("group", name="Đang mở: cùng người gọi hoặc cùng hồ sơ")
    expect(duplicates).to_contain_text("cùng số điện thoại")
    add = duplicates.get_by_role("button", name=re.compile(r"Thêm cuộc gọi này vào HT-2308-\d{4}"))
    expect(add).to_be_visible()
    target = re.search(r"HT-\d{4}-\d{4}", add.inner_text()).group(0)
    page.keyboard.press("Tab")
    page.keyboard.type("Gọi lại lần hai")  # the name field; summary left blank
    page.keyboard.press("Alt+1")
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text(re.compile(rf"Đã thêm cuộc gọi vào {target} \(lượt liên hệ HT-"))
    expect(page.get_by_label("Số điện thoại")).to_be_focused()

    # The last six digits of a known number: pick it, then reuse last time's unit and dossier.
    page.keyboard.type("820561")
    use = panel.get_by_role("button", name=re.compile(r"0962 820 561"))
    expect(use).to_be_visible()
    use.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Số điện thoại")).to_have_value("0962 820 561")
    reuse = panel.get_by_role("button", name=re.compile("Dùng lại như lần trước"))
    expect(reuse).to_contain_text("000.50.36.H26-230801-0285")
    page.keyboard.press("Alt+l")
    expect(page.get_by_label("Mã hồ sơ")).to_have_value("000.50.36.H26-230801-0285")
    expect(page.get_by_role("combobox", name="Đơn vị liên quan")).not_to_have_value("")
    page.screenshot(path=str(ARTIFACTS / "quick-entry-repeat.png"), full_page=True)
    page.get_by_label("Họ tên người yêu cầu").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("3")  # "Tra cứu trạng thái hồ sơ"
    page.keyboard.press("Control+Enter")
    expect(page.locator(".flash-success")).to_contain_text(re.compile(r"Đã lưu HT-\d{4}-\d{4}"))

    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.tickets.models import Ticket

    with live_server.app.app_context():
        newest, call = db.session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(2))
        assert call.merged_into.ref == target and call.requester_name == "Gọi lại lần hai"
        assert newest.dossier_code == "000.50.36.H26-230801-0285"
        assert newest.requester_phone == "0962820561" and newest.unit_id is not None
