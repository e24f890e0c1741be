"""Server-side sessions: signing out signs out, cookies of an ended session are worthless,
remember-me keys are stored hashed and replaced on use, sessions run out, each user sees and
ends theirs, admins end a user's, and every worker sees the same sessions.

"Copying a cookie" is done as an attacker would: the Cookie header of one client is replayed
by another client that never signed in.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User, UserSession
from helpdesk.auth.sessions import REMEMBER_COOKIE, describe_agent
from helpdesk.extensions import db
from helpdesk.timeutil import now_local

from .conftest import PASSWORD, login, make_app

SESSION_COOKIE = "session"


def _cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values()}


def _replay(app, cookies: dict[str, str]):
    """A fresh client (another browser) holding copies of the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _signed_in(client) -> bool:
    response = client.get("/don-vi/")
    return response.status_code == 200


def _rows(user) -> list[UserSession]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    ).all()


def test_sign_out_ends_the_session_a_copied_cookie_opens_nothing(app, make_user):
    user = make_user()
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    stolen = _cookies(client)
    assert _signed_in(_replay(app, stolen))  # a copy works while the session lives...
    assert client.post("/dang-xuat").status_code == 302
    thief = _replay(app, stolen)
    response = thief.get("/yeu-cau/")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]
    assert thief.get("/dang-nhap").status_code == 200  # ...and after sign-out: the sign-in page
    (row,) = _rows(user)
    assert row.ended_at is not None and row.end_reason == "logout"


def test_remember_me_survives_the_browser_but_not_sign_out(app, make_user):
    user = make_user()
    client = app.test_client()
    response = login(client, user.username, remember="y")
    assert response.status_code == 302
    cookies = _cookies(client)
    remember_key = cookies[REMEMBER_COOKIE]
    set_cookie = [h for h in response.headers.getlist("Set-Cookie") if REMEMBER_COOKIE in h][0]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Max-Age=" in set_cookie
    # Stored hashed: the table holds neither key.
    (row,) = _rows(user)
    assert row.remember and row.remember_hash == hashlib.sha256(remember_key.encode()).hexdigest()
    dump = repr([tuple(r) for r in db.session.execute(sa.select(UserSession.__table__))])
    assert remember_key not in dump and cookies[SESSION_COOKIE] not in dump

    # The browser closes (its session cookie goes); the remember cookie opens a session again.
    reopened = _replay(app, {REMEMBER_COOKIE: remember_key})
    assert _signed_in(reopened)
    rotated = _cookies(reopened)[REMEMBER_COOKIE]
    assert rotated != remember_key  # replaced on use
    assert len(_rows(user)) == 1  # the same session, not a new one
    # The old key was spent: a copy of it opens nothing now.
    assert not _signed_in(_replay(app, {REMEMBER_COOKIE: remember_key}))

    # Sign-out ends it: the remember cookie is deleted, and a copy of the latest key is refused.
    logout = reopened.post("/dang-xuat")
    assert any(h.startswith(f"{REMEMBER_COOKIE}=;") for h in logout.headers.getlist("Set-Cookie"))
    assert not _signed_in(_replay(app, {REMEMBER_COOKIE: rotated}))
    assert not _signed_in(_replay(app, cookies))


def test_password_reset_deactivation_and_end_all_end_every_session(app, make_user, auth):
    admin_client = app.test_client()
    auth(admin_client, "admin")
    user = make_user()
    browsers = [app.test_client() for _ in range(3)]
    for browser in browsers:
        assert login(browser, user.username, remember="y").status_code == 302
    copies = [_cookies(b) for b in browsers]
    assert (
        admin_client.post(
            f"/quan-tri/nguoi-dung/{user.id}/mat-khau", data={"reset-password": "Moi-Mat-Khau-99"}
        ).status_code
        == 302
    )
    assert not any(_signed_in(_replay(app, c)) for c in copies)
    assert {r.end_reason for r in _rows(user)} == {"password"}

    for browser in browsers:
        assert login(browser, user.username, "Moi-Mat-Khau-99").status_code == 302
    admin_client.post(f"/quan-tri/nguoi-dung/{user.id}/ket-thuc-phien")
    assert not any(_signed_in(b) for b in browsers)
    assert [r.end_reason for r in _rows(user)][-3:] == ["admin"] * 3
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "end_sessions"))
    assert entry.entity_id == str(user.id) and "3 phiên" in entry.summary

    assert login(browsers[0], user.username, "Moi-Mat-Khau-99").status_code == 302
    admin_client.post(f"/quan-tri/nguoi-dung/{user.id}/trang-thai")  # deactivate
    assert not _signed_in(browsers[0])
    assert _rows(user)[-1].end_reason == "deactivated"


