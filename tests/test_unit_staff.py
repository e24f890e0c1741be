"""Unit staff (cán bộ đơn vị): bound to units, they see only what was forwarded there, never a
caller's phone, and answer, resolve or send back; an admin binds them. (Every route's access for
the role: tests/test_access.py walks the URL map for each role, unit staff included.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.auth.models import User, UserUnit
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Ticket
from helpdesk.tickets.services import TicketValues, create_ticket, forward_ticket, resolve_unit
from helpdesk.timeutil import now_local

from .api.conftest import Api, token_for
from .conftest import PASSWORD, login


def _staff(make_user, unit_names: list[str], username="canbo.lechan") -> User:
    user = make_user("unit_staff", username=username)
    for name in unit_names:
        db.session.add(UserUnit(user_id=user.id, unit_id=resolve_unit(name).id))
    user.email = f"{username}@haiphong.gov.vn"
    db.session.commit()
    return user


def _forwarded(unit_name: str, phone="0912345678") -> Ticket:
    operator = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    category = db.session.scalar(select(Category).where(Category.code == "dossier_status"))
    now = now_local()
    values = TicketValues(
        category=category, opened_at=now, requester_phone=phone, requester_name="Nguyễn Văn Bình",
        summary=f"Hỏi hồ sơ ở {unit_name}", dossier_code="000.00.21.H26-261203-0001",
    )  # fmt: skip
    ticket = create_ticket(values, operator.id, close=False, now=now)
    forward_ticket(ticket, resolve_unit(unit_name), "Nhờ trả lời", operator, ticket.version, None,
                   now)  # fmt: skip
    db.session.commit()
    return ticket


@pytest.fixture
def staff_client(demo_app, make_user):
    _staff(make_user, ["Lê Chân"])
    client = demo_app.test_client()
    assert login(client, "canbo.lechan").status_code == 302
    return client


def test_unit_staff_see_only_their_units_requests_without_phones(staff_client):
    mine, other = _forwarded("Lê Chân"), _forwarded("Ngô Quyền", phone="0987654321")
    home = staff_client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/yeu-cau-chuyen-den/")
    inbox = staff_client.get("/yeu-cau-chuyen-den/").get_data(as_text=True)
    assert mine.ref in inbox and other.ref not in inbox
    assert "Đơn vị của bạn: Lê Chân" in inbox
    # Five working days from the forwarding: "còn 5 ngày" at night, "còn 4 ngày 7 giờ" by day.
    assert 'class="due due-ok"' in inbox and re.search(r"<small>còn [45] ngày", inbox)
    page = staff_client.get(f"/yeu-cau-chuyen-den/{mine.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and mine.dossier_code in html
    assert "0912345678" not in html and "Nguyễn Văn Bình" not in html  # personal data
    assert staff_client.get(f"/yeu-cau-chuyen-den/{other.id}").status_code == 404
    # The desk's own pages are closed to them.
    assert staff_client.get(f"/yeu-cau/{mine.id}").status_code == 403
    assert staff_client.get("/yeu-cau/").status_code == 403
    assert staff_client.get("/yeu-cau/xuat.csv").status_code == 403


def _act(client, ticket: Ticket, action: str, text: str, version=None):
    db.session.refresh(ticket)
    return client.post(
        f"/yeu-cau-chuyen-den/{ticket.id}/tra-loi",
        data={"u-action": action, "u-text": text, "u-version": str(version or ticket.version),
              "u-seen": "0"},
    )  # fmt: skip


def test_answer_resolve_and_send_back(staff_client):
    answered, sent_back = _forwarded("Lê Chân"), _forwarded("Lê Chân", phone="0911111111")
    empty = _act(staff_client, answered, "answer", "   ")
    assert empty.status_code == 400 and "Nhập nội dung trả lời." in empty.get_data(as_text=True)
    assert _act(staff_client, answered, "answer", "Hồ sơ đang thẩm định").status_code == 302
    db.session.expire_all()
    assert answered.status == "forwarded"
    assert [e.note for e in answered.events if e.kind == "unit_answer"] == ["Hồ sơ đang thẩm định"]
    assert _act(staff_client, answered, "resolve", "Đã trả kết quả ngày 05/12").status_code == 302
    db.session.expire_all()
    assert answered.status == "resolved" and answered.resolution_note == "Đã trả kết quả ngày 05/12"
    # Resolved: nothing more to answer.
    again = _act(staff_client, answered, "answer", "Thêm")
    assert again.status_code == 400 and "không còn chờ đơn vị" in again.get_data(as_text=True)
    no_reason = _act(staff_client, sent_back, "return", "")
    assert no_reason.status_code == 400 and "Ghi lý do trả lại." in no_reason.get_data(True)
    assert _act(staff_client, sent_back, "return", "Hồ sơ thuộc quận Ngô Quyền").status_code == 302
    db.session.expire_all()
    assert sent_back.status == "in_progress" and sent_back.unit_due_at is None
    assert [e.note for e in sent_back.events if e.kind == "returned"] == [
        "Hồ sơ thuộc quận Ngô Quyền"
    ]


def test_a_stale_answer_is_refused_and_kept(staff_client):
    ticket = _forwarded("Lê Chân")
    old = ticket.version
    assert _act(staff_client, ticket, "answer", "Lần một").status_code == 302
    db.session.expire_all()
    ticket.summary = "Đổi bởi người khác"
    db.session.commit()
    stale = _act(staff_client, ticket, "resolve", "Lần hai", version=old)
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "Chưa lưu" in html and "Lần hai" in html
    db.session.expire_all()
    assert ticket.status == "forwarded"


def test_unit_staff_have_their_own_due_time_from_forwarding(demo_app):
    ticket = _forwarded("Lê Chân")
    assert ticket.forwarded_at is not None
    assert ticket.unit_due_at > ticket.forwarded_at + timedelta(days=4)  # 5 working days


def test_unit_staff_tokens_open_no_ticket_endpoint(demo_app, make_user):
    _staff(make_user, ["Lê Chân"])
    _forwarded("Lê Chân")
    api = Api(demo_app, token_for("canbo.lechan"))
    assert api.get("/tickets").status_code == 403
    assert api.get("/counts?month=2023-09&by=status").status_code == 403


def test_an_admin_binds_unit_staff_to_units(demo_app, make_user):
    admin = make_user("admin")
    staff = make_user("unit_staff", username="canbo.moi")
    client = demo_app.test_client()
    login(client, admin.username)
    url = f"/quan-tri/nguoi-dung/{staff.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Email nhận thông báo" in page and "Cán bộ đơn vị" in page
    none = client.post(url, data={"full_name": "Cán bộ mới", "role": "unit_staff",
                                  "email": "bad-address"})  # fmt: skip
    html = none.get_data(as_text=True)
    assert "Chọn ít nhất một đơn vị cho cán bộ đơn vị." in html
    assert "Địa chỉ email không đúng dạng" in html and 'value="bad-address"' in html
    unit = resolve_unit("Lê Chân")
    data = {"full_name": "Cán bộ mới", "role": "unit_staff", "units": [str(unit.id)]}
    saved = client.post(url, data={**data, "email": "canbo.moi@haiphong.gov.vn"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert staff.email == "canbo.moi@haiphong.gov.vn"
    bound = db.session.scalars(select(UserUnit.unit_id).where(UserUnit.user_id == staff.id))
    assert list(bound) == [unit.id]
    assert PASSWORD  # the staff member signs in with the shared test password


def test_the_desks_own_notes_stay_with_the_desk(staff_client):
    from helpdesk.tickets.services import change_status, promise_ticket

    ticket = _forwarded("Lê Chân")
    operator = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    now = now_local()
    ticket.details = "CCCD 031234567890, nhà ở ngõ 12"
    change_status(ticket, "waiting", operator, "Chờ chị Bình gửi CCCD 031234567890", ticket.version,
                  None, now)  # fmt: skip
    promise_ticket(ticket, now + timedelta(days=2), "Đã gọi chị Bình", operator, ticket.version,
                   None, now)  # fmt: skip
    forward_ticket(ticket, resolve_unit("Lê Chân"), "Nhờ phường trả lời giúp", operator,
                   ticket.version, None, now)  # fmt: skip
    db.session.commit()
    html = staff_client.get(f"/yeu-cau-chuyen-den/{ticket.id}").get_data(as_text=True)
    assert "Nhờ phường trả lời giúp" in html  # the message to the unit
    assert "031234567890" not in html and "Đã gọi chị Bình" not in html
    # A duplicate merged into another request is not the unit's to open.
    ticket.merged_into_id = _forwarded("Lê Chân", phone="0900000001").id
    db.session.commit()
    assert staff_client.get(f"/yeu-cau-chuyen-den/{ticket.id}").status_code == 404
