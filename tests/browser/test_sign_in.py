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
