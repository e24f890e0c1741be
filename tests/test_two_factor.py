"""Two-factor sign-in (TOTP) end to end through the pages: enrolment with a QR drawn on the
server, recovery codes, the code step of a sign-in, admins required to enrol, supervisors by
setting, replay and rate limits, an admin's reset, the command line and the demo admin.

Codes are computed as a phone would, with pyotp from the secret the page shows.
"""

from __future__ import annotations

import hashlib
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import RecoveryCode, User, UserSession
from helpdesk.cli import DEMO_PASSWORDS, DEMO_TOTP_SECRETS
from helpdesk.extensions import db

from .conftest import PASSWORD, TWO_FACTOR_STEP, enrol_two_factor, login

SETUP = "/tai-khoan/xac-thuc-hai-buoc"
SECRET_RE = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>")


def _password_step(client, username: str, password: str = PASSWORD, **data):
    return client.post("/dang-nhap", data={"username": username, "password": password, **data})


def _secret_from(html: str) -> str:
    match = SECRET_RE.search(html)
    assert match, "no secret on the enrolment page"
    return match.group(1).replace(" ", "")


def _next_code(secret: str) -> str:
    """The code of the next 30-second step: accepted (clock drift) and never used yet."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _signed_in(client) -> bool:
    return client.get("/don-vi/").status_code == 200


def _enrol(client) -> tuple[str, list[str]]:
    """Enrol through the page; return the secret and the recovery codes shown."""
    secret = _secret_from(client.get(SETUP).get_data(as_text=True))
    response = client.post(SETUP, data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = CODES_RE.findall(response.get_data(as_text=True))
    return secret, codes


def test_enrolment_qr_secret_code_and_recovery_codes_shown_once(client, make_user):
    user = make_user("operator")
    assert login(client, user.username).status_code == 302
    page = client.get(SETUP)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # The QR code is inline SVG drawn by the server: no image fetched, no script, no style.
    assert re.search(r"<svg\b[^>]*>.*<title>Mã QR", html, re.S)
    assert "<script" not in html.split("<main")[1] and " style=" not in html
    assert "http" not in re.search(r"<svg.*</svg>", html, re.S).group(0).replace(
        "http://www.w3.org", ""
    )
    secret = _secret_from(html)
    assert len(secret) == 32
    assert (
        client.get(SETUP)
        .get_data(as_text=True)
        .count(" ".join(secret[i : i + 4] for i in range(0, 32, 4)))
        == 1
    )  # fmt: skip - the same secret on reload

    wrong = client.post(SETUP, data={"code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                     else "111111"})  # fmt: skip
    assert "Mã xác thực không đúng" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.two_factor_enabled

    response = client.post(SETUP, data={"code": pyotp.TOTP(secret).now()})
    html = response.get_data(as_text=True)
    codes = CODES_RE.findall(html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "chỉ hiện chúng một lần" in html
    db.session.refresh(user)
    assert user.two_factor_enabled and user.totp_secret == secret
    stored = db.session.scalars(
        sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    ).all()
    assert sorted(stored) == sorted(
        hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes
    )  # stored hashed
    # Shown once: the page now shows the status, not the codes nor the secret.
    status = client.get(SETUP).get_data(as_text=True)
    assert "Đang bật" in status and "Còn <strong>10</strong> mã khôi phục" in status
    assert not any(code in status for code in codes) and secret not in status
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "enable_2fa"))


def test_sign_in_asks_for_the_code_after_the_password(client, make_user):
    user = make_user("operator")
    assert login(client, user.username).status_code == 302
    secret, codes = _enrol(client)
    client.post("/dang-xuat")

    response = _password_step(client, user.username)
    assert response.status_code == 302 and response.headers["Location"].endswith(TWO_FACTOR_STEP)
    assert not _signed_in(client)  # a password alone opens nothing
    page = client.get(TWO_FACTOR_STEP).get_data(as_text=True)
    assert "Mã xác thực" in page and 'autocomplete="one-time-code"' in page
    bad = client.post(TWO_FACTOR_STEP, data={"code": "12345"})
    assert "Mã xác thực không đúng" in bad.get_data(as_text=True)
    code = _next_code(secret)
    response = client.post(TWO_FACTOR_STEP, data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _signed_in(client)
    client.post("/dang-xuat")

    # The same code again (a code seen over a shoulder, a replayed request): refused.
    _password_step(client, user.username)
    replay = client.post(TWO_FACTOR_STEP, data={"code": code})
    assert "Mã xác thực không đúng hoặc đã được dùng" in replay.get_data(as_text=True)
    assert not _signed_in(client)

    # A recovery code instead (any spacing or case), once.
    response = client.post(TWO_FACTOR_STEP, data={"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert "còn 9 mã" in client.get("/", follow_redirects=True).get_data(as_text=True)
    client.post("/dang-xuat")
    _password_step(client, user.username)
    again = client.post(TWO_FACTOR_STEP, data={"code": codes[0]})
    assert "Mã xác thực không đúng" in again.get_data(as_text=True)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "use_recovery_code"))
    assert entry.user_id == user.id and "còn 9 mã" in entry.summary


def test_code_step_keeps_next_and_remember(client, make_user):
    user = make_user("admin")
    response = client.post(
        "/dang-nhap?next=/don-vi/",
        data={"username": user.username, "password": PASSWORD, "remember": "y"},
    )
    assert response.headers["Location"].endswith(TWO_FACTOR_STEP)
    code = pyotp.TOTP(user.totp_secret).now()
    response = client.post(TWO_FACTOR_STEP, data={"code": code})
    assert response.headers["Location"] == "/don-vi/"
    assert any("helpdesk_remember=" in h for h in response.headers.getlist("Set-Cookie"))
    row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.remember


def test_code_step_without_password_or_too_late(client, make_user):
    response = client.get(TWO_FACTOR_STEP)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dang-nhap")
    assert client.post(TWO_FACTOR_STEP, data={"code": "123456"}).status_code == 302
    user = make_user("admin")
    _password_step(client, user.username)
    with client.session_transaction() as sess:  # the code comes over five minutes after
        sess["_2fa"] = {**sess["_2fa"], "at": sess["_2fa"]["at"] - 301}
    response = client.post(TWO_FACTOR_STEP, data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dang-nhap")
    assert not _signed_in(client)
    assert "Đã quá thời gian nhập mã" in client.get("/dang-nhap").get_data(as_text=True)


def test_admin_without_two_factor_can_do_nothing_but_enrol(app, make_user):
    admin = make_user("admin", two_factor=False)
    client = app.test_client()
    response = _password_step(client, admin.username)
    assert response.status_code == 302 and response.headers["Location"].endswith(SETUP)
    home = client.get("/", follow_redirects=True)
    assert "bắt buộc dùng xác thực hai bước" in home.get_data(as_text=True)
    # Every other route, whatever its method, goes to enrolment (the URL map, walked).
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.two_factor_setup", "auth.logout"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            value = "2023-09" if arg in ("month", "period") else "pdf" if arg == "fmt" else "1"
            url = re.sub(rf"<(?:\w+:)?{arg}>|<any\([^)]*\):{arg}>", value, url)
        method = "GET" if "GET" in rule.methods else min(rule.methods - {"HEAD", "OPTIONS"})
        answer = client.open(url, method=method)
        if rule.endpoint == "api.openapi_document":
            assert answer.status_code == 200  # the public description, no data
            continue
        if url.startswith("/api/"):
            # The API takes bearer tokens only: this half-signed-in cookie is no one there.
            assert answer.status_code == 401, (rule.endpoint, answer.status_code)
            assert answer.is_json and answer.json["error"]["code"] == "unauthorized"
            continue
        assert answer.status_code == 302, (rule.endpoint, answer.status_code)
        assert answer.headers["Location"].endswith(SETUP), rule.endpoint
        walked += 1
    assert walked > 30
    nav = client.get(SETUP).get_data(as_text=True)
    assert 'href="/quan-tri/nguoi-dung"' not in nav  # no menu to go elsewhere
    secret, codes = _enrol(client)
    assert len(codes) == 10
    assert client.get("/quan-tri/nguoi-dung").status_code == 200


def test_supervisors_by_setting(app_factory):
    for required in (False, True):
        app = app_factory(REQUIRE_2FA_SUPERVISORS=required)
        user = User(username="giam.sat", full_name="Giám Sát", role="supervisor")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        response = _password_step(client, "giam.sat")
        target = response.headers["Location"]
        assert target.endswith(SETUP) if required else target == "/"
        page = client.get("/so-lieu/")
        assert page.headers.get("Location", "").endswith(SETUP) is required


def test_disable_only_where_not_required_and_with_a_code(client, make_user, auth):
    user = make_user("operator")
    assert login(client, user.username).status_code == 302
    secret, _codes = _enrol(client)
    refused = client.post(f"{SETUP}/tat", data={"off-code": "000001"})
    assert refused.status_code == 400
    db.session.refresh(user)
    assert user.two_factor_enabled
    assert client.post(f"{SETUP}/tat", data={"off-code": _next_code(secret)}).status_code == 302
    db.session.refresh(user)
    assert not user.two_factor_enabled and user.totp_secret is None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "disable_2fa"))

    admin_client = client.application.test_client()
    admin = auth(admin_client, "admin")
    page = admin_client.get(SETUP).get_data(as_text=True)
    assert "Tắt xác thực hai bước" not in page
    code = pyotp.TOTP(admin.totp_secret).at(time.time() + 30)
    admin_client.post(f"{SETUP}/tat", data={"off-code": code})
    db.session.refresh(admin)
    assert admin.two_factor_enabled


def test_new_recovery_codes_replace_the_old(client, make_user):
    user = make_user("operator")
    assert login(client, user.username).status_code == 302
    secret, old = _enrol(client)
    assert client.post(f"{SETUP}/ma-khoi-phuc", data={"code": "999999"}).status_code == 400
    response = client.post(f"{SETUP}/ma-khoi-phuc", data={"code": _next_code(secret)})
    new = CODES_RE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert "Các mã cũ không còn dùng được" in response.get_data(as_text=True)
    client.post("/dang-xuat")
    _password_step(client, user.username)
    assert client.post(TWO_FACTOR_STEP, data={"code": old[1]}).status_code == 200  # refused
    assert client.post(TWO_FACTOR_STEP, data={"code": new[1]}).status_code == 302


def test_enrolling_ends_the_other_sessions(app, make_user):
    user = make_user("operator")
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert login(client, user.username).status_code == 302
    _enrol(first)
    assert _signed_in(first) and not _signed_in(second)


def test_wrong_codes_lock_like_wrong_passwords(app, make_user):
    user = make_user("admin")
    client = app.test_client()
    _password_step(client, user.username)
    real = pyotp.TOTP(user.totp_secret)
    near = {real.at(time.time() + d) for d in (-30, 0, 30)}
    guesses = (f"{n:06d}" for n in range(1000) if f"{n:06d}" not in near)
    threshold = app.config["LOGIN_LOCKOUT_FAILURES"]
    for _ in range(threshold - 2):  # the password attempt counted one
        assert client.post(TWO_FACTOR_STEP, data={"code": next(guesses)}).status_code == 200
    last = client.post(TWO_FACTOR_STEP, data={"code": next(guesses)})
    assert last.status_code == 200
    locked = client.post(TWO_FACTOR_STEP, data={"code": real.now()})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/dang-nhap")
    assert not _signed_in(client)
    db.session.refresh(user)
    assert user.locked_until is not None
    # The right password and the right code, while locked: refused with the one message.
    assert "không đúng" in _password_step(client, user.username).get_data(as_text=True)


def test_code_attempts_are_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    user = User(username="quan.tri", full_name="Quản Trị", role="admin")
    user.set_password(PASSWORD)
    enrol_two_factor(user)
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    _password_step(client, "quan.tri")
    codes = [
        client.post(
            TWO_FACTOR_STEP, data={"code": "000000"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]  # per pending account, whatever the address


def test_admin_resets_a_users_two_factor(app, make_user, auth):
    admin_client = app.test_client()
    admin = auth(admin_client, "admin")
    other_admin = make_user("admin")
    browser = app.test_client()
    assert login(browser, other_admin.username).status_code == 302
    page = admin_client.get(f"/quan-tri/nguoi-dung/{other_admin.id}").get_data(as_text=True)
    assert "Đặt lại xác thực hai bước" in page
    admin_client.post(f"/quan-tri/nguoi-dung/{other_admin.id}/xac-thuc-hai-buoc")
    db.session.refresh(other_admin)
    assert not other_admin.two_factor_enabled and other_admin.totp_secret is None
    assert not db.session.scalars(
        sa.select(RecoveryCode).where(RecoveryCode.user_id == other_admin.id)
    ).all()
    assert not _signed_in(browser)  # every session ended
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "reset_2fa"))
    assert entry.user_id == admin.id and entry.entity_id == str(other_admin.id)
    # Their next sign-in goes to enrolment.
    response = _password_step(browser, other_admin.username)
    assert response.headers["Location"].endswith(SETUP)
    # Not one's own (that is how an intruder with a session would keep the account).
    admin_client.post(f"/quan-tri/nguoi-dung/{admin.id}/xac-thuc-hai-buoc")
    db.session.refresh(admin)
    assert admin.two_factor_enabled


def test_cli_reset_and_demo_admin(demo_app):
    runner = demo_app.test_cli_runner()
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    assert admin.totp_secret == DEMO_TOTP_SECRETS["admin"] and admin.two_factor_enabled
    # The demo admin signs in with the printed secret's code, as README says.
    client = demo_app.test_client()
    response = _password_step(client, "admin", DEMO_PASSWORDS["admin"][2])
    assert response.headers["Location"].endswith(TWO_FACTOR_STEP)
    code = pyotp.TOTP(DEMO_TOTP_SECRETS["admin"]).now()
    assert client.post(TWO_FACTOR_STEP, data={"code": code}).status_code == 302
    assert client.get("/quan-tri/nguoi-dung").status_code == 200

    result = runner.invoke(args=["users", "reset-2fa", "admin"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert not _signed_in(client)
    db.session.refresh(admin)
    assert not admin.two_factor_enabled
    assert runner.invoke(args=["users", "reset-2fa", "nobody"]).exit_code == 1


@pytest.mark.parametrize("demo_mode", [True, False])
def test_demo_hint_on_the_code_page_only_in_the_demo(app_factory, demo_mode):
    app = app_factory("demo", HELPDESK_DEMO=demo_mode)
    client = app.test_client()
    _password_step(client, "admin", DEMO_PASSWORDS["admin"][2])
    html = client.get(TWO_FACTOR_STEP).get_data(as_text=True)
    assert (DEMO_TOTP_SECRETS["admin"] in html) is demo_mode


def test_flask_demo_prints_how_to_get_the_admin_code(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output[-2000:]
    secret = DEMO_TOTP_SECRETS["admin"]
    assert secret in result.output and "pyotp.TOTP" in result.output
    client = app.test_client()
    assert login(client, "admin", DEMO_PASSWORDS["admin"][2]).status_code == 302
    assert client.get("/quan-tri/nguoi-dung").status_code == 200


def test_code_forms_never_fail(app, make_user):
    """Bad input in every code field: never a 500, never signed in, nothing but counters."""
    from hypothesis import given, settings

    from .test_fuzz_forms import SLOW_OK, value

    admin = make_user("admin")
    operator = make_user("operator")
    step, account = app.test_client(), app.test_client()
    assert login(account, operator.username).status_code == 302

    @settings(SLOW_OK, max_examples=25)
    @given(code=value)
    def check(code):
        db.session.execute(sa.update(User).values(failed_logins=0, locked_until=None))
        db.session.commit()
        _password_step(step, admin.username)
        answer = step.post(TWO_FACTOR_STEP, data={"code": code})
        assert answer.status_code in (200, 400), answer.status_code
        assert not _signed_in(step)
        for url in (SETUP, f"{SETUP}/ma-khoi-phuc", f"{SETUP}/tat"):
            answer = account.post(url, data={"code": code, "off-code": code})
            assert answer.status_code < 500, (url, answer.status_code)
        db.session.refresh(operator)
        assert not operator.two_factor_enabled

    check()
