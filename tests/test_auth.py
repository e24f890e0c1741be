import re

from sqlalchemy import select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.auth.services import GENERIC_ERROR as GENERIC
from helpdesk.extensions import db

from .conftest import PASSWORD, csrf_token_from, login


def test_password_is_hashed_with_argon2(make_user):
    user = make_user("operator")
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD)
    assert not user.check_password("wrong")


def test_sign_in_and_out(client, make_user):
    user = make_user("supervisor")
    response = login(client, user.username)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/dang-xuat").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_message_and_keeps_username(client, make_user):
    user = make_user()
    response = login(client, user.username, "sai-mat-khau")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in html
    assert f'value="{user.username}"' in html


def test_unknown_user_gets_the_same_message(client):
    html = login(client, "nobody", "whatever-123").get_data(as_text=True)
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in html


def test_inactive_user_refused_and_existing_session_ends(client, make_user):
    user = make_user()
    assert login(client, user.username).status_code == 302
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302  # the running session is refused at once
    response = login(client, user.username)  # the right password
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert GENERIC in html and "vô hiệu hóa" not in html  # as a wrong password reads


def test_password_reset_signs_out_everywhere(client, make_user):
    user = make_user()
    assert login(client, user.username).status_code == 302
    user.set_password("Mot-mat-khau-moi-9")
    db.session.commit()
    assert client.get("/").status_code == 302


def test_lockout_after_repeated_failures(app, make_user):
    user = make_user()
    client = app.test_client()
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        login(client, user.username, "wrong-password")
    response = login(client, user.username)  # the right password, too late
    assert response.status_code == 200
    assert GENERIC in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.locked_until is not None and user.failed_logins == 0
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "lockout")) is not None


def _error_part(html: str) -> str:
    """The page as the person sees it, less what they typed (the username field's value)."""
    return re.sub(r'value="[^"]*"', "", html)


def test_one_message_for_wrong_password_unknown_deactivated_and_locked(app, make_user):
    """A probe found that a deactivated or a locked account answered differently from a wrong
    password: which told an attacker the account exists, and for a deactivated one that the
    password was right. Every refusal now reads the same."""
    wrong = make_user(username="sai.mat.khau")
    inactive = make_user(username="vo.hieu", active=False)
    locked = make_user(username="bi.khoa")
    client = app.test_client()
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        login(client, locked.username, "wrong-password")
    pages = {
        "wrong password": login(client, wrong.username, "Sai-Mat-Khau-1"),
        "unknown user": login(client, "khong.co.ai", PASSWORD),
        "deactivated, right password": login(client, inactive.username, PASSWORD),
        "locked, right password": login(client, locked.username, PASSWORD),
    }
    bodies = {what: _error_part(r.get_data(as_text=True)) for what, r in pages.items()}
    assert {r.status_code for r in pages.values()} == {200}
    assert GENERIC in bodies["wrong password"]
    for what, body in bodies.items():
        assert body == bodies["wrong password"], what
    assert {r.headers.get("Set-Cookie") is None for r in pages.values()} == {True}


def test_open_redirect_refused(client, make_user):
    user = make_user()
    response = client.post(
        "/dang-nhap?next=https://evil.example/",
        data={"username": user.username, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_csrf_required_on_forms(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(username="op", full_name="Op", role="operator")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": "op", "password": PASSWORD})
    assert response.status_code == 400  # no token
    token = csrf_token_from(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post(
        "/dang-nhap", data={"username": "op", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.post("/dang-xuat").status_code == 400  # sign-out needs the token too


def test_sign_in_rate_limited_per_account(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", LOGIN_LOCKOUT_FAILURES=100
    )
    client = app.test_client()
    codes = [
        client.post(
            "/dang-nhap",
            data={"username": "victim", "password": f"x{i}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        ).status_code
        for i in range(5)
    ]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]  # other addresses, same account


def test_sign_in_rate_limited_per_address(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", LOGIN_LOCKOUT_FAILURES=100
    )
    client = app.test_client()
    codes = [
        client.post("/dang-nhap", data={"username": f"user{i}", "password": "x"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert "Quá nhiều lần thử" in client.post(
        "/dang-nhap", data={"username": "z", "password": "x"}
    ).get_data(as_text=True)


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = login(client, user.username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
