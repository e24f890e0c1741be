"""Test fixtures: a real database (SQLite or PostgreSQL) built by the real migrations.

TEST_DATABASE_URL picks the server: unset or empty means SQLite files in a temporary folder;
a postgresql:// URL means a fresh database per test, cloned from a migrated template. In CI a
PostgreSQL that cannot be reached is an error, never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from pathlib import Path

import hypothesis
import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.cli import DEMO_DIR, DEMO_DIRS, load_demo_users, merge_demo_repeats
from helpdesk.extensions import db

# Hypothesis: bounded runs, no deadline (the database sets the pace). In CI the examples are
# derandomized (the same on every run, so a failure reproduces) and no example database is kept.
hypothesis.settings.register_profile("dev", max_examples=50, deadline=None)
hypothesis.settings.register_profile(
    "ci", max_examples=50, deadline=None, derandomize=True, database=None, print_blob=True
)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "dev")

BASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
IS_PG = BASE_URL.startswith("postgres")
PASSWORD = "Mat-khau-2023!"  # every test user's password


def _pg_url(name: str) -> str:
    url = make_url(BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=name).render_as_string(hide_password=False)


def _pg_admin() -> sa.Engine:
    return sa.create_engine(
        _pg_url(make_url(BASE_URL).database or "postgres"), isolation_level="AUTOCOMMIT"
    )


class Databases:
    """Create databases from templates: a file copy on SQLite, CREATE DATABASE TEMPLATE on PG."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.prefix = "hd_" + uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.admin = _pg_admin() if IS_PG else None

    def new_name(self, label: str) -> str:
        return f"{self.prefix}_{label}_{len(self.created)}"

    def url_for(self, name: str) -> str:
        return _pg_url(name) if IS_PG else f"sqlite:///{self.tmp / (name + '.sqlite3')}"

    def create(self, name: str, template: str | None = None) -> str:
        if IS_PG:
            with self.admin.connect() as conn:
                tmpl = f' TEMPLATE "{template}"' if template else ""
                conn.execute(sa.text(f'CREATE DATABASE "{name}"{tmpl}'))
        elif template:
            shutil.copyfile(self.tmp / f"{template}.sqlite3", self.tmp / f"{name}.sqlite3")
        self.created.append(name)
        return self.url_for(name)

    def drop_all(self) -> None:
        if not IS_PG:
            return
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def make_app(url: str, **extra):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": sa.pool.NullPool} if IS_PG else {},
    }
    config.update(extra)
    return create_app(config)


def _build_template(dbs: Databases, label: str, load_demo: bool, folders=(DEMO_DIR,)) -> str:
    from flask_migrate import upgrade

    name = dbs.new_name(label)
    url = dbs.create(name)
    app = make_app(url)
    with app.app_context():
        upgrade()
        if load_demo:
            from helpdesk.imports import run_import
            from helpdesk.imports.engine import collect_files

            for folder in folders:
                report = run_import(collect_files([folder]))
                assert report.ok, [str(e) for e in report.errors]
            load_demo_users()  # as `flask demo`: the admin enrolled in two-factor sign-in
            merge_demo_repeats()  # and the repeat calls merged
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return name


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    if IS_PG:
        probe = _pg_admin()
        try:
            with probe.connect():
                pass
        except sa.exc.OperationalError as exc:  # in CI this fails the run, never skips
            pytest.fail(f"TEST_DATABASE_URL={BASE_URL} is not reachable: {exc}")
        finally:
            probe.dispose()
    dbs = Databases(tmp_path_factory.mktemp("db"))
    dbs.templates = {}
    yield dbs
    dbs.drop_all()


def _template(databases: Databases, kind: str) -> str:
    if kind not in databases.templates:
        databases.templates[kind] = _build_template(
            databases,
            kind,
            load_demo=kind in ("demo", "eras"),
            folders=DEMO_DIRS if kind == "eras" else (DEMO_DIR,),
        )
    return databases.templates[kind]


def _app_from(databases: Databases, kind: str, **extra):
    name = databases.new_name("t")
    url = databases.create(name, template=_template(databases, kind))
    app = make_app(url, **extra)
    ctx = app.app_context()
    ctx.push()
    yield app
    try:
        db.session.remove()
        _assert_counts_kept()
    finally:  # a failed check must not leave this app's context to the next test
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


