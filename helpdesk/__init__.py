"""The helpdesk application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError

from .config import check_secret, load_config
from .extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app. No queries run here."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    check_secret(app)
    # JSON answers carry Vietnamese as UTF-8 text, readable as is (not \u escapes).
    app.json.ensure_ascii = False
    from .formsutil import use_vietnamese_messages

    use_vietnamese_messages()
    # A failed statement's message (logged with the traceback) must not carry its values:
    # password hashes, session tokens, citizens' names and phone numbers.
    engine_options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    # First registered, so it runs after every other after_request hook: one commit per request.
    from .transaction import register_transaction

    register_transaction(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    from . import models  # noqa: F401 - register every model
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .api.pages import bp as api_tokens_bp
    from .auth import bp as auth_bp
    from .dashboard import bp as dashboard_bp
    from .main import bp as main_bp
    from .reports import bp as reports_bp
    from .stats import bp as stats_bp
    from .tickets import bp as tickets_bp
    from .unitdesk import bp as unitdesk_bp
    from .units import bp as units_bp

    for blueprint in (
        auth_bp,
        main_bp,
        units_bp,
        admin_bp,
        tickets_bp,
        unitdesk_bp,
        stats_bp,
        reports_bp,
        dashboard_bp,
        api_bp,
        api_tokens_bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # bearer tokens, never cookies: nothing for a forged form to ride on

    from .cli import register_cli
    from .web import register_web

    register_web(app)
    register_cli(app)

    from .api.core import http_error, is_api_request

    @app.errorhandler(400)
    def bad_request(e):
        if is_api_request():
            return http_error(400)
        return e

    @app.errorhandler(405)
    def method_not_allowed(e):
        if is_api_request():
            return http_error(405)
        return e

    @app.errorhandler(404)
    def not_found(_e):
        if is_api_request():
            return http_error(404)
        return render_template("errors/error.html", code=404, message="Không tìm thấy trang."), 404

    @app.errorhandler(403)
    def forbidden(_e):
        if is_api_request():
            return http_error(403)
        return (
            render_template("errors/error.html", code=403, message="Bạn không có quyền truy cập."),
            403,
        )

    @app.errorhandler(413)
    def too_large(_e):
        message = "Tệp quá lớn (tối đa 10 MB)."
        if is_api_request():
            return http_error(413, message)
        return render_template("errors/error.html", code=413, message=message), 413

    @app.errorhandler(429)
    def too_many(_e):
        message = "Quá nhiều lần thử. Vui lòng đợi vài phút rồi thử lại."
        if is_api_request():
            return http_error(429)
        return render_template("errors/error.html", code=429, message=message), 429

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def bad_value(exc):
        # A value the database cannot hold (an id past 2**63, text longer than its column, a
        # NUL character) that no form check caught: the input is bad, nothing is written.
        db.session.rollback()
        app.logger.warning("value refused by the database: %s", type(exc).__name__)
        message = "Giá trị nhập vào không hợp lệ (quá lớn hoặc quá dài); không có gì được lưu."
        if is_api_request():
            return http_error(422, message)
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(500)
    def server_error(_e):
        message = "Đã có lỗi xảy ra; không có dữ liệu nào bị ghi dở. Vui lòng thử lại."
        try:
            db.session.rollback()
            if is_api_request():
                return http_error(500)
            return render_template("errors/error.html", code=500, message=message), 500
        except Exception:  # the database itself may be what failed
            # The page needs the signed-in user, whom only the database can load: show the
            # page as to an anonymous visitor, so the answer never depends on the database.
            from flask import g

            db.session.remove()
            g._login_user = login_manager.anonymous_user()
            return render_template("errors/error.html", code=500, message=message), 500

    logging.getLogger("helpdesk").setLevel(logging.INFO)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """Enforce foreign keys and allow concurrent readers on SQLite."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # A 32 MB page cache per connection (the default is 2 MB): a month's index pages stay in
    # memory between the dashboard's queries (measured: a quarter less CPU on 1M tickets).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()
