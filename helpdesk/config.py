"""Configuration from the environment."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not allow the app to start safely."""


def _bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be at least 1, not {value}.")
    return value


def _work_hours(name: str) -> str:
    from .workcal.worktime import DEFAULT_WORK_HOURS, parse_work_hours

    raw = os.environ.get(name, "").strip() or DEFAULT_WORK_HOURS
    try:
        parse_work_hours(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc} (e.g. 07:30-11:30,13:30-17:00).") from None
    return raw


def load_config(instance_path: str) -> dict:
    """Return the settings taken from the environment, with safe defaults."""
    db_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "helpdesk.sqlite3")
    )
    # Heroku-style URLs and the psycopg 3 driver.
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://") :]
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "HELPDESK_DEMO": _bool("HELPDESK_DEMO"),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "IMPORT_MAX_BYTES": 10 * 1024 * 1024,
        "TICKETS_PER_PAGE": 50,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        # Each API token's requests, shared by every worker (Redis when REDIS_URL is set).
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "API_MAX_JSON_BYTES": 256 * 1024,
        "LOGIN_LOCKOUT_FAILURES": 8,
        "LOGIN_LOCKOUT_MINUTES": 15,
        # Server-side sessions (helpdesk.auth.sessions): a session ends after this long without
        # a request, or this long after sign-in; "Ghi nhớ" keeps one for SESSION_REMEMBER_DAYS.
        "SESSION_IDLE_MINUTES": _positive_int("SESSION_IDLE_MINUTES", 60),
        "SESSION_MAX_HOURS": _positive_int("SESSION_MAX_HOURS", 12),
        "SESSION_REMEMBER_DAYS": _positive_int("SESSION_REMEMBER_DAYS", 14),
        # Two-factor sign-in is required of admins always, of supervisors when this is on.
        "REQUIRE_2FA_SUPERVISORS": _bool("REQUIRE_2FA_SUPERVISORS"),
        "TWO_FACTOR_ISSUER": "Hỗ trợ TTHC",  # the account's label in authenticator apps
        "RETENTION_MONTHS": int(os.environ.get("RETENTION_MONTHS", "36")),
        "TIMEZONE": "Asia/Ho_Chi_Minh",
        # Working hours of every working day: due times count only these (helpdesk.workcal).
        "WORK_HOURS": _work_hours("WORK_HOURS"),
        # Unit staff's own due time from the moment a request is forwarded (working days).
        "UNIT_DUE_DAYS": _positive_int("UNIT_DUE_DAYS", 5),
        # "Sắp đến hạn": due within this many working minutes.
        "DUE_SOON_MINUTES": _positive_int("DUE_SOON_MINUTES", 240),
        # The e-mail outbox (helpdesk.mail): the SMTP server, the sender, and the retries.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _positive_int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_STARTTLS": _bool("MAIL_STARTTLS"),
        "MAIL_TIMEOUT": _positive_int("MAIL_TIMEOUT", 20),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Hỗ trợ TTHC <hotro@localhost>"),
        "MAIL_MAX_ATTEMPTS": _positive_int("MAIL_MAX_ATTEMPTS", 8),
        # Links in mails point here (the address users open the desk at).
        "BASE_URL": os.environ.get("BASE_URL", "http://localhost:5000"),
        # Reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For/-Proto/-Host
        # are trusted only then: the sign-in limit needs the real address, HSTS the real scheme.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
    }


def check_secret(app) -> None:
    """Refuse to run in production without a secret key."""
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing or app.config.get("HELPDESK_DEMO"):
        app.config["SECRET_KEY"] = "dev-only-not-secret"  # noqa: S105 - demo/debug/testing only
        return
    if _cli_command_other_than_run():
        # Command-line tasks (imports, migrations, reports) sign no cookies: a throwaway key.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    raise ConfigError(
        "SECRET_KEY is not set. Set it in the environment (for a demo, set HELPDESK_DEMO=1)."
    )


def _cli_command_other_than_run() -> bool:
    import click

    if click.get_current_context(silent=True) is None:
        return False  # imported by a WSGI server
    return "run" not in sys.argv[1:]