def _assert_counts_kept() -> None:
    """After every test on a database: the counts the database keeps (tickets.counts) equal a
    fresh count of the tickets, whatever the test did to them (a test that downgraded the
    schema below the kept tables, or broke the database on purpose, is left alone)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError

    from helpdesk.tickets.counts import KEPT, differences

    try:
        tables = set(inspect(db.engine).get_table_names())
        if not all(kept.model.__tablename__ in tables for kept in KEPT):
            return
        found = differences()
    except DBAPIError:
        return  # a test that took the database away (tests/test_faults.py)
    finally:
        db.session.remove()
    assert not found, f"kept counts differ from a fresh count: {found[:5]}"


@pytest.fixture
def app(databases):
    """An app on an empty, migrated database."""
    yield from _app_from(databases, "empty")


@pytest.fixture
def demo_app(databases):
    """An app on a database holding the bundled September 2023 data set and the demo users."""
    yield from _app_from(databases, "demo")


@pytest.fixture
def eras_app(databases):
    """An app on a database that lived through the 2025 reorganisation: the 09/2023 data set,
    then the 08/2025 one (merged departments, districts abolished), and the demo users."""
    yield from _app_from(databases, "eras")


@pytest.fixture
def eras_client(eras_app):
    return eras_app.test_client()


@pytest.fixture
def app_factory(databases):
    """Build an app with extra config on a fresh empty (or demo) database."""
    made = []

    def factory(kind: str = "empty", **extra):
        gen = _app_from(databases, kind, **extra)
        made.append(gen)
        return next(gen)

    yield factory
    for gen in reversed(made):
        for _ in gen:
            pass


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def make_user(app_context_app):
    """Create a user with PASSWORD. Admins are enrolled in two-factor sign-in (as they must be
    to do anything) unless ``two_factor=False``; ``login`` below posts their code."""
    from helpdesk.auth.models import User

    counter = {"n": 0}

    def factory(
        role: str = "operator", username: str | None = None, two_factor: bool | None = None,
        **fields,
    ) -> User:  # fmt: skip
        counter["n"] += 1
        user = User(
            username=username or f"{role}{counter['n']}",
            full_name=fields.pop("full_name", f"Người dùng {counter['n']}"),
            role=role,
            **fields,
        )
        user.set_password(PASSWORD)
        if two_factor if two_factor is not None else role == "admin":
            enrol_two_factor(user)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


def enrol_two_factor(user) -> str:
    """Enrol a user in TOTP directly (the enrolment page has its own tests); return the secret."""
    from helpdesk.timeutil import now_local

    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = now_local()
    user.totp_last_counter = None
    return user.totp_secret


@pytest.fixture
def app_context_app(request):
    """Whichever app fixture the test uses (app or demo_app)."""
    for name in ("demo_app", "eras_app", "app"):
        if name in request.fixturenames:
            return request.getfixturevalue(name)
    return request.getfixturevalue("app")


TWO_FACTOR_STEP = "/dang-nhap/ma-xac-thuc"


def login(client, username: str, password: str = PASSWORD, follow: bool = False, **data):
    """Sign in through the sign-in form; for a user enrolled in two-factor sign-in, post the
    current code of their secret too (as their phone would show it) and return that answer.
    With CSRF on, each form's token is read from its page first."""
    csrf = client.application.config.get("WTF_CSRF_ENABLED")
    if csrf:
        data["csrf_token"] = csrf_token_from(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post("/dang-nhap", data={"username": username, "password": password, **data})
    if response.status_code == 302 and response.headers["Location"].endswith(TWO_FACTOR_STEP):
        code = {"code": current_code(client.application, username)}
        if csrf:
            page = client.get(TWO_FACTOR_STEP).get_data(as_text=True)
            code["csrf_token"] = csrf_token_from(page)
        response = client.post(TWO_FACTOR_STEP, data=code)
    if follow and response.status_code == 302:
        response = client.get(response.headers["Location"], follow_redirects=True)
    return response


def current_code(app, username: str) -> str:
    """The user's TOTP code now. A code is accepted once: tests sign the same user in several
    times a minute, so the record of the last code used is cleared first (in the database)."""
    from helpdesk.auth.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        user.totp_last_counter = None
        db.session.commit()
        secret = user.totp_secret
    return pyotp.TOTP(secret).now()


@pytest.fixture
def auth(make_user):
    """Sign a client in as a fresh user of a role: ``auth(client, "supervisor")``."""

    def sign_in(client, role: str = "operator"):
        user = make_user(role)
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return sign_in


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class QueryCounter:
    """Counts the SQL statements run on an engine (connection-level, so nothing is missed)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _on(self, _conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries():
    return lambda: QueryCounter(db.engine)


class LiveServer:
    """An app served over real HTTP on a free loopback port, a thread per request."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(10)


def promise_open_tickets(days: int = 60) -> int:
    """Give every unresolved ticket a promised date ``days`` ahead, as a person would before
    working a late one (tickets.sla): the demo months' open requests are years past due, and
    tests of other rules work on them. Returns how many were promised."""
    from datetime import timedelta

    from sqlalchemy import update

    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.sla import UNRESOLVED
    from helpdesk.timeutil import now_local

    result = db.session.execute(
        update(Ticket)
        .where(Ticket.status.in_(UNRESOLVED))
        .values(promised_at=now_local() + timedelta(days=days), progress_note="Đã hẹn (kiểm thử)")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


@pytest.fixture
def promised(demo_app):
    """The demo data with every open request promised (see promise_open_tickets)."""
    promise_open_tickets()
    return demo_app
