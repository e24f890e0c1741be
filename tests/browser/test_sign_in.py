import re
import time

import pyotp

from helpdesk.cli import DEMO_PASSWORDS, DEMO_TOTP_SECRETS

from .conftest import sign_in


def test_demo_operator_signs_in_and_out(live_server, page):
    sign_in(page, live_server.url, "hoa.nt", "Hoa-Demo-2023")
    assert page.get_by_text("Nguyễn Thị Hoa").first.is_visible()
    page.get_by_role("button", name="Đăng xuất").click()
    assert "/dang-nhap" in page.url


def test_wrong_password_message_beside_field(live_server, page):
    sign_in(page, live_server.url, "hoa.nt", "sai")
    assert page.get_by_text("Tên đăng nhập hoặc mật khẩu không đúng.").is_visible()
    assert page.get_by_label("Tên đăng nhập").input_value() == "hoa.nt"


def test_demo_admin_signs_in_with_a_code_from_the_authenticator(live_server, page):
    sign_in(page, live_server.url, "admin", DEMO_PASSWORDS["admin"][2])
    assert page.url.endswith("/dang-nhap/ma-xac-thuc")
    code_field = page.get_by_label("Mã xác thực")
    assert code_field.evaluate("e => e === document.activeElement")  # typed straight away
    code_field.fill(pyotp.TOTP(DEMO_TOTP_SECRETS["admin"]).now())
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_load_state("networkidle")
    nav = page.get_by_role("navigation", name="Điều hướng chính")
    nav.get_by_role("link", name="Quản trị", exact=True).click()
    assert page.get_by_role("heading", name="Người dùng", exact=True).is_visible()


def test_operator_enrols_from_the_qr_page_then_signs_in_with_a_code(live_server, page):
    sign_in(page, live_server.url, "linh.dm", "Linh-Demo-2023")
    page.get_by_role("link", name=re.compile("Điều hành viên")).click()  # the account link
    page.get_by_role("link", name="Xác thực hai bước").click()
    qr = page.locator(".qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 150  # drawn, not an empty box
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Xác nhận và bật").click()
    codes = page.get_by_role("list", name="Mã khôi phục").get_by_role("listitem")
    assert codes.count() == 10
    page.get_by_role("link", name="Tôi đã lưu các mã, tiếp tục").click()
    page.get_by_role("button", name="Đăng xuất").click()

    sign_in(page, live_server.url, "linh.dm", "Linh-Demo-2023")
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Đăng xuất").is_visible()


def test_cookies_of_a_signed_out_session_open_nothing(live_server, page, browser):
    """As the probe did: sign in with "Ghi nhớ", copy every cookie, sign out, then replay the
    copies in another browser."""
    page.goto(live_server.url + "/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill("hoa.nt")
    page.get_by_label("Mật khẩu").fill("Hoa-Demo-2023")
    page.get_by_label("Ghi nhớ trên máy này").check()
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state("networkidle")
    copied = page.context.cookies()
    assert {c["name"] for c in copied} >= {"session", "helpdesk_remember"}

    before = browser.new_context(locale="vi-VN")
    before.add_cookies(copied)
    thief = before.new_page()
    thief.goto(live_server.url + "/yeu-cau/")
    assert "/yeu-cau/" in thief.url  # the copy works while the session is open...
    before.close()

    page.get_by_role("button", name="Đăng xuất").click()
    assert "/dang-nhap" in page.url
    assert "helpdesk_remember" not in {c["name"] for c in page.context.cookies()}

    after = browser.new_context(locale="vi-VN")
    after.add_cookies(copied)
    thief = after.new_page()
    thief.goto(live_server.url + "/yeu-cau/")
    assert "/dang-nhap" in thief.url  # ...and opens nothing once signed out
    assert thief.get_by_role("button", name="Đăng nhập").is_visible()
    after.close()