def _user_in(app, username: str = "nhan.vien") -> User:
    """A user on an app of app_factory (make_user serves the ``app`` fixture's database)."""
    user = User(username=username, full_name="Nhân Viên", role="operator")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def test_idle_timeout_and_absolute_lifetime(app_factory):
    app = app_factory(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=8, SESSION_REMEMBER_DAYS=14)
    user = _user_in(app)
    idle, old, remembered = (app.test_client() for _ in range(3))
    for client in (idle, old):
        assert login(client, user.username).status_code == 302
    assert login(remembered, user.username, remember="y").status_code == 302
    rows = _rows(user)
    now = now_local()
    rows[0].last_seen_at = now - timedelta(minutes=31)  # idle too long
    rows[1].created_at = now - timedelta(hours=8, minutes=1)  # used a minute ago, but too old
    rows[1].last_seen_at = now - timedelta(minutes=1)
    rows[2].created_at = now - timedelta(days=3)  # remembered: idle for days is fine
    rows[2].last_seen_at = now - timedelta(days=2)
    db.session.commit()
    assert not _signed_in(idle) and not _signed_in(old)
    assert _signed_in(remembered)
    assert [r.end_reason for r in _rows(user)] == ["idle", "expired", None]
    # A remembered session ends SESSION_REMEMBER_DAYS after sign-in, remember cookie and all.
    row = _rows(user)[2]
    row.created_at = now - timedelta(days=14, minutes=1)
    db.session.commit()
    remember_key = _cookies(remembered)[REMEMBER_COOKIE]
    assert not _signed_in(_replay(app, {REMEMBER_COOKIE: remember_key}))
    assert not _signed_in(remembered)
    assert REMEMBER_COOKIE not in _cookies(remembered)  # the dead cookie is deleted
    assert _rows(user)[2].end_reason == "expired"


def test_one_query_per_request_and_last_seen_written_once_a_minute(
    client, make_user, count_queries
):
    user = make_user()
    assert login(client, user.username).status_code == 302
    client.get("/")  # warm-up (templates)
    with count_queries() as counted, client.get("/static/app.css") as response:
        assert response.status_code == 200
    assert len(counted.statements) == 1  # the session and its user, in one query
    assert "user_sessions" in counted.statements[0] and "JOIN users" in counted.statements[0]
    (row,) = _rows(user)
    row.last_seen_at = now_local() - timedelta(minutes=2)
    db.session.commit()
    with count_queries() as counted:
        for _ in range(2):
            client.get("/static/app.css").close()
    writes = [s for s in counted.statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1 and len(counted.statements) == 3  # one write in two requests
    assert (now_local() - _rows(user)[0].last_seen_at) < timedelta(minutes=1)


def test_every_worker_sees_the_same_sessions(app, make_user):
    """Two app instances on one database, as two gunicorn workers: a session opened on one is
    open on the other, and signing out on the second ends it on the first."""
    user = make_user()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other_worker = make_app(url)
    first = app.test_client()
    assert login(first, user.username).status_code == 302
    cookies = _cookies(first)
    second = _replay(other_worker, cookies)
    assert _signed_in(second)
    assert second.post("/dang-xuat").status_code == 302
    assert not _signed_in(first)
    with other_worker.app_context():
        db.engine.dispose()


def test_sessions_page_lists_and_ends_sessions(app, make_user):
    user = make_user()
    laptop, phone, other = (app.test_client() for _ in range(3))
    chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"  # noqa: E501
    android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36"  # noqa: E501
    laptop.environ_base.update(HTTP_USER_AGENT=chrome, REMOTE_ADDR="10.1.2.3")
    phone.environ_base.update(HTTP_USER_AGENT=android, REMOTE_ADDR="10.9.8.7")
    for client in (laptop, phone):
        assert login(client, user.username).status_code == 302
    someone = make_user()
    assert login(other, someone.username).status_code == 302

    html = laptop.get("/tai-khoan/phien").get_data(as_text=True)
    assert "Chrome 120 trên Windows" in html and "10.1.2.3" in html
    assert "Chrome 121 trên Android" in html and "10.9.8.7" in html
    assert html.count("(phiên này)") == 1
    assert "Phiên đăng nhập" in html

    rows = [r for r in _rows(user) if r.ended_at is None]
    phone_row = next(r for r in rows if r.address == "10.9.8.7")
    laptop_row = next(r for r in rows if r.address == "10.1.2.3")
    # Someone else's session: not found. Its own current session: use sign-out.
    foreign = _rows(someone)[0]
    assert laptop.post(f"/tai-khoan/phien/{foreign.id}/ket-thuc").status_code == 404
    assert _signed_in(other)
    laptop.post(f"/tai-khoan/phien/{laptop_row.id}/ket-thuc")
    assert _signed_in(laptop)
    # The phone's session, from the laptop.
    response = laptop.post(f"/tai-khoan/phien/{phone_row.id}/ket-thuc")
    assert response.status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "end_session"))
    assert entry.user_id == user.id and "Chrome 121 trên Android" in entry.summary
    html = laptop.get("/tai-khoan/phien").get_data(as_text=True)
    assert "Kết thúc từ trang Phiên đăng nhập" in html  # listed under ended sessions


