"""Ticket rules: normalisation, due dates, references, transitions, assignment, stale edits."""

from datetime import date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets.duedates import add_working_days, is_working_day
from helpdesk.tickets.models import Category, Ticket, TicketEvent
from helpdesk.tickets.normalize import (
    InvalidValue,
    format_phone,
    normalize_dossier_code,
    normalize_phone,
)
from helpdesk.tickets.services import (
    StaleTicket,
    TicketError,
    TicketForbidden,
    TicketValues,
    allowed_transitions,
    assign_ticket,
    change_status,
    create_ticket,
    forward_ticket,
    next_ref,
    resolve_unit,
    update_ticket,
)
from helpdesk.units.models import Unit

NOW = datetime(2023, 9, 20, 10, 0)


def _category(code="dossier_status") -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


def _user(username="hoa.nt") -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _unit(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name, Unit.level == "district"))


def _ticket(close=False, actor="hoa.nt", **values) -> Ticket:
    values.setdefault("category", _category())
    values.setdefault("opened_at", datetime(2023, 9, 20, 9, 30))
    ticket = create_ticket(TicketValues(**values), _user(actor).id, close=close, now=NOW)
    db.session.commit()
    return ticket


# -- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+84 912 345 678",
        "0912.345.678",
        "0912345678",
        "0912-345-678",
        "(0912) 345 678",
        "84912345678",
    ],
)
def test_phone_numbers_written_any_way_are_one_number(raw):
    assert normalize_phone(raw) == "0912345678"


def test_landline_keeps_its_eleven_digits_and_reads_in_groups():
    assert normalize_phone("0225 3123 456") == "02253123456"
    assert format_phone("02253123456") == "0225 3123 456"
    assert format_phone("0912345678") == "0912 345 678"


@pytest.mark.parametrize(
    "raw", ["12345", "0912 345 67", "09123456789012", "091234567a", "+1 555 0100"]
)
def test_malformed_phone_is_refused_with_an_example(raw):
    with pytest.raises(InvalidValue) as info:
        normalize_phone(raw)
    assert "0912 345 678" in str(info.value)


def test_blank_phone_is_none():
    assert normalize_phone("  ") is None and normalize_phone(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        "000.00.12.H26-230901-0001",
        " 000.00.12.h26-230901-0001 ",
        "000.00.12.H26 – 230901 – 0001",
        "000.00.12.H26\u2013230901\u20130001",
    ],
)
def test_dossier_codes_stored_in_one_canonical_form(raw):
    assert normalize_dossier_code(raw) == "000.00.12.H26-230901-0001"


@pytest.mark.parametrize(
    "raw", ["000.00.12-230901-0001", "H26-230901-0001", "000.00.12.H26-2309-0001", "abc"]
)
def test_malformed_dossier_code_gets_a_clear_message(raw):
    with pytest.raises(InvalidValue) as info:
        normalize_dossier_code(raw)
    assert "000.00.12.H26-230901-0001" in str(info.value)
    assert raw in str(info.value)


# -- due dates ----------------------------------------------------------------------------------


def test_working_days_skip_weekend_and_national_day_holiday():
    # Thu 31 Aug 2023: Fri 1 Sep and Mon 4 Sep are National Day holidays, 2-3 Sep a weekend.
    assert not is_working_day(date(2023, 9, 1))
    assert not is_working_day(date(2023, 9, 4))
    assert add_working_days(date(2023, 8, 31), 1) == date(2023, 9, 5)
    assert add_working_days(date(2023, 8, 31), 3) == date(2023, 9, 7)


def test_working_days_skip_lunar_new_year():
    # Wed 7 Feb 2024, then Tết from Thu 8 to Wed 14 Feb.
    assert add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)


def test_ticket_due_date_uses_its_category_days_across_a_holiday(demo_app):
    category = _category()
    category.due_days = 3
    ticket = _ticket(category=category, opened_at=datetime(2023, 8, 31, 16, 0))
    assert ticket.due_date == date(2023, 9, 7)


# -- references and creation --------------------------------------------------------------------


def test_references_count_per_month(app):
    assert next_ref("2023-09") == "HT-2309-0001"
    assert next_ref("2023-09") == "HT-2309-0002"
    assert next_ref("2023-10") == "HT-2310-0001"


def test_quick_close_is_answered_on_the_spot(demo_app):
    ticket = _ticket(close=True, requester_phone="0912345678")
    assert ticket.ref.startswith("HT-2309-")
    assert ticket.status == "closed"
    assert ticket.resolved_at == ticket.opened_at
    assert ticket.closed_at == NOW
    assert ticket.audience == "citizen"
    assert ticket.operator_id == ticket.assignee_id == _user().id
    assert [e.kind for e in ticket.events] == ["created", "status"]


def test_saved_open_ticket_stays_open_and_uses_category_label_as_summary(demo_app):
    ticket = _ticket(category=_category("add_users"))
    assert ticket.status == "open" and ticket.resolved_at is None
    assert ticket.summary == "Thêm người dùng"
    assert ticket.audience == "agency"


