"""Request-wide wiring: the user loader, security headers, template helpers."""

from __future__ import annotations

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, login_user

from . import formatting
from .extensions import login_manager
from .tickets.sla import due_state
from .timeutil import now_local
from .workcal.services import current_calendar

# While an admin (or a supervisor, by setting) has no second factor, these are the only pages
# their session opens: every other request goes to enrolment.
ENROLMENT_OPEN = {"auth.two_factor_setup", "auth.logout", "static"}


def register_web(app: Flask) -> None:
    """Install the session loader, security headers and template filters."""
    from .auth import sessions, twofactor

    # The cookie carries the session's random key, never the user's id (see auth.sessions).
    login_manager.id_attribute = "get_session_key"
    login_manager.user_loader(sessions.load_user)

    @app.before_request
    def fresh_request_caches():
        # "Now" and the working calendar are read once per request (a list formats each row's
        # due time against them); an app context shared by several requests (tests, CLI) must
        # not carry them over.
        g.pop("_now", None)
        g.pop("_work_calendar", None)
        g.pop("_due_states", None)

    @app.before_request
    def open_session():
        if request.endpoint == "static":
            return None
        if request.blueprint == "api" or request.path.startswith("/api/"):
            # Bearer tokens only (helpdesk.api.core): a browser's session cookie opens nothing
            # here, so no forged cross-site request can ride on it.
            g._login_user = login_manager.anonymous_user()
            return None
        user = current_user._get_current_object()  # one query: the session and its user
        if not user.is_authenticated:
            if "_user_id" in session:  # ended or run out: forget the key
                for name in ("_user_id", "_fresh", "_id"):
                    session.pop(name, None)
            remembered = request.cookies.get(sessions.REMEMBER_COOKIE)
            if remembered:
                restored = sessions.restore_remembered(remembered)
                if restored is None:
                    sessions.remember_cookie(None)
                elif restored != sessions.UNKNOWN:
                    user, new_key, max_age = restored
                    session.clear()
                    login_user(user, fresh=False)
                    sessions.remember_cookie(new_key, max_age)
        if (
            user.is_authenticated
            and request.endpoint not in ENROLMENT_OPEN
            and twofactor.must_enrol(user)
        ):
            return redirect(url_for("auth.two_factor_setup"))
        return None

    @app.after_request
    def remember_cookie(response):
        action = g.pop("remember_cookie", None)
        if action is not None:
            key, max_age = action
            options = {
                "path": "/",
                "secure": bool(app.config.get("SESSION_COOKIE_SECURE")),
                "httponly": True,
                "samesite": "Lax",
            }
            if key:
                response.set_cookie(sessions.REMEMBER_COOKIE, key, max_age=max_age, **options)
            else:
                response.delete_cookie(sessions.REMEMBER_COOKIE, **options)
        return response

    @app.teardown_request
    def forget_user(_exc):
        # Flask-Login caches the user in g, Flask-WTF the CSRF token; tests reuse one app context
        # across requests, and a token cached from before sign-in must not outlive its session.
        for name in ("_login_user", "csrf_token", "user_session", "remember_cookie"):
            g.pop(name, None)

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
    app.jinja_env.globals["due_of"] = _due_of

    @app.context_processor
    def nav_context():
        return {"nav_items": _nav_items()}


def _due_of(ticket):
    """A ticket's due state for the templates, against one "now" per request."""
    now = g.get("_now")
    if now is None:
        now = g._now = now_local()
    # The calendar is read once, on the first row, whatever the rows: a page's query count
    # does not depend on whether its tickets are resolved. A row asks up to three times (its
    # badge, its class, its label): worked out once per ticket and request.
    key = (ticket.id, ticket.status, ticket.due_at, ticket.paused_at, ticket.resolved_at)
    known = g.setdefault("_due_states", {})
    if key not in known:
        known[key] = due_state(ticket, now, current_calendar())
    return known[key]


NAV = (
    # (endpoint, label, minimum role): unit staff (the lowest) see the units' desk only
    ("tickets.quick", "Ghi nhận cuộc gọi", "operator"),
    ("tickets.index", "Yêu cầu hỗ trợ", "operator"),
    ("tickets.deadlines", "Hạn xử lý", "supervisor"),
    ("unitdesk.index", "Yêu cầu chuyển đến", "unit_staff"),
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
    from .auth.twofactor import must_enrol

    if must_enrol(current_user):
        return []  # nothing else opens until the second factor is set up
    here = request.endpoint or ""
    exact = {endpoint for endpoint, _label, _role in NAV}
    items = []
    for endpoint, label, role in NAV:
        if endpoint in current_app.view_functions and current_user.has_role(role):
            # Current: this very page, or another page of its blueprint that has no entry.
            same_blueprint = here.split(".")[0] == endpoint.split(".")[0]
            current = here == endpoint or (same_blueprint and here not in exact)
            if endpoint in ("tickets.quick", "tickets.deadlines"):
                current = here == endpoint
            items.append((endpoint, url_for(endpoint), label, current))
    return items