def test_end_every_other_session(app, make_user):
    user = make_user()
    clients = [app.test_client() for _ in range(3)]
    for client in clients:
        assert login(client, user.username).status_code == 302
    assert clients[0].post("/tai-khoan/phien/ket-thuc-phien-khac").status_code == 302
    assert [_signed_in(c) for c in clients] == [True, False, False]
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "end_sessions"))
    assert "2 phiên" in entry.summary


def test_admin_sees_and_ends_a_users_sessions_from_the_user_page(app, make_user, auth):
    admin_client = app.test_client()
    admin = auth(admin_client, "admin")
    user = make_user()
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR="10.20.30.40")
    assert login(browser, user.username).status_code == 302
    html = admin_client.get(f"/quan-tri/nguoi-dung/{user.id}").get_data(as_text=True)
    assert "Phiên đăng nhập đang mở" in html and "10.20.30.40" in html
    admin_client.post(f"/quan-tri/nguoi-dung/{user.id}/ket-thuc-phien")
    assert not _signed_in(browser)
    html = admin_client.get(f"/quan-tri/nguoi-dung/{user.id}").get_data(as_text=True)
    assert "Không có phiên nào đang mở" in html
    # On their own page an admin ends their other sessions, never the one in use.
    second = app.test_client()
    assert login(second, admin.username).status_code == 302
    admin_client.post(f"/quan-tri/nguoi-dung/{admin.id}/ket-thuc-phien")
    assert _signed_in(admin_client) and not _signed_in(second)


def test_a_new_sign_in_purges_long_ended_sessions(app, make_user):
    user = make_user()
    client = app.test_client()
    for _ in range(2):
        assert login(client, user.username).status_code == 302
        client.post("/dang-xuat")
    rows = _rows(user)
    rows[0].ended_at = now_local() - timedelta(days=31)
    db.session.commit()
    assert login(client, user.username).status_code == 302
    assert [r.id for r in _rows(user)] == [rows[1].id, rows[1].id + 1]


def test_garbage_keys_are_refused_quietly(app, make_user):
    for value in ("", "x", "1:abc", "A" * 300, "é" * 40):
        stranger = app.test_client()
        with stranger.session_transaction() as sess:
            sess["_user_id"] = value
        stranger.set_cookie(REMEMBER_COOKIE, value or "-")
        response = stranger.get("/yeu-cau/")
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_describe_agent():
    assert describe_agent("") == "Trình duyệt không rõ"
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
    assert describe_agent(firefox) == "Firefox 121 trên Linux"
    edge = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
    )
    assert describe_agent(edge) == "Edge 120 trên Windows"
    safari = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
    )
    assert describe_agent(safari) == "Safari 17 trên iOS"


def test_tabs_reopened_together_share_one_rotation(app, make_user):
    """Several requests bring the same remember-me key at once (a browser restoring its tabs):
    one replaces the key; the others neither reopen the session twice nor delete the cookie."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    user = make_user()
    client = app.test_client()
    assert login(client, user.username, remember="y").status_code == 302
    key = _cookies(client)[REMEMBER_COOKIE]
    barrier = threading.Barrier(6)

    def tab(_i):
        browser = _replay(app, {REMEMBER_COOKIE: key})
        barrier.wait(timeout=30)
        response = browser.get("/don-vi/")
        return response.status_code, response.headers.getlist("Set-Cookie")

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(tab, range(6)))
    winners = [cookies for status, cookies in answers if status == 200]
    assert len(winners) == 1
    assert any(c.startswith(f"{REMEMBER_COOKIE}=") and "Max-Age=0" not in c
               for c in winners[0])  # fmt: skip
    for status, cookies in answers:
        if status != 200:
            assert not any(c.startswith(f"{REMEMBER_COOKIE}=") for c in cookies)
    assert len(_rows(user)) == 1
