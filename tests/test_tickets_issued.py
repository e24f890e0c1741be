"""Tickets in a month whose report is issued, and the version every change form must carry.

An issued report counts a month's tickets by category: adding one dated in that month, re-dating
one into or out of it, or moving one to another category makes the report differ from the data.
Only a supervisor may, with a reason (audited); the report is then shown as outdated
(``tickets_changed_since_issue``). A form that leaves out the version is refused, never applied
unchecked.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.reports.models import IssuedReport
from helpdesk.tickets.models import Category, Ticket
from helpdesk.tickets.services import (
    ISSUED_ADD,
    ISSUED_CHANGE,
    StaleTicket,
    assign_ticket,
    change_status,
    forward_ticket,
    issued_months_of,
    tickets_changed_since_issue,
)
from helpdesk.timeutil import now_local
from helpdesk.units.models import Unit

from .conftest import login

DEMO = {"hoa.nt": "Hoa-Demo-2023", "thang.vd": "Thang-Demo-2023"}
QUICK = {
    "requester_phone": "0912 345 678",
    "requester_name": "Nguyễn Văn Bình",
    "category": "dossier_status",
    "unit": "le chan",
    "summary": "Hỏi hồ sơ",
    "channel": "phone",
    "opened_at": "2023-09-15T09:00",
    "save_close": "Lưu và đóng",
}
REFUSED = "Tháng 09/2023 đã ban hành báo cáo: chỉ giám sát viên"


def issue(code: str, at: datetime | None = None) -> None:
    """An issued report, as the report page stores one (its PDF is not what is tested here)."""
    db.session.add(
        IssuedReport(
            month=code,
            number="12/BC",
            report_date=date(2023, 10, 2),
            issued_at=at or now_local(),
            snapshot="{}",
            pdf=b"%PDF-1.7",
            sha256="0" * 64,
        )
    )
    db.session.commit()


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username, DEMO[username]).status_code == 302
    return client


def ticket_in(month: str) -> Ticket:
    return db.session.scalar(
        select(Ticket).where(Ticket.opened_month == month).order_by(Ticket.id).limit(1)
    )


def edit_data(ticket: Ticket, **changes) -> dict[str, str]:
    data = {
        "requester_phone": ticket.requester_phone or "",
        "requester_name": ticket.requester_name or "",
        "category": ticket.category.code,
        "unit": ticket.unit.display if ticket.unit else "",
        "unit_id": str(ticket.unit_id or ""),
        "dossier_code": ticket.dossier_code or "",
        "summary": ticket.summary,
        "details": ticket.details or "",
        "channel": ticket.channel,
        "opened_at": ticket.opened_at.strftime("%Y-%m-%dT%H:%M"),
        "version": str(ticket.version),
        "seen": "",
    }
    data.update(changes)
    return data


def count(month: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.opened_month == month)
    )


def audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def other_category(ticket: Ticket) -> str:
    return db.session.scalar(
        select(Category.code).where(Category.id != ticket.category_id, Category.active.is_(True))
    )


# -- adding --------------------------------------------------------------------------------------


def test_operator_cannot_add_a_ticket_in_an_issued_month(demo_app):
    issue("2023-09")
    before = count("2023-09")
    response = client_of(demo_app, "hoa.nt").post("/yeu-cau/moi", data=QUICK)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert REFUSED in html
    # Beside the date field (its error carries the field's id), in the opened details.
    assert re.search(r'<p class="error" id="opened_at-err">Tháng 09/2023 đã ban hành', html)
    assert count("2023-09") == before
    # A month not issued is as before.
    ok = client_of(demo_app, "hoa.nt").post(
        "/yeu-cau/moi", data={**QUICK, "opened_at": "2023-08-15T09:00"}
    )
    assert ok.status_code == 302


def test_supervisor_adds_one_with_a_reason_audited(demo_app):
    issue("2023-09")
    boss = client_of(demo_app, "thang.vd")
    before = count("2023-09")
    asked = boss.post("/yeu-cau/moi", data=QUICK)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 400 and count("2023-09") == before
    assert 'name="issued_reason"' in html and "ghi lý do thay đổi" in html
    page = boss.get("/yeu-cau/moi").get_data(as_text=True)
    assert 'name="issued_reason"' not in page  # shown only when it is needed
    reason = "Cuộc gọi ngày 15/9 ghi sót, phát hiện khi rà soát"
    done = boss.post("/yeu-cau/moi", data={**QUICK, "issued_reason": reason})
    assert done.status_code == 302 and count("2023-09") == before + 1
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    [entry] = audit(ISSUED_ADD)
    assert entry.entity_id == ticket.ref and reason in entry.summary
    assert entry.detail_data == {"months": ["2023-09"], "reports": ["2023-09"], "reason": reason}
    assert any(reason in (e.note or "") for e in ticket.events)


def test_a_quarter_report_counts_its_months_too(demo_app):
    issue("2023-Q3")
    assert issued_months_of(["2023-07", "2023-09", "2023-10"]) == {
        "2023-07": "2023-Q3",
        "2023-09": "2023-Q3",
    }
    response = client_of(demo_app, "hoa.nt").post("/yeu-cau/moi", data=QUICK)
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)


# -- re-dating and re-categorising ---------------------------------------------------------------


def test_operator_cannot_redate_or_recategorise_in_an_issued_month(demo_app):
    issue("2023-09")
    hoa = client_of(demo_app, "hoa.nt")
    ticket = ticket_in("2023-09")
    ref, opened, category = ticket.ref, ticket.opened_at, ticket.category_id
    page = hoa.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    assert "Tháng 09/2023 đã ban hành báo cáo: chỉ giám sát viên được đổi" in page
    assert 'name="issued_reason"' not in page
    for change in (
        {"opened_at": "2023-08-31T09:00"},  # out of the month
        {"opened_at": (opened + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")},
        {"category": other_category(ticket)},
    ):
        response = hoa.post(f"/yeu-cau/{ticket.id}/sua", data=edit_data(ticket, **change))
        html = response.get_data(as_text=True)
        assert response.status_code == 400, change
        assert re.search(r'id="opened_at-err">Tháng 09/2023 đã ban hành báo cáo', html)
        db.session.expire_all()
        ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert (ticket.opened_at, ticket.category_id) == (opened, category)
    # What the report does not count may still change.
    renamed = hoa.post(f"/yeu-cau/{ticket.id}/sua", data=edit_data(ticket, requester_name="Lộc"))
    assert renamed.status_code == 302
    # Moving an August ticket into September is refused as well.
    august = ticket_in("2023-08")
    response = hoa.post(
        f"/yeu-cau/{august.id}/sua", data=edit_data(august, opened_at="2023-09-02T08:00")
    )
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)


def test_supervisor_redates_with_a_reason_and_the_report_is_outdated(demo_app):
    issue("2023-09")
    assert tickets_changed_since_issue("2023-09") == []
    boss = client_of(demo_app, "thang.vd")
    ticket = ticket_in("2023-09")
    ref = ticket.ref
    page = boss.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    assert 'name="issued_reason"' in page  # a supervisor sees the field on such a ticket
    moved = edit_data(ticket, opened_at="2023-08-31T16:00")
    refused = boss.post(f"/yeu-cau/{ticket.id}/sua", data=moved)
    assert refused.status_code == 400 and "ghi lý do thay đổi" in refused.get_data(as_text=True)
    reason = "Công dân gọi chiều 31/8, nhập nhầm ngày"
    done = boss.post(f"/yeu-cau/{ticket.id}/sua", data={**moved, "issued_reason": reason})
    assert done.status_code == 302
    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
    assert ticket.opened_month == "2023-08"
    [entry] = audit(ISSUED_CHANGE)
    detail = entry.detail_data
    assert detail["months"] == ["2023-09"] and detail["reason"] == reason
    assert detail["changes"]["opened_at"][1].startswith("31/08/2023")
    # The ticket left September: the September report no longer matches the data.
    assert [t.ref for t in tickets_changed_since_issue("2023-09")] == [ref]
    assert tickets_changed_since_issue("2023-08") == []  # not issued


def test_changed_since_issue_counts_later_additions_not_earlier_ones(demo_app):
    issued_at = now_local()
    issue("2023-Q3", at=issued_at)
    september = ticket_in("2023-09")
    # A change logged before the issue does not count.
    db.session.add(
        AuditLog(
            at=issued_at - timedelta(days=1),
            action=ISSUED_CHANGE,
            entity="ticket",
            entity_id=september.ref,
            detail=json.dumps({"months": ["2023-09"]}),
        )
    )
    db.session.commit()
    assert tickets_changed_since_issue("2023-Q3") == []
    boss = client_of(demo_app, "thang.vd")
    data = {**QUICK, "issued_reason": "Ghi sót"}
    assert boss.post("/yeu-cau/moi", data=data).status_code == 302
    added = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert [t.ref for t in tickets_changed_since_issue("2023-Q3")] == [added.ref]
    assert tickets_changed_since_issue("2023-10") == []


# -- the version on every change form ------------------------------------------------------------


def test_every_change_form_requires_its_version(demo_app):
    hoa = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.status == "open", Ticket.assignee_id.is_(None)).limit(1)
    ) or ticket_in("2023-09")
    ticket.status, ticket.assignee_id = "open", None
    db.session.commit()
    ref, version = ticket.ref, ticket.version
    client = client_of(demo_app, "hoa.nt")
    unit = db.session.scalar(select(Unit).where(Unit.name == "Lê Chân", Unit.level == "district"))
    posts = {
        "sua": {
            k: v for k, v in edit_data(ticket, requester_name="Khác").items() if k != "version"
        },
        "trang-thai": {"st-target": "in_progress"},
        "phan-cong": {"as-assignee": str(hoa.id)},
        "chuyen": {"fw-unit": unit.display, "fw-unit_id": str(unit.id), "fw-note": "Nhờ quận"},
    }
    for path, data in posts.items():
        response = client.post(f"/yeu-cau/{ticket.id}/{path}", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert "Biểu mẫu thiếu phiên bản của yêu cầu" in html, path
        # A version that is not a number is refused the same way.
        prefix = {"sua": "", "trang-thai": "st-", "phan-cong": "as-", "chuyen": "fw-"}[path]
        bad = client.post(f"/yeu-cau/{ticket.id}/{path}", data={**data, f"{prefix}version": "x"})
        assert bad.status_code == 400, path
        db.session.expire_all()
        again = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert (again.version, again.status, again.assignee_id) == (version, "open", None), path
        assert again.requester_name != "Khác"


def test_services_refuse_a_change_without_a_version(demo_app):
    users = {u.username: u for u in db.session.scalars(select(User))}
    ticket = ticket_in("2023-09")
    unit = db.session.scalar(select(Unit).where(Unit.name == "Lê Chân", Unit.level == "district"))
    ticket.status = "open"
    db.session.commit()
    with pytest.raises(StaleTicket):
        assign_ticket(ticket, users["hoa.nt"], users["thang.vd"], None, None)
    with pytest.raises(StaleTicket):
        change_status(ticket, "in_progress", users["hoa.nt"], None, None, None, now_local())
    with pytest.raises(StaleTicket):
        forward_ticket(ticket, unit, None, users["hoa.nt"], None, None)


def test_the_issued_report_page_says_it_is_outdated(demo_app):
    """Once a supervisor adds a ticket to an issued month, the report's page names it."""
    from helpdesk.reports.services import issue as issue_report

    issue_report("2023-09", None)
    db.session.commit()
    boss = client_of(demo_app, "thang.vd")
    first = boss.get("/bao-cao/2023-09")
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "Đã phát hành" in page and 'id="issued-outdated"' not in page
    reason = "Cuộc gọi ngày 15/9 ghi sót"
    assert boss.post("/yeu-cau/moi", data={**QUICK, "issued_reason": reason}).status_code == 302
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    page = boss.get("/bao-cao/2023-09").get_data(as_text=True)
    assert 'id="issued-outdated"' in page
    assert f">{ticket.ref}</a>" in page
    assert "1 yêu cầu được thêm hoặc sửa vào kỳ này sau khi phát hành" in page
