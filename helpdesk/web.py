"""Request-wide wiring: the user loader, security headers, template helpers."""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user

from . import formatting
from .extensions import db, login_manager


def register_web(app: Flask) -> None:
    """Install the user loader, security headers and template filters."""
    from .auth.models import User

    @login_manager.user_loader
    def load_user(value: str):
        user_id, _, token = value.partition(":")
        if not (user_id.isascii() and user_id.isdigit() and len(user_id) < 19) or not token:
            return None
        user = db.session.get(User, int(user_id))
        # A reset password or a deactivation changes the token: every old session ends.
        if user is None or user.session_token != token or not user.active:
            return None
        return user

    @app.teardown_request
    def forget_user(_exc):
        # Flask-Login caches the user in g, Flask-WTF the CSRF token; tests reuse one app context
        # across requests, and a token cached from before sign-in must not outlive its session.
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user.is_authenticated and "Cache-Control" not in headers:
            # Pages with personal data must not stay in shared caches.
            headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.filters["num"] = formatting.number
    app.jinja_env.filters["pct"] = formatting.percent
    app.jinja_env.filters["vdate"] = formatting.short_date

    @app.context_processor
    def nav_context():
        return {"nav_items": _nav_items()}


NAV = (
    # (endpoint, label, minimum role)
    ("tickets.quick", "Ghi nhận cuộc gọi", "operator"),
    ("tickets.index", "Yêu cầu hỗ trợ", "operator"),
    ("stats.index", "Số liệu tháng", "supervisor"),
    ("dashboard.month", "Tổng hợp", "supervisor"),
    ("reports.index", "Báo cáo", "supervisor"),
    ("units.index", "Đơn vị", "operator"),
    ("admin.users", "Quản trị", "admin"),
)


def _nav_items() -> list[tuple[str, str, str, bool]]:
    """(endpoint, url, label, current) for the signed-in user's role."""
    from flask import current_app, url_for

    if not current_user.is_authenticated:
        return []
    here = request.endpoint or ""
    exact = {endpoint for endpoint, _label, _role in NAV}
    items = []
    for endpoint, label, role in NAV:
        if endpoint in current_app.view_functions and current_user.has_role(role):
            # Current: this very page, or another page of its blueprint that has no entry.
            same_blueprint = here.split(".")[0] == endpoint.split(".")[0]
            current = here == endpoint or (same_blueprint and here not in exact)
            if endpoint == "tickets.quick":
                current = here == endpoint
            items.append((endpoint, url_for(endpoint), label, current))
    return items
