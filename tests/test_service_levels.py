"""Service levels: due times in working time, the waiting status, late tickets and promises,
the supervisors' queue, on-time counts (dashboard, report, API) and the working calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets import sla
from helpdesk.tickets.models import Category, Ticket, TicketEvent
from helpdesk.tickets.services import (
    TicketError,
    TicketValues,
    add_note,
    assign_ticket,
    change_status,
    create_ticket,
    forward_ticket,
    promise_ticket,
    resolve_unit,
)
from helpdesk.timeutil import now_local
from helpdesk.workcal.services import CalendarError, add_change, forget_calendar

from .api.conftest import Api, token_for
from .conftest import login
from .test_tickets_views import DEMO

MONDAY = datetime(2026, 12, 7, 8, 0)  # a working Monday


def _user(username="hoa.nt") -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _category(code="dossier_status", days=1, response=None) -> Category:
    category = db.session.scalar(select(Category).where(Category.code == code))
    category.due_days = days
    category.response_minutes = response
    db.session.commit()
    return category


def _new(opened_at: datetime, category=None, now=None) -> Ticket:
    values = TicketValues(category=category or _category(), opened_at=opened_at, summary="Thử")
    ticket = create_ticket(values, _user().id, close=False, now=now or opened_at)
    db.session.commit()
    return ticket


# -- due times ---------------------------------------------------------------------------------


def test_a_ticket_is_due_its_categorys_working_days_after_it_came_in(demo_app):
    friday = datetime(2026, 12, 4, 16, 0)
    ticket = _new(friday, _category(days=1, response=60))
    assert ticket.due_at == datetime(2026, 12, 7, 16, 0)  # 60 min Friday + 240 + 150 Monday
    assert ticket.due_date == date(2026, 12, 7)
    assert ticket.response_due_at == datetime(2026, 12, 4, 17, 0)  # the rest of Friday
    two_days = _new(friday, _category(days=2))
    assert two_days.due_at == datetime(2026, 12, 8, 16, 0)


def test_the_admins_days_off_move_due_times(demo_app):
    add_change(date(2026, 12, 7), date(2026, 12, 7), "off", "Nghỉ bù")
    db.session.commit()
    forget_calendar()
    ticket = _new(datetime(2026, 12, 4, 16, 0), _category(days=1))
    assert ticket.due_at == datetime(2026, 12, 8, 16, 0)  # Monday is off now


def test_answered_on_the_spot_is_responded_and_on_time(demo_app):
    values = TicketValues(category=_category(response=30), opened_at=MONDAY)
    ticket = create_ticket(values, _user().id, close=True, now=MONDAY + timedelta(minutes=5))
    assert ticket.responded_at == MONDAY and not sla.is_late(ticket, MONDAY + timedelta(days=30))


def test_taking_a_ticket_in_hand_is_its_first_response(demo_app):
    ticket = _new(MONDAY, _category(response=60))
    change_status(
        ticket, "in_progress", _user(), None, ticket.version, None, MONDAY.replace(hour=10)
    )
    assert ticket.responded_at == MONDAY.replace(hour=10) > ticket.response_due_at


# -- waiting for the caller ------------------------------------------------------------------


def test_waiting_for_the_caller_stops_the_clock(demo_app):
    ticket = _new(MONDAY, _category(days=1))
    assert ticket.due_at == datetime(2026, 12, 8, 8, 0)
    with pytest.raises(TicketError) as refused:  # what the caller must send is said
        change_status(ticket, "waiting", _user(), "", ticket.version, None, MONDAY)
    assert refused.value.field == "note"
    paused = MONDAY.replace(hour=9)
    change_status(ticket, "waiting", _user(), "Chờ gửi ảnh CCCD", ticket.version, None, paused)
    assert ticket.status == "waiting" and ticket.paused_at == paused
    # Days later, still waiting: not late, and the page says the clock is stopped.
    later = datetime(2026, 12, 11, 10, 0)
    assert not sla.is_late(ticket, later)
    assert sla.due_state(ticket, later).state == "paused"
    mine = Ticket.id == ticket.id
    assert db.session.scalar(select(func.count()).where(mine, sla.late_open_condition(later))) == 0
    # Back at 14:00 on Monday: 150 + 30 working minutes paused.
    resumed = MONDAY.replace(hour=14)
    change_status(ticket, "in_progress", _user(), None, ticket.version, None, resumed)
    assert ticket.paused_minutes == 180 and ticket.paused_at is None
    assert ticket.due_at == datetime(2026, 12, 8, 11, 0)


def test_a_ticket_late_before_the_wait_stays_late_while_waiting(demo_app):
    ticket = _new(MONDAY, _category(days=1))
    promise_ticket(ticket, datetime(2026, 12, 9, 17, 0), "Đang xác minh", _user(), ticket.version,
                   None, datetime(2026, 12, 8, 9, 0))  # fmt: skip
    late = datetime(2026, 12, 8, 9, 0)
    change_status(ticket, "waiting", _user(), "Chờ bổ sung giấy tờ", ticket.version, None, late)
    db.session.commit()
    assert sla.is_late(ticket, late + timedelta(days=5))
    condition = sla.late_open_condition(late + timedelta(days=5))
    assert db.session.scalar(select(func.count()).where(Ticket.id == ticket.id, condition)) == 1


# -- late tickets and promises ---------------------------------------------------------------


def test_a_late_ticket_needs_a_promised_date_to_be_worked_on(demo_app):
    now = now_local()
    ticket = _new(now - timedelta(days=20))
    operator = _user()
    assert sla.is_late(ticket, now) and sla.needs_promise(ticket, now)
    with pytest.raises(TicketError) as refused:
        change_status(ticket, "in_progress", operator, None, ticket.version, None, now)
    assert refused.value.field == "promised_at"
    with pytest.raises(TicketError):
        forward_ticket(ticket, resolve_unit("Lê Chân"), None, operator, ticket.version, None, now)
    with pytest.raises(TicketError):
        assign_ticket(ticket, _user("tuan.pv"), _user("thang.vd"), ticket.version, None, now)
    add_note(ticket, "Đã gọi lại, chưa liên lạc được", operator.id)  # a note is always allowed
    # A promise in the past, or without a progress note, is refused with a clear message.
    with pytest.raises(TicketError) as past:
        promise_ticket(ticket, now - timedelta(hours=1), "x", operator, ticket.version, None, now)
    assert past.value.field == "promised_at" and "sau thời điểm hiện tại" in str(past.value)
    with pytest.raises(TicketError) as no_note:
        promise_ticket(ticket, now + timedelta(days=2), " ", operator, ticket.version, None, now)
    assert no_note.value.field == "progress_note"
    promise_ticket(ticket, now + timedelta(days=2), "Chờ Sở xác minh", operator, ticket.version,
                   None, now)  # fmt: skip
    change_status(ticket, "in_progress", operator, None, ticket.version, None, now)
    db.session.commit()
    kinds = [e.kind for e in ticket.events]
    assert "promise" in kinds and ticket.status == "in_progress"
    assert ticket.progress_note == "Chờ Sở xác minh"
    # Once the promised date passes, a new promise is needed again.
    assert sla.needs_promise(ticket, now + timedelta(days=3))


def test_resolving_a_late_ticket_needs_no_promise(demo_app):
    now = now_local()
    ticket = _new(now - timedelta(days=20))
    change_status(ticket, "resolved", _user(), "Đã hướng dẫn", ticket.version, None, now)
    assert ticket.status == "resolved" and sla.is_late(ticket, now)
    assert sla.due_state(ticket, now).state == "done_late"


def test_sql_and_python_agree_on_which_tickets_are_late(demo_app):
    now = now_local()
    cases = {
        "open_late": _new(now - timedelta(days=20)),
        "open_in_time": _new(now),
        "resolved_late": _new(now - timedelta(days=20)),
        "resolved_on_time": _new(now - timedelta(days=20)),
    }
    t = cases["resolved_late"]
    change_status(t, "resolved", _user(), "Xong", t.version, None, now)
    t = cases["resolved_on_time"]
    change_status(t, "resolved", _user(), "Xong", t.version, None, t.opened_at)
    db.session.commit()
    ids = [t.id for t in cases.values()]
    late_sql = set(
        db.session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ids), sla.late_open_condition(now))
        )
    )
    assert late_sql == {cases["open_late"].id}
    row = db.session.execute(select(*sla.on_time_sums(now)).where(Ticket.id.in_(ids))).one()
    assert sla.OnTime(*row).as_dict() == {
        "on_time": 1,
        "late": 1,
        "open_in_time": 1,
        "open_late": 1,
    }
    for name, ticket in cases.items():
        assert sla.is_late(ticket, now) is name.endswith("late"), name


# -- pages -------------------------------------------------------------------------------------


@pytest.fixture
def supervisor(demo_client):
    assert login(demo_client, "thang.vd", DEMO["thang.vd"]).status_code == 302
    return demo_client


def test_the_deadline_queue_lists_late_and_soon_due_tickets(supervisor):
    now = now_local()
    late = _new(now - timedelta(days=30))
    html = supervisor.get("/yeu-cau/han-xu-ly").get_data(as_text=True)
    assert late.ref in html and "Quá hạn" in html and "Sắp đến hạn" in html
    listed = supervisor.get("/yeu-cau/?overdue=1&q=" + late.ref).get_data(as_text=True)
    assert late.ref in listed and "quá hạn" in listed


def test_the_ticket_page_asks_for_a_promise_and_keeps_it(supervisor):
    now = now_local()
    ticket = _new(now - timedelta(days=30))
    page = supervisor.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    assert "Quá hạn: hẹn ngày xử lý" in page and "Để xử lý tiếp" in page
    refused = supervisor.post(
        f"/yeu-cau/{ticket.id}/trang-thai",
        data={"st-target": "in_progress", "st-version": str(ticket.version), "st-seen": "0"},
    )
    assert refused.status_code == 400 and "ghi ngày hẹn" in refused.get_data(as_text=True)
    past = supervisor.post(
        f"/yeu-cau/{ticket.id}/hen",
        data={"pr-promised_at": "2020-01-01T09:00", "pr-progress_note": "Đang làm",
              "pr-version": str(ticket.version), "pr-seen": "0"},
    )  # fmt: skip
    html = past.get_data(as_text=True)
    assert past.status_code == 400 and "Ngày hẹn phải sau thời điểm hiện tại." in html
    assert "Đang làm" in html  # what was typed is shown again
    soon = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    ok = supervisor.post(
        f"/yeu-cau/{ticket.id}/hen",
        data={"pr-promised_at": soon, "pr-progress_note": "Đã chuyển Sở xác minh",
              "pr-version": str(ticket.version), "pr-seen": "0"},
    )  # fmt: skip
    assert ok.status_code == 302
    db.session.expire_all()
    kept = db.session.get(Ticket, ticket.id)
    assert kept.promised_at is not None and kept.progress_note == "Đã chuyển Sở xác minh"
    timeline = supervisor.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    assert "Tiến độ, hẹn xử lý:" in timeline


def test_the_dashboard_shows_on_time_rates_and_ranks_units(supervisor):
    html = supervisor.get("/tong-hop/2023-09").get_data(as_text=True)
    assert "Giải quyết đúng hạn" in html and "Tỷ lệ đúng hạn" in html
    assert "Xếp hạng đơn vị" in html


def test_the_reports_sentence_and_its_removal(supervisor):
    from helpdesk.reports.services import build_document, set_paragraph

    doc = build_document("2023-09")
    text = doc.paragraphs()["s2_on_time"].text
    assert text.startswith("Đã giải quyết") and "đúng hạn đạt" in text
    set_paragraph("2023-09", "s2_on_time", None, version=None, actor_id=_user("thang.vd").id,
                  omit=True)  # fmt: skip
    db.session.commit()
    doc = build_document("2023-09")
    assert "s2_on_time" not in {b.key for b in doc.blocks}
    assert [b.key for b in doc.omitted] == ["s2_on_time"]
    assert "đúng hạn đạt" not in doc.plain_text()
    draft = supervisor.get("/bao-cao/2023-09").get_data(as_text=True)
    assert "Đoạn đã bỏ khỏi báo cáo" in draft and "Đưa lại vào báo cáo" in draft
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "report_omit")) == 1


# -- the working calendar (admin) ----------------------------------------------------------------


def test_overlapping_or_malformed_days_off_are_refused(demo_app):
    add_change(date(2026, 2, 14), date(2026, 2, 22), "off", "Tết Bính Ngọ")
    with pytest.raises(CalendarError) as overlap:
        add_change(date(2026, 2, 20), date(2026, 2, 25), "off", "Trùng")
    assert "Trùng với “Tết Bính Ngọ”" in str(overlap.value)
    with pytest.raises(CalendarError) as backwards:
        add_change(date(2026, 3, 5), date(2026, 3, 1), "off", "Ngược")
    assert backwards.value.field == "end_date"
    with pytest.raises(CalendarError):
        add_change(date(2026, 3, 5), date(2026, 3, 5), "holiday", "Sai loại")
    with pytest.raises(CalendarError):
        add_change(date(2026, 3, 5), date(2026, 3, 5), "off", "  ")


def test_the_calendar_page(demo_app, make_user):
    admin = make_user("admin")
    client = demo_app.test_client()
    login(client, admin.username)
    page = client.get("/quan-tri/lich-lam-viec?nam=2026").get_data(as_text=True)
    assert "Lịch làm việc năm 2026" in page and "Giao thừa Tết Nguyên Đán" in page
    bad = client.post(
        "/quan-tri/lich-lam-viec?nam=2026",
        data={"start_date": "2026-05-04", "end_date": "2026-05-01", "kind": "off", "name": "Nghỉ"},
    )
    assert bad.status_code == 400 and "Ngày kết thúc trước ngày bắt đầu." in bad.get_data(True)
    malformed = client.post(
        "/quan-tri/lich-lam-viec",
        data={"start_date": "04/05/2026x", "end_date": "", "kind": "off", "name": "Nghỉ"},
    )
    assert malformed.status_code == 400 and "Ngày không đúng dạng." in malformed.get_data(True)
    ok = client.post(
        "/quan-tri/lich-lam-viec?nam=2026",
        data={"start_date": "2026-01-02", "end_date": "2026-01-02", "kind": "off",
              "name": "Nghỉ bù Tết Dương lịch"},
    )  # fmt: skip
    assert ok.status_code == 302
    assert "Nghỉ bù Tết Dương lịch" in client.get("/quan-tri/lich-lam-viec?nam=2026").get_data(True)


def test_a_category_with_zero_days_is_refused(demo_app, make_user):
    from helpdesk.imports import run_import

    admin = make_user("admin")
    client = demo_app.test_client()
    login(client, admin.username)
    category = _category()
    answer = client.post(
        f"/quan-tri/nhom-yeu-cau/{category.id}",
        data={"code": category.code, "audience": "citizen", "label": category.label,
              "report_phrase": category.report_phrase, "due_days": "0", "position": "1",
              "active": "y"},
    )  # fmt: skip
    assert answer.status_code == 200 and "hạn 0 ngày không thể đáp ứng" in answer.get_data(True)
    assert 'value="0"' in answer.get_data(True)  # what was typed is shown again
    zero = b"code,audience,label,report_phrase,due_days\nx_cat,citizen,X,x,0\n"
    report = run_import([("categories.csv", zero)])
    assert [e.line for e in report.errors] == [2]
    assert "hạn 0 ngày làm việc không thể đáp ứng" in str(report.errors[0])


# -- the API -----------------------------------------------------------------------------------


def test_api_fields_waiting_promise_and_on_time_counts(demo_app):
    api = Api(demo_app, token_for("hoa.nt"))
    now = now_local()
    late = _new(now - timedelta(days=20))
    body = api.get(f"/tickets/{late.ref}").get_json()
    assert body["late"] is True and body["paused"] is False and body["due_at"].endswith("+07:00")
    refused = api.patch(
        f"/tickets/{late.ref}", json={"version": body["version"], "status": "in_progress"}
    )
    assert refused.status_code == 422 and "promised_at" in refused.get_json()["error"]["fields"]
    past = api.patch(
        f"/tickets/{late.ref}",
        json={"version": body["version"], "promised_at": "2020-01-01T09:00:00+07:00",
              "progress_note": "x"},
    )  # fmt: skip
    assert past.status_code == 422 and "promised_at" in past.get_json()["error"]["fields"]
    promised = (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    ok = api.patch(
        f"/tickets/{late.ref}",
        json={"version": body["version"], "promised_at": promised,
              "progress_note": "Đang xác minh", "status": "waiting", "note": "Chờ ảnh CCCD"},
    )  # fmt: skip
    assert ok.status_code == 200, ok.get_json()
    data = ok.get_json()
    assert data["status"] == "waiting" and data["paused"] is True
    assert data["promised_at"] == promised and data["progress_note"] == "Đang xác minh"
    counts = (
        Api(demo_app, token_for("thang.vd"))
        .get(f"/counts?month={late.opened_month}&by=on_time")
        .get_json()
    )
    keys = [r["key"] for r in counts["rows"]]
    assert keys == ["on_time", "late", "open_in_time", "open_late"]
    assert dict((r["key"], r["count"]) for r in counts["rows"])["open_late"] >= 1


def test_the_tickets_file_takes_the_waiting_status(demo_app):
    from helpdesk.imports import run_import

    csv = (
        b"opened_at,audience,category,requester_phone,status\n"
        b"2026-11-30T09:00:00,citizen,dossier_status,0912000111,waiting\n"
    )
    report = run_import([("tickets.csv", csv)], actor_id=None)
    assert not report.errors, report.errors
    db.session.commit()
    ticket = db.session.scalar(select(Ticket).where(Ticket.requester_phone == "0912000111"))
    assert ticket.status == "waiting" and ticket.paused_at == ticket.opened_at
    assert ticket.due_at is not None
    assert db.session.scalar(select(func.count(TicketEvent.id))) > 0


def test_editing_a_late_ticket_asks_for_the_promise_not_a_crash(supervisor):
    now = now_local()
    ticket = _new(now - timedelta(days=30))
    answer = supervisor.post(
        f"/yeu-cau/{ticket.id}/sua",
        data={"requester_phone": "0912 000 111", "category": ticket.category.code,
              "summary": "Sửa nội dung", "channel": "phone", "version": str(ticket.version),
              "seen": "0"},
    )  # fmt: skip
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Yêu cầu đã quá hạn: ghi ngày hẹn" in html
    assert "Sửa nội dung" in html  # what was typed is kept


def test_unit_staff_are_not_the_desks_assignees(demo_app, make_user):
    staff = make_user("unit_staff", username="canbo.x")
    ticket = _new(now_local())
    with pytest.raises(TicketError) as refused:
        assign_ticket(ticket, staff, _user("thang.vd"), ticket.version, None, now_local())
    assert refused.value.field == "assignee" and "cán bộ đơn vị" in str(refused.value)
