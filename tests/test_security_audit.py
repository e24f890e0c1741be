"""Exports of personal data, erasures and backups leave an audit entry an admin can filter for."""

from __future__ import annotations

import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.timeutil import now_local

from .conftest import login


def _entries(action: str) -> list[AuditLog]:
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


def test_exports_erasures_and_backups_are_audited_and_filterable(demo_app, tmp_path):
    supervisor = demo_app.test_client()
    login(supervisor, "thang.vd", "Thang-Demo-2023")
    exported = supervisor.get("/yeu-cau/xuat.csv?month=2023-09")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    thang = db.session.scalar(sa.select(User).where(User.username == "thang.vd"))
    [export] = _entries("export")
    assert export.user_id == thang.id and export.detail_data["rows"] == 220

    runner = demo_app.test_cli_runner()
    assert runner.invoke(args=["retention", "apply", "--months", "24"]).exit_code == 0
    assert runner.invoke(args=["backup", "create", "-o", str(tmp_path / "b")]).exit_code == 0
    assert len(_entries("retention")) == 1 and len(_entries("backup")) == 1

    # The audit page is for admins only, and its filters find each kind of entry.
    assert supervisor.get("/quan-tri/nhat-ky").status_code == 403
    admin = demo_app.test_client()
    login(admin, "admin", "Admin-Demo-2023")
    html = admin.get("/quan-tri/nhat-ky?action=export").get_data(as_text=True)
    assert "Xuất 220 yêu cầu hỗ trợ (CSV)" in html and "Xóa dữ liệu cá nhân" not in html
    html = admin.get("/quan-tri/nhat-ky?action=retention").get_data(as_text=True)
    assert "Xóa dữ liệu cá nhân của 419 yêu cầu" in html and "Xuất 220" not in html
    html = admin.get(f"/quan-tri/nhat-ky?user={thang.id}").get_data(as_text=True)
    assert "Xuất 220" in html and "Xóa dữ liệu cá nhân" not in html
    today = now_local().strftime("%Y-%m-%d")  # entries are stamped in local time
    html = admin.get(f"/quan-tri/nhat-ky?action=backup&from={today}&to={today}")
    assert "Sao lưu cơ sở dữ liệu" in html.get_data(as_text=True)
    html = admin.get("/quan-tri/nhat-ky?action=backup&to=2020-01-01").get_data(as_text=True)
    assert "Sao lưu cơ sở dữ liệu" not in html