def test_search_text_follows_name_and_summary(demo_app):
    ticket = _ticket(requester_name="Đỗ Thị Thuỷ", summary="Hỏi về Hộ tịch")
    assert ticket.search_text == "do thi thuy hoi ve ho tich"
    ticket.requester_name = "Lê Văn Đức"
    db.session.commit()
    assert ticket.search_text.startswith("le van duc ")


# -- transitions --------------------------------------------------------------------------------


def test_transition_graph(demo_app):
    operator, supervisor = _user(), _user("thang.vd")
    ticket = _ticket()
    assert allowed_transitions(ticket, operator) == ["in_progress", "waiting", "resolved", "closed"]
    ticket.status = "closed"
    assert allowed_transitions(ticket, operator) == []
    assert allowed_transitions(ticket, supervisor) == ["open"]


def test_full_path_open_to_closed_and_reopen(demo_app):
    operator, supervisor = _user("tuan.pv"), _user("thang.vd")
    ticket = _ticket(actor="hoa.nt")
    ticket.assignee_id = None
    db.session.commit()
    change_status(ticket, "in_progress", operator, None, ticket.version, None, NOW)
    assert ticket.assignee_id == operator.id  # starting work takes the ticket
    forward_ticket(
        ticket, _unit("Lê Chân"), "Nhờ quận kiểm tra", operator, ticket.version, None, NOW
    )
    assert ticket.status == "forwarded" and ticket.forwarded_unit.name == "Lê Chân"
    change_status(ticket, "resolved", operator, "Quận đã tiếp nhận lại", ticket.version, None, NOW)
    assert ticket.resolution_note == "Quận đã tiếp nhận lại" and ticket.resolved_at == NOW
    change_status(ticket, "closed", operator, None, ticket.version, None, NOW)
    assert ticket.closed_at == NOW
    with pytest.raises(TicketForbidden):
        change_status(ticket, "open", operator, "Công dân gọi lại", ticket.version, None, NOW)
    change_status(ticket, "open", supervisor, "Công dân gọi lại", ticket.version, None, NOW)
    assert ticket.status == "open" and ticket.resolved_at is None and ticket.closed_at is None
    db.session.commit()
    statuses = [(e.old_value, e.new_value) for e in ticket.events if e.kind == "status"]
    assert statuses == [
        ("open", "in_progress"),
        ("in_progress", "forwarded"),
        ("forwarded", "resolved"),
        ("resolved", "closed"),
        ("closed", "open"),
    ]


def test_operator_may_reopen_a_resolved_ticket_with_a_reason(demo_app):
    operator = _user()
    ticket = _ticket()
    change_status(ticket, "resolved", operator, "Đã hướng dẫn", ticket.version, None, NOW)
    with pytest.raises(TicketError, match="lý do"):
        change_status(ticket, "open", operator, "  ", ticket.version, None, NOW)
    change_status(ticket, "open", operator, "Chưa làm được", ticket.version, None, NOW)
    assert ticket.status == "open"


def test_refused_transitions(demo_app):
    operator = _user()
    ticket = _ticket()
    with pytest.raises(TicketError, match="Ghi kết quả"):
        change_status(ticket, "resolved", operator, "", ticket.version, None, NOW)
    with pytest.raises(TicketError, match="Không thể chuyển"):
        change_status(ticket, "forwarded", operator, None, ticket.version, None, NOW)
    with pytest.raises(TicketError, match="Không thể chuyển"):
        change_status(ticket, "open", operator, "x", ticket.version, None, NOW)
    closed = _ticket(close=True)
    with pytest.raises(TicketError, match="mở lại trước"):
        forward_ticket(closed, _unit("Lê Chân"), None, operator, closed.version, None, NOW)


# -- assignment ---------------------------------------------------------------------------------


def test_operators_take_unassigned_tickets_supervisors_reassign(demo_app):
    hoa, tuan, thang = _user("hoa.nt"), _user("tuan.pv"), _user("thang.vd")
    ticket = _ticket(actor="hoa.nt")
    assert ticket.assignee_id == hoa.id
    with pytest.raises(TicketForbidden):
        assign_ticket(ticket, tuan, tuan, ticket.version, None, NOW)  # taking a colleague's ticket
    with pytest.raises(TicketForbidden):
        assign_ticket(ticket, tuan, hoa, ticket.version, None, NOW)  # handing it on
    assign_ticket(ticket, tuan, thang, ticket.version, None, NOW)
    assert ticket.assignee_id == tuan.id
    assign_ticket(ticket, None, thang, ticket.version, None, NOW)
    assign_ticket(ticket, hoa, hoa, ticket.version, None, NOW)  # unassigned: anyone may take it
    assert ticket.assignee_id == hoa.id
    changes = [(e.old_value, e.new_value) for e in ticket.events if e.field == "assignee"]
    assert changes == [
        ("Nguyễn Thị Hoa", "Phạm Văn Tuấn"),
        ("Phạm Văn Tuấn", None),
        (None, "Nguyễn Thị Hoa"),
    ]


