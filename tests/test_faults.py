"""Faults: the database going away, an import killed half-way. Nothing half-written, ever.

The faults are real: on PostgreSQL the server terminates the app's connection
(pg_terminate_backend) or the database is dropped; on SQLite the connection is closed under
the app, or the file's header is overwritten; an import is a real `flask data import` process
killed with SIGKILL while its transaction is open.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.models import Category

from .conftest import IS_PG, _pg_admin, login

ROOT = Path(__file__).resolve().parent.parent
ERROR_500 = "Đã có lỗi xảy ra; không có dữ liệu nào bị ghi dở"


def table_contents() -> dict[str, list[tuple]]:
    """Every row of every table, to compare before and after a fault."""
    with db.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(r) for r in conn.execute(sa.select(table))), key=lambda r: repr(r)
            )
            for table in db.metadata.sorted_tables
        }


class Killer:
    """Cut the app's database connection the moment a statement matching ``marker`` is sent."""

    def __init__(self, engine: sa.Engine, marker: str):
        self.engine, self.marker, self.fired = engine, marker, False

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on)

    def _on(self, conn, _cursor, statement, *_args):
        if self.fired or not statement.lstrip().upper().startswith(self.marker):
            return
        self.fired = True
        raw = conn.connection.dbapi_connection
        if IS_PG:
            admin = _pg_admin()
            try:
                with admin.connect() as c:
                    done = c.scalar(
                        sa.text("SELECT pg_terminate_backend(:pid, 5000)"),
                        {"pid": raw.info.backend_pid},
                    )
                assert done, "the server did not end the connection"
            finally:
                admin.dispose()
        else:
            raw.close()


def test_database_dies_mid_request_clean_page_and_no_partial_write(app_factory):
    app = app_factory("demo", PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    login(client, "admin", "Admin-Demo-2023")
    before = table_contents()
    form = {
        "code": "mat_ket_noi",
        "audience": "citizen",
        "label": "Nhóm thử mất kết nối",
        "report_phrase": "thử mất kết nối",
        "due_days": "3",
        "position": "99",
        "active": "y",
    }
    # The category row is written; the audit entry of the same transaction is where it dies.
    with Killer(db.engine, "INSERT INTO AUDIT_LOG") as killer:
        response = client.post("/quan-tri/nhom-yeu-cau/moi", data=form)
    assert killer.fired
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert ERROR_500 in html and '<html lang="vi">' in html
    assert "Traceback" not in html and "INSERT" not in html and "sqlalchemy" not in html.lower()
    db.session.remove()
    assert table_contents() == before  # the category was not left half-written
    # The app recovers by itself: the next request gets a new connection.
    again = client.post("/quan-tri/nhom-yeu-cau/moi", data=form)
    assert again.status_code == 302
    assert db.session.scalar(sa.select(Category).where(Category.code == "mat_ket_noi"))


def test_the_error_log_of_a_failed_write_holds_no_values(app_factory):
    app = app_factory("demo", PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    login(client, "admin", "Admin-Demo-2023")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logging.getLogger().addHandler(handler)  # every logger propagates here, the app's too
    password = "Mat-Khau-Bi-Mat-2023"
    form = {"username": "bi.mat", "full_name": "Nguyễn Bí Mật", "role": "operator",
            "password": password}  # fmt: skip
    try:
        with Killer(db.engine, "INSERT INTO USERS") as killer:
            response = client.post("/quan-tri/nguoi-dung", data=form)
    finally:
        logging.getLogger().removeHandler(handler)
    assert killer.fired and response.status_code == 500
    logged = "\n".join(logging.Formatter().format(r) for r in records)
    assert "INSERT INTO users" in logged  # the failure is logged, with its statement...
    for secret in ("$argon2", "Nguyễn Bí Mật", password):
        assert secret not in logged  # ...but not with its values


def test_database_dies_while_issuing_a_report_month_stays_unlocked(app_factory):
    from helpdesk.models import IssuedReport, MonthLock

    app = app_factory("demo", PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    login(client, "thang.vd", "Thang-Demo-2023")
    form = {"confirm": "y", "version": "0"}
    # The PDF is built and the report row written; locking the month is where it dies.
    with Killer(db.engine, "INSERT INTO MONTH_LOCKS") as killer:
        response = client.post("/bao-cao/2023-09/phat-hanh", data=form)
    assert killer.fired
    assert response.status_code == 500
    assert ERROR_500 in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IssuedReport)) == 0
    assert db.session.get(MonthLock, "2023-09") is None  # statistics still editable
    # Issued again once the database is back: exactly one report, and the month locked.
    assert client.post("/bao-cao/2023-09/phat-hanh", data=form).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IssuedReport)) == 1
    assert db.session.get(MonthLock, "2023-09") is not None


def test_database_gone_gives_a_clean_error_page(app_factory):
    app = app_factory("demo", PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    login(client, "hoa.nt", "Hoa-Demo-2023")
    assert client.get("/don-vi/").status_code == 200
    db.session.remove()
    if IS_PG:
        name = db.engine.url.database
        db.engine.dispose()
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        db.engine.dispose()
        path = Path(db.engine.url.database)
        with path.open("r+b") as f:  # the disk returns garbage where the header was
            f.write(os.urandom(4096))
    for url in ("/", "/don-vi/", "/dang-nhap"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 500, url
        assert ERROR_500 in html, url
        assert "Traceback" not in html and "Internal Server Error" not in html


def _ticket_file(rows: int) -> bytes:
    """A big tickets file over the demo categories and units, all rows valid."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["opened_at", "audience", "category", "requester_name", "requester_phone"])
    start = datetime(2024, 1, 2, 7, 0)
    for i in range(rows):
        opened = start + timedelta(minutes=7 * i)
        writer.writerow(
            [opened.isoformat(), "citizen", "account_registration", f"Người {i}", f"09{i:08d}"]
        )
    return out.getvalue().encode()


def _units_file(count: int) -> bytes:
    lines = ["code,level,kind,name,parent_code"]
    lines += [f"KILL{i},department,Sở,Thử ngắt {i}," for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _transaction_open(url: str, folder: Path) -> bool:
    """True once the import process has written inside its (uncommitted) transaction."""
    if IS_PG:
        admin = _pg_admin()
        try:
            with admin.connect() as conn:
                return bool(
                    conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                            "AND backend_xid IS NOT NULL"
                        ),
                        {"db": sa.engine.make_url(url).database},
                    )
                )
        finally:
            admin.dispose()
    return Path(sa.engine.make_url(url).database + "-journal").exists()


def test_import_killed_half_way_leaves_nothing(demo_app, tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "units.csv").write_bytes(_units_file(50))
    (folder / "tickets.csv").write_bytes(_ticket_file(6000))
    before = table_contents()
    url = demo_app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    db.engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "fault-test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "data", "import", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _transaction_open(url, folder):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.005)
        # Units are flushed; thousands of tickets are still being validated: kill it now.
        assert process.poll() is None, "the import finished before it could be interrupted"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    if IS_PG:  # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 30
        while _transaction_open(url, folder) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert table_contents() == before
