"""Take the README's screenshots from a fresh demo database: ``make screenshots``.

Serves the app on loopback, signs in as the demo users in Debian's Chromium (Playwright) and
saves PNGs under docs/screenshots/; the report's first page comes from the real PDF (pdftoppm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

PAGES = [
    # (file, user, password, path, full page)
    ("sign-in.png", None, None, "/dang-nhap", False),
    ("quick-entry.png", "hoa.nt", "Hoa-Demo-2023", "/yeu-cau/moi", False),
    (
        "ticket-list.png",
        "hoa.nt",
        "Hoa-Demo-2023",
        "/yeu-cau/?month=2023-09&status=forwarded",
        False,
    ),
    ("stats-month.png", "thang.vd", "Thang-Demo-2023", "/so-lieu/2023-09", False),
    ("dashboard.png", "thang.vd", "Thang-Demo-2023", "/tong-hop/2023-09", False),
    ("dashboard-satisfaction.png", "thang.vd", "Thang-Demo-2023", "/tong-hop/2023-09", False),
    ("report-draft.png", "thang.vd", "Thang-Demo-2023", "/bao-cao/2023-09", False),
    ("admin-users.png", "admin", "Admin-Demo-2023", "/quan-tri/nguoi-dung", False),
    ("admin-answers.png", "admin", "Admin-Demo-2023", "/quan-tri/cau-tra-loi", False),
    ("deadlines.png", "thang.vd", "Thang-Demo-2023", "/yeu-cau/han-xu-ly", False),
    ("dashboard-on-time.png", "thang.vd", "Thang-Demo-2023", "/tong-hop/2025-08", False),
    ("ticket-late.png", "thang.vd", "Thang-Demo-2023", "LATE_TICKET", False),
    ("unit-inbox.png", "lan.ptt", "Lan-Demo-2025", "/yeu-cau-chuyen-den/", False),
    ("admin-calendar.png", "admin", "Admin-Demo-2023", "/quan-tri/lich-lam-viec?nam=2026", False),
]


def seed_today(app) -> str:
    """Today's work beside the demo's old months: the announced Tết 2026 days off, requests
    logged this morning (in time, one due soon) and one forwarded to phường Lê Chân, whose
    staff member is a demo user. Returns the path of a late request's page."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from helpdesk.auth.models import User
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Category, Ticket
    from helpdesk.tickets.services import TicketValues, create_ticket, forward_ticket
    from helpdesk.timeutil import now_local
    from helpdesk.units.models import Unit
    from helpdesk.workcal.services import add_change

    with app.app_context():
        add_change(date(2026, 2, 14), date(2026, 2, 22), "off", "Nghỉ Tết Nguyên đán Bính Ngọ")
        add_change(date(2026, 4, 25), date(2026, 4, 25), "work", "Làm bù ngày 27/4 (thứ Hai)")
        hoa = db.session.scalar(select(User).where(User.username == "hoa.nt"))
        by_code = {c.code: c for c in db.session.scalars(select(Category))}
        now = now_local()
        ward = db.session.scalar(select(Unit).where(Unit.code == "11383"))
        made = []
        for hours, code, summary in (
            (30, "account_registration", "Không nhận được mã OTP khi đăng ký tài khoản"),
            (5, "dossier_status", "Hỏi tiến độ hồ sơ đăng ký hộ kinh doanh"),
            (1, "late_dossier", "Phản ánh hồ sơ chứng thực quá hẹn"),
        ):
            opened = now - timedelta(hours=hours)
            values = TicketValues(
                category=by_code[code], opened_at=opened, summary=summary,
                requester_phone="0912345678", unit=ward,
            )  # fmt: skip
            made.append(create_ticket(values, hoa.id, close=False, now=opened))
        db.session.flush()
        forward_ticket(made[-1], ward, "Nhờ phường kiểm tra", hoa, made[-1].version, None, now)
        late = db.session.scalar(
            select(Ticket)
            .where(Ticket.status == "open", Ticket.opened_month == "2025-08")
            .order_by(Ticket.id)
        )
        db.session.commit()
        return f"/yeu-cau/{late.id}"


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'shots.sqlite3'}"
    os.environ["HELPDESK_DEMO"] = "1"
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from helpdesk import create_app

    app = create_app()
    with app.app_context():
        upgrade()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, (result.output, result.exception)
    late_ticket = seed_today(app)
    pdf = tmp / "report.pdf"
    result = runner.invoke(
        args=[
            "report",
            "build",
            "--month",
            "2023-09",
            "--date",
            "2023-09-29",
            "--format",
            "pdf",
            "--output",
            str(pdf),
        ]
    )
    assert result.exit_code == 0, result.output
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(OUT / "report-page1"),
        ],
        check=True,
    )

    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        contexts = {}  # one signed-in browser context per user (a TOTP code works once)
        for name, user, password, path, full in PAGES:
            if user not in contexts:
                contexts[user] = browser.new_context(
                    viewport={"width": 1366, "height": 860}, locale="vi-VN"
                )
            page = contexts[user].new_page()
            if user and not getattr(contexts[user], "signed_in", False):
                page.goto(base + "/dang-nhap")
                page.get_by_label("Tên đăng nhập").fill(user)
                page.get_by_label("Mật khẩu").fill(password)
                page.get_by_role("button", name="Đăng nhập").click()
                page.wait_for_load_state("networkidle")
                if page.url.endswith("/dang-nhap/ma-xac-thuc"):  # the admin's second factor
                    import pyotp

                    from helpdesk.cli import DEMO_TOTP_SECRETS

                    code = pyotp.TOTP(DEMO_TOTP_SECRETS[user]).now()
                    page.get_by_label("Mã xác thực").fill(code)
                    page.get_by_role("button", name="Xác nhận").click()
                    page.wait_for_load_state("networkidle")
                contexts[user].signed_in = True
            page.goto(base + (late_ticket if path == "LATE_TICKET" else path))
            page.wait_for_load_state("networkidle")
            if name == "quick-entry.png":  # a repeat caller: history and the open request
                page.get_by_label("Số điện thoại").type("0395 063 080")
                page.locator("#caller-history .duplicates").wait_for()
            sections = {
                "dashboard-satisfaction.png": "#h-satisfaction",
                "dashboard-on-time.png": "#h-on-time",
            }
            if name in sections:
                heading = page.locator(sections[name])
                heading.scroll_into_view_if_needed()
                heading.locator("xpath=..").screenshot(path=str(OUT / name))
            else:
                page.screenshot(path=str(OUT / name), full_page=full)
            page.close()
        for context in contexts.values():
            context.close()
        browser.close()
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
