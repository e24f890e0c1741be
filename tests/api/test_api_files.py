"""Counts, imports and report downloads over the API: the pages' numbers, engine and files."""

from __future__ import annotations

import io

import pdfplumber
from sqlalchemy import func, select

from helpdesk.api.tokens import create_token
from helpdesk.auth.models import User
from helpdesk.dashboard.queries import build_month
from helpdesk.extensions import db
from helpdesk.reports.models import IssuedReport
from helpdesk.stats.models import Activity
from helpdesk.tickets.models import Ticket
from helpdesk.timeutil import today_local

from .conftest import Api


def test_counts_are_the_dashboard_s(supervisor_api):
    dash = build_month("2023-09", today_local())
    by_category = supervisor_api.get("/counts?month=2023-09&by=category").get_json()
    total = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.opened_month == "2023-09")
    )
    assert by_category["total"] == total == dash.total.value
    assert sum(r["count"] for r in by_category["rows"]) == total
    for key in ("unit", "channel", "status", "audience", "operator"):
        body = supervisor_api.get(f"/counts?month=2023-09&by={key}").get_json()
        assert body["total"] == total and body["by"] == key
        assert all(r["label"] for r in body["rows"])
    channels = supervisor_api.get("/counts?month=2023-09&by=channel").get_json()["rows"]
    phone = db.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.opened_month == "2023-09", Ticket.channel == "phone")
    )
    assert {r["key"]: r["count"] for r in channels}["phone"] == phone
    for bad in ("month=2023-09&by=colour", "by=unit", "month=09-2023&by=unit"):
        assert supervisor_api.get(f"/counts?{bad}").status_code == 422


ACTIVITY = "month,text\n2023-09,Hỗ trợ cấu hình quy trình cho Sở Du lịch qua API\n"


def _activities() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Activity))


def test_imports_dry_run_then_for_real(supervisor_api):
    before = _activities()
    files = {"files": (io.BytesIO(ACTIVITY.encode()), "activities.csv")}
    dry = supervisor_api.post("/imports?dry_run=1", data=files, content_type="multipart/form-data")
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["dry_run"] is True and _activities() == before
    files = {"files": (io.BytesIO(ACTIVITY.encode()), "activities.csv")}
    done = supervisor_api.post("/imports", data=files, content_type="multipart/form-data")
    body = done.get_json()
    assert done.status_code == 200 and body["ok"] is True
    assert body["files"][0]["file"] == "activities.csv"
    assert before > 1 and _activities() == 1  # importing a month replaces its list


def test_an_import_with_bad_rows_writes_nothing_and_lists_each(supervisor_api):
    before = _activities()
    bad = ACTIVITY + "2023-13,Tháng sai\n2023-09,\n"
    files = {"files": (io.BytesIO(bad.encode()), "activities.csv")}
    response = supervisor_api.post("/imports", data=files, content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 422 and body["ok"] is False
    assert {e["line"] for e in body["errors"]} >= {3, 4}
    assert all(e["file"] == "activities.csv" and e["reason"] for e in body["errors"])
    assert _activities() == before


def test_imports_keep_the_upload_page_s_kinds_per_role(supervisor_api):
    files = {"files": (io.BytesIO(b"username,full_name,role\nx,X,admin\n"), "users.csv")}
    response = supervisor_api.post("/imports", data=files, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "quản trị viên" in response.get_json()["errors"][0]["reason"]
    assert db.session.scalar(select(User).where(User.username == "x")) is None
    empty = supervisor_api.post("/imports", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "files" in empty.get_json()["error"]["fields"]


def test_report_downloads_draft_then_issued_byte_for_byte(demo_app, supervisor_api):
    draft = supervisor_api.get("/reports/2023-09.pdf")
    assert draft.status_code == 200 and draft.headers["X-Report-State"] == "draft"
    assert draft.headers["Content-Type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(draft.data)) as pdf:
        assert "BÁO CÁO" in pdf.pages[0].extract_text()
    docx = supervisor_api.get("/reports/2023-09.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    html = supervisor_api.get("/reports/2023-09.html")
    assert "Hải Phòng" in html.get_data(as_text=True)
    from helpdesk.reports import services

    user = db.session.scalar(select(User).where(User.username == "thang.vd"))
    services.issue("2023-09", user.id)
    db.session.commit()
    stored = db.session.scalar(select(IssuedReport.pdf).where(IssuedReport.month == "2023-09"))
    issued = supervisor_api.get("/reports/2023-09.pdf")
    assert issued.headers["X-Report-State"] == "issued"
    assert issued.data == stored
    for bad in ("2023-13.pdf", "2099-01.pdf", "abc.pdf"):
        assert supervisor_api.get(f"/reports/{bad}").status_code == 404, bad
    assert supervisor_api.get("/reports/2023-09.exe").status_code == 404


def test_admins_may_import_what_supervisors_may_not(demo_app):
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    _row, secret = create_token(admin, "admin")
    db.session.commit()
    api = Api(demo_app, secret)
    body = "username,full_name,role\nnew.op,Người Mới,operator\n"
    files = {"files": (io.BytesIO(body.encode()), "users.csv")}
    response = api.post("/imports", data=files, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert db.session.scalar(select(User).where(User.username == "new.op")) is not None
