import pytest
from flask import Flask

from helpdesk import create_app
from helpdesk.config import ConfigError


def test_factory_returns_configured_app(app):
    assert isinstance(app, Flask)
    assert app.testing
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_refuses_to_start_without_secret_key_outside_demo(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("HELPDESK_DEMO", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_demo_mode_starts_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("HELPDESK_DEMO", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert create_app().config["SECRET_KEY"]


def test_database_url_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_security_headers_on_every_response(client):
    response = client.get("/dang-nhap")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_login_page_is_vietnamese_and_nfc(client):
    import unicodedata

    html = client.get("/dang-nhap").get_data(as_text=True)
    assert "Đăng nhập" in html and "Mật khẩu" in html
    assert unicodedata.is_normalized("NFC", html)


def test_navigation_marks_only_the_current_entry(demo_client, auth):
    auth(demo_client, "supervisor")
    html = demo_client.get("/yeu-cau/").get_data(as_text=True)
    assert html.count('aria-current="page"') == 1
    assert 'aria-current="page">Yêu cầu hỗ trợ<' in html
    html = demo_client.get("/yeu-cau/moi").get_data(as_text=True)
    assert 'aria-current="page">Ghi nhận cuộc gọi<' in html
    assert html.count('aria-current="page"') == 1