# -- edits and optimistic locking ---------------------------------------------------------------


def test_edit_records_each_changed_field_and_recomputes_due_date(demo_app):
    ticket = _ticket(requester_name="Trần Văn A", opened_at=datetime(2023, 8, 31, 9, 0))
    old_due = ticket.due_date
    agency = _category("add_users")
    agency.due_days = 5
    values = TicketValues(
        category=agency,
        opened_at=ticket.opened_at,
        requester_name="Trần Văn An",
        requester_phone=None,
        summary="Thêm tài khoản cán bộ",
    )
    # Edited while still in time (once late, an edit needs a promised date first).
    soon = datetime(2023, 8, 31, 10, 0)
    changed = update_ticket(ticket, values, _user().id, ticket.version, None, soon)
    db.session.commit()
    assert set(changed) == {"requester_name", "category", "summary"}
    assert ticket.audience == "agency"
    assert ticket.due_date == date(2023, 9, 11) != old_due
    fields = [e.field for e in ticket.events if e.kind == "change"]
    assert fields == ["requester_name", "summary", "category", "due_at"]
    assert ticket.version == 2


def test_same_minute_in_the_form_keeps_the_stored_seconds(demo_app):
    ticket = _ticket(opened_at=datetime(2023, 9, 20, 9, 30, 17))
    values = TicketValues(
        category=ticket.category, opened_at=datetime(2023, 9, 20, 9, 30), summary=ticket.summary
    )
    assert update_ticket(ticket, values, _user().id, 1, None, NOW) == []
    assert ticket.opened_at == datetime(2023, 9, 20, 9, 30, 17)


def test_unchanged_edit_writes_nothing(demo_app):
    ticket = _ticket(requester_name="Trần Văn A")
    values = TicketValues(
        category=ticket.category,
        opened_at=ticket.opened_at,
        requester_name="Trần Văn A",
        summary=ticket.summary,
    )
    assert update_ticket(ticket, values, _user().id, 1, None, NOW) == []
    db.session.commit()
    assert ticket.version == 1


def test_stale_version_is_refused_with_what_changed(demo_app):
    ticket = _ticket(requester_name="Trần Văn A")
    seen = max(e.id for e in ticket.events)
    first = TicketValues(category=ticket.category, requester_name="Trần Văn B")
    update_ticket(ticket, first, _user("tuan.pv").id, 1, seen, NOW)
    db.session.commit()
    second = TicketValues(category=ticket.category, requester_name="Trần Văn C")
    with pytest.raises(StaleTicket) as info:
        update_ticket(ticket, second, _user().id, 1, seen, NOW)
    [change] = info.value.changes
    assert (change.field, change.old_value, change.new_value) == (
        "requester_name",
        "Trần Văn A",
        "Trần Văn B",
    )
    assert change.user.username == "tuan.pv"
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).requester_name == "Trần Văn B"


def test_concurrent_save_is_caught_by_the_version_column(demo_app):
    ticket = _ticket()
    # Another request saves between our read and our flush.
    db.session.execute(
        update(Ticket.__table__).where(Ticket.id == ticket.id).values(version=Ticket.version + 1)
    )
    ticket.summary = "Ghi đè"
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()


def test_events_are_deleted_with_their_ticket(demo_app):
    ticket = _ticket()
    ticket_id = ticket.id
    db.session.delete(ticket)
    db.session.commit()
    assert (
        db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)).all()
        == []
    )


# -- units typed by name ------------------------------------------------------------------------


def test_resolve_unit_by_id_code_and_name(demo_app):
    le_chan = _unit("Lê Chân")
    assert resolve_unit("", str(le_chan.id)) == le_chan
    assert resolve_unit(le_chan.code) == le_chan
    assert resolve_unit("le chan") == le_chan
    assert resolve_unit("QUẬN LÊ CHÂN") == le_chan
    assert resolve_unit(None) is None


def test_resolve_unit_ambiguous_name_lists_each_district(demo_app):
    with pytest.raises(TicketError) as info:
        resolve_unit("hoa binh")
    assert "huyện Thủy Nguyên" in str(info.value) and "huyện Vĩnh Bảo" in str(info.value)
    chosen = resolve_unit("xã Hòa Bình (huyện Vĩnh Bảo)")
    assert chosen.name == "Hòa Bình" and chosen.parent.name == "Vĩnh Bảo"


def test_resolve_unit_refuses_unknown_and_inactive(demo_app):
    with pytest.raises(TicketError, match="Không tìm thấy"):
        resolve_unit("quận Không Có")
    unit = _unit("Lê Chân")
    unit.active = False
    with pytest.raises(TicketError, match="ngừng sử dụng"):
        resolve_unit("le chan")


def test_picker_id_ignored_when_text_was_changed_after(demo_app):
    le_chan, do_son = _unit("Lê Chân"), _unit("Đồ Sơn")
    assert resolve_unit("quận Đồ Sơn", str(le_chan.id)) == do_son
