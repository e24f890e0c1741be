"""Web-layer security: headers, HSTS, session renewal at sign-in, no secrets in pages or logs."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User, UserSession
from helpdesk.auth.twofactor import grouped
from helpdesk.cli import DEMO_PASSWORDS
from helpdesk.extensions import db

from .conftest import PASSWORD, csrf_token_from, login

SECRET = "k9Zr-unique-secret-key-for-the-crawl-7Qw"
HREF_RE = re.compile(r'(?:href|action)="([^"#]+)"')


def test_security_headers_on_every_kind_of_response(client, make_user):
    user = make_user()
    pages = [
        client.get("/dang-nhap"),  # public page
        client.get("/static/app.css"),  # static file
        client.get("/khong-co-trang-nay"),  # 404
    ]
    login(client, user.username)
    pages.append(client.get("/"))
    for response in pages:
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS
    assert pages[-1].headers["Cache-Control"] == "no-store"  # a signed-in page is not cached
    for response in pages:
        response.close()


def test_hsts_only_over_https(app):
    client = app.test_client()
    secure = client.get("/dang-nhap", base_url="https://hotro.haiphong.gov.vn")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = client.get("/dang-nhap", base_url="http://hotro.haiphong.gov.vn")
    assert "Strict-Transport-Security" not in plain.headers


def test_pages_have_no_inline_script_or_style(demo_app):
    client = demo_app.test_client()
    login(client, "admin", DEMO_PASSWORDS["admin"][2])
    for html in _crawl(client, limit=120).values():
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
        assert " style=" not in html and "<style" not in html, "inline style"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_session_is_renewed_at_sign_in(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    user = User(username="op", full_name="Op", role="operator")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    anonymous_token = csrf_token_from(client.get("/dang-nhap").get_data(as_text=True))
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"  # what a fixation attack would try to keep
        raw_before = sess["csrf_token"]
    response = client.post(
        "/dang-nhap", data={"username": "op", "password": PASSWORD, "csrf_token": anonymous_token}
    )
    assert response.status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != raw_before
        key = sess["_user_id"]  # a random session key, never the user's id
    assert key != str(user.id) and len(key) >= 40
    stored = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert stored.token_hash == hashlib.sha256(key.encode()).hexdigest() != key
    # The token of the anonymous session no longer works in the signed-in one.
    assert client.post("/dang-xuat", data={"csrf_token": anonymous_token}).status_code == 400
    fresh = csrf_token_from(client.get("/don-vi/").get_data(as_text=True))
    assert client.post("/dang-xuat", data={"csrf_token": fresh}).status_code == 302


def test_no_secret_in_any_page_crawled_as_admin(app_factory):
    app = app_factory("demo", SECRET_KEY=SECRET)
    users = db.session.scalars(sa.select(User)).all()
    secrets = {SECRET: "SECRET_KEY", "$argon2": "a password hash"}
    for user in users:
        secrets[user.password_hash.split("$")[-1]] = f"password hash of {user.username}"
        if user.totp_secret:
            secrets[user.totp_secret] = f"two-factor secret of {user.username}"
            secrets[grouped(user.totp_secret)] = f"two-factor secret of {user.username}"
    for _username, (_role, _name, password) in DEMO_PASSWORDS.items():
        secrets[password] = "a demo password"
    client = app.test_client()
    login(client, "admin", DEMO_PASSWORDS["admin"][2])
    with client.session_transaction() as sess:
        secrets[sess["_user_id"]] = "the session key"
    secrets.update({row.token_hash: "a session key's hash" for row in db.session.scalars(
        sa.select(UserSession))})  # fmt: skip
    pages = _crawl(client, limit=200)
    assert len(pages) >= 10, sorted(pages)
    for url, html in pages.items():
        for secret, what in secrets.items():
            assert secret not in html, f"{what} appears in {url}"


def test_passwords_never_logged_nor_audited_nor_echoed(demo_app, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, every level
    client = demo_app.test_client()
    wrong = "Sai-Mat-Khau-Dac-Biet-42"
    html = login(client, "admin", wrong).get_data(as_text=True)
    assert wrong not in html  # the password field is not filled back in
    login(client, "admin", DEMO_PASSWORDS["admin"][2])
    new_user_password = "Mat-Khau-Nguoi-Moi-77"
    reset_password = "Mat-Khau-Dat-Lai-88"
    client.post(
        "/quan-tri/nguoi-dung",
        data={
            "username": "moi.nv",
            "full_name": "Nguyễn Văn Mới",
            "role": "operator",
            "password": new_user_password,
        },
    )
    created = db.session.scalar(sa.select(User).where(User.username == "moi.nv"))
    assert created is not None and created.check_password(new_user_password)
    response = client.post(
        f"/quan-tri/nguoi-dung/{created.id}/mat-khau", data={"reset-password": reset_password}
    )
    assert response.status_code == 302
    db.session.refresh(created)
    assert created.check_password(reset_password)
    runner = demo_app.test_cli_runner()
    cli_password = "Mat-Khau-Dong-Lenh-99"
    result = runner.invoke(
        args=["users", "create", "cli.user", "--role", "operator", "--password-stdin"],
        input=cli_password + "\n",
    )
    assert result.exit_code == 0, result.output
    assert cli_password not in result.output
    demo_app.logger.warning("canary: the capture works")
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "canary: the capture works" in logged
    audit = " ".join(
        f"{e.summary} {e.detail or ''}" for e in db.session.scalars(sa.select(AuditLog))
    )
    for password in (wrong, DEMO_PASSWORDS["admin"][2], new_user_password, reset_password):
        assert password not in logged
        assert password not in audit
    assert "$argon2" not in logged and "$argon2" not in audit


def _crawl(client, limit: int) -> dict[str, str]:
    """Follow every same-site link from the home page and the URL map; return url -> HTML."""
    app = client.application
    start = ["/"]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            start.append(rule.rule)
    queue, seen, pages = deque(start), set(start), {}
    while queue and len(pages) < limit:
        url = queue.popleft()
        with client.get(url) as response:
            assert response.status_code < 500, (url, response.status_code)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
        pages[url] = html
        for link in HREF_RE.findall(html):
            target = urljoin(url, link.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.netloc or parts.path.startswith("/static/") or target in seen:
                continue
            if parts.path == "/dang-xuat":
                continue
            seen.add(target)
            queue.append(target)
    return pages


def test_behind_a_proxy_the_real_scheme_and_address_count(app_factory):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    # Without PROXY_COUNT the headers are anyone's to forge: ignored.
    direct = app_factory().test_client().get("/dang-nhap", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers
    app = app_factory(
        PROXY_COUNT=1, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per hour",
        LOGIN_LOCKOUT_FAILURES=100,
    )  # fmt: skip
    client = app.test_client()
    assert "Strict-Transport-Security" in client.get("/dang-nhap", headers=forwarded).headers

    def attempt(address: str, user: str) -> int:
        headers = {"X-Forwarded-For": address}
        data = {"username": user, "password": "x"}
        return client.post("/dang-nhap", data=data, headers=headers).status_code

    # Every request comes from the proxy (127.0.0.1); the limit follows the forwarded address.
    assert [attempt("203.0.113.7", f"u{i}") for i in range(3)] == [200, 200, 429]
    assert attempt("198.51.100.9", "u9") == 200
