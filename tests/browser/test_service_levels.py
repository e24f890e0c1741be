"""Service levels in the browser: a supervisor works a late request (promise first, then the
waiting status), and a unit's staff member answers a request forwarded to their unit."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.auth.models import User, UserUnit
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Ticket
from helpdesk.tickets.services import TicketValues, create_ticket, forward_ticket, resolve_unit
from helpdesk.timeutil import now_local

from ..conftest import PASSWORD
from ..test_tickets_views import DEMO
from .conftest import sign_in


def _ticket(opened_days_ago: int, summary: str) -> Ticket:
    category = db.session.scalar(select(Category).where(Category.code == "dossier_status"))
    operator = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    opened = now_local() - timedelta(days=opened_days_ago)
    values = TicketValues(category=category, opened_at=opened, summary=summary,
                          requester_phone="0912345678", dossier_code="H26-0009")  # fmt: skip
    ticket = create_ticket(values, operator.id, close=False, now=opened)
    db.session.commit()
    return ticket


def test_supervisor_promises_a_late_request_then_waits_for_the_caller(live_server, page):
    late = _ticket(20, "Hỏi hồ sơ cấp phép xây dựng quá hạn")
    sign_in(page, live_server.url, "thang.vd", DEMO["thang.vd"])
    page.goto(live_server.url + "/yeu-cau/han-xu-ly")
    queue = page.locator("#late")
    expect(queue).to_contain_text(late.ref)
    queue.get_by_role("link", name=late.ref).click()
    expect(page.get_by_role("heading", name="Quá hạn: hẹn ngày xử lý")).to_be_visible()
    # Trying to work it first: refused, with the reason on the page.
    page.get_by_role("button", name="Bắt đầu xử lý").click()
    expect(page.get_by_text("Yêu cầu đã quá hạn: ghi ngày hẹn xử lý").first).to_be_visible()
    promised = (now_local() + timedelta(days=3)).replace(hour=9, minute=0)
    page.get_by_label("Hẹn xử lý xong lúc").fill(promised.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Tiến độ").fill("Đã chuyển Sở Xây dựng xác minh, chờ trả lời")
    page.get_by_role("button", name="Ghi ngày hẹn").click()
    expect(page.locator(".flash")).to_contain_text("đã ghi ngày hẹn")
    expect(page.locator("#lich-su")).to_contain_text("Đã chuyển Sở Xây dựng xác minh")
    page.get_by_role("button", name="Bắt đầu xử lý").click()
    expect(page.locator(".page-head .badge").first).to_have_text("Đang xử lý")
    page.get_by_label("Ghi chú", exact=True).fill("Chờ người dân gửi bản chụp giấy phép")
    page.get_by_role("button", name="Chờ người yêu cầu").click()
    expect(page.locator(".page-head .badge").first).to_have_text("Chờ người yêu cầu")
    expect(page.locator(".facts")).to_contain_text("tạm dừng")


def test_unit_staff_answer_and_resolve_a_forwarded_request(live_server, page):
    ticket = _ticket(0, "Hỏi kết quả chứng thực bản sao")
    unit = resolve_unit("Lê Chân")
    staff = User(username="canbo.lechan", full_name="Trần Thu Hà", role="unit_staff")
    staff.set_password(PASSWORD)
    db.session.add(staff)
    db.session.flush()
    db.session.add(UserUnit(user_id=staff.id, unit_id=unit.id))
    operator = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    forward_ticket(ticket, unit, "Nhờ phường trả lời", operator, ticket.version, None, now_local())
    db.session.commit()
    sign_in(page, live_server.url, "canbo.lechan", PASSWORD)
    expect(page.get_by_role("heading", name="Yêu cầu chuyển đến đơn vị")).to_be_visible()
    expect(page.get_by_role("navigation").first).not_to_contain_text("Ghi nhận cuộc gọi")
    page.get_by_role("link", name=ticket.ref).click()
    expect(page.locator(".facts")).not_to_contain_text("0912345678")  # no caller's phone
    page.get_by_label("Nội dung").fill("Phường đã trả kết quả chứng thực ngày hôm nay.")
    page.get_by_role("button", name="Đã giải quyết").click()
    expect(page.locator(".flash")).to_contain_text("Đã giải quyết")
    page.get_by_role("link", name="Đã trả lời, trả lại hoặc giải quyết").click()
    expect(page.locator("table.tickets")).to_contain_text(ticket.ref)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "resolved"
