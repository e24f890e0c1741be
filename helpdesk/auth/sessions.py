"""Server-side sign-in sessions: one row of ``user_sessions`` per session, shared by every worker.

The Flask cookie carries only a random key (Flask-Login's ``_user_id``, through
``login_manager.id_attribute``); the table holds its SHA-256. Each request runs one indexed query
(``token_hash``) that returns the session and its user; ``last_seen_at`` is written at most once
a minute. "Ghi nhớ trên máy này" adds a second random key in its own cookie, also stored hashed,
replaced every time it is used to open a new browser session. Ending a session (sign-out, the
sessions page, an admin, a password reset, a deactivation, a 2FA reset) sets ``ended_at``: a
copy of either cookie is worthless from then on.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..timeutil import now_local
from .models import User, UserSession

REMEMBER_COOKIE = "helpdesk_remember"
TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)  # ended sessions stay listed this long, then are deleted

END_REASONS = {
    "logout": "Đăng xuất",
    "user": "Kết thúc từ trang Phiên đăng nhập",
    "others": "Kết thúc cùng các phiên khác",
    "admin": "Quản trị viên kết thúc",
    "password": "Đặt lại mật khẩu",
    "deactivated": "Tài khoản bị vô hiệu hóa",
    "idle": "Không hoạt động quá lâu",
    "expired": "Hết thời hạn",
    "two_factor": "Thay đổi xác thực hai bước",
}


def new_key() -> str:
    return secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    max_age: timedelta
    remember: timedelta

    @classmethod
    def from_config(cls) -> Lifetimes:
        cfg = current_app.config
        return cls(
            idle=timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            max_age=timedelta(hours=cfg["SESSION_MAX_HOURS"]),
            remember=timedelta(days=cfg["SESSION_REMEMBER_DAYS"]),
        )


def expiry_reason(row: UserSession, now: datetime, life: Lifetimes) -> str | None:
    """Why the session has run out ("idle", "expired"), or None while it is valid.

    A remembered session lasts SESSION_REMEMBER_DAYS from sign-in, idle or not (that is what
    the box means); any other ends after SESSION_IDLE_MINUTES without a request or
    SESSION_MAX_HOURS after sign-in, whichever comes first.
    """
    if row.remember:
        return "expired" if now - row.created_at >= life.remember else None
    if now - row.created_at >= life.max_age:
        return "expired"
    if now - row.last_seen_at >= life.idle:
        return "idle"
    return None


def _own_transaction(stmt) -> int:
    """Run one write in its own short transaction, committed at once, apart from the request's
    session (which may never commit, on a GET). Returns the number of rows it changed."""
    with db.engine.begin() as conn:
        return conn.execute(stmt).rowcount


def _client() -> tuple[str, str | None]:
    address = (request.remote_addr or "")[:45] or None
    return (request.user_agent.string or "")[:255], address


def start_session(user: User, remember: bool) -> str | None:
    """Open a session for a user whose sign-in just succeeded (the view commits).

    Sets ``user.session_key`` for Flask-Login and returns the remember-me key, if asked for.
    """
    now = now_local()
    key = new_key()
    remember_key = new_key() if remember else None
    agent, address = _client()
    row = UserSession(
        user_id=user.id,
        token_hash=digest(key),
        remember_hash=digest(remember_key) if remember_key else None,
        remember=bool(remember),
        created_at=now,
        last_seen_at=now,
        user_agent=agent,
        address=address,
    )
    db.session.add(row)
    db.session.flush()
    _purge(user.id, now)
    user.session_key = key
    g.user_session = row
    return remember_key


def _purge(user_id: int, now: datetime) -> None:
    """Delete this user's sessions that ended, or ran out, more than KEEP_ENDED ago."""
    life = Lifetimes.from_config()
    cutoff = now - KEEP_ENDED
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id,
            (UserSession.ended_at < cutoff)
            | (UserSession.last_seen_at < cutoff - max(life.remember, life.max_age)),
        )
    )


def _lookup(column, key: object):
    if not isinstance(key, str) or not (20 <= len(key) <= 128):
        return None
    return db.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(column == digest(key))
    ).first()


def _usable(row: UserSession, user: User, now: datetime) -> bool:
    if row.ended_at is not None or not user.active:
        return False
    reason = expiry_reason(row, now, Lifetimes.from_config())
    if reason:
        _own_transaction(
            update(UserSession)
            .where(UserSession.id == row.id, UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return False
    return True


def load_user(key: object) -> User | None:
    """Flask-Login's user loader: the user of a live session, in one query."""
    found = _lookup(UserSession.token_hash, key)
    if found is None:
        return None
    row, user = found
    now = now_local()
    if not _usable(row, user, now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        _own_transaction(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        )
        set_committed_value(row, "last_seen_at", now)
    user.session_key = key
    g.user_session = row
    return user


UNKNOWN = "unknown"


def restore_remembered(remember_key: object) -> tuple[User, str, int] | str | None:
    """Reopen a remembered session from its remember-me key, replacing both of its keys.

    Returns (user, new remember key, seconds the cookie has left); None when the key's session
    has ended or run out (the cookie should go); UNKNOWN when no session has this key, which is
    also what a request sees when another request of the same browser (tabs reopened together)
    replaced the key a moment before: that request's answer carries the new cookie, and this
    one must not delete it.
    """
    found = _lookup(UserSession.remember_hash, remember_key)
    if found is None:
        return UNKNOWN
    row, user = found
    now = now_local()
    if not row.remember or not _usable(row, user, now):
        return None
    key, new_remember = new_key(), new_key()
    changed = _own_transaction(
        update(UserSession)
        .where(
            UserSession.id == row.id,
            UserSession.remember_hash == digest(remember_key),
            UserSession.ended_at.is_(None),
        )
        .values(token_hash=digest(key), remember_hash=digest(new_remember), last_seen_at=now)
    )
    if changed != 1:
        return UNKNOWN  # replaced by a concurrent request
    for name, value in (
        ("token_hash", digest(key)),
        ("remember_hash", digest(new_remember)),
        ("last_seen_at", now),
    ):
        set_committed_value(row, name, value)
    user.session_key = key
    g.user_session = row
    left = row.created_at + Lifetimes.from_config().remember - now
    return user, new_remember, max(int(left.total_seconds()), 1)


def remember_cookie(key: str | None, max_age: int = 0) -> None:
    """Set (a key) or delete (None) the remember-me cookie on this request's response."""
    g.remember_cookie = (key, max_age)


def remember_cookie_max_age() -> int:
    return int(Lifetimes.from_config().remember.total_seconds())


def current_session() -> UserSession | None:
    return g.get("user_session")


def end_session(row: UserSession, reason: str) -> None:
    """End one session (the caller commits)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == row.id, UserSession.ended_at.is_(None))
        .values(ended_at=now_local(), end_reason=reason)
    )


def end_user_sessions(user_id: int, reason: str, keep: int | None = None) -> int:
    """End every open session of a user but ``keep`` (the caller commits); return how many."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    result = db.session.execute(
        stmt.values(ended_at=now_local(), end_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def open_sessions(user_id: int) -> list[UserSession]:
    """The user's sessions that still open pages, most recently used first."""
    now = now_local()
    life = Lifetimes.from_config()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [row for row in rows if expiry_reason(row, now, life) is None]


def ended_sessions(user_id: int, limit: int = 10) -> list[UserSession]:
    """The user's latest ended sessions (for spotting a sign-in that was not theirs)."""
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_not(None))
            .order_by(UserSession.ended_at.desc(), UserSession.id.desc())
            .limit(limit)
        )
    )


def count_open(user_ids: list[int]) -> dict[int, int]:
    """Open (not ended) sessions per user, for the users list; expiry is not checked."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(UserSession.user_id, func.count())
        .where(UserSession.user_id.in_(user_ids), UserSession.ended_at.is_(None))
        .group_by(UserSession.user_id)
    )
    return dict(rows.all())


_BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Cốc Cốc", re.compile(r"coc_coc_browser/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
)


def describe_agent(agent: str | None) -> str:
    """A short label for a User-Agent header: "Chrome 120 trên Windows"."""
    agent = agent or ""
    browser = next(
        (f"{name} {m.group(1)}" for name, rx in _BROWSERS if (m := rx.search(agent))), None
    )
    system = next((name for name, rx in _SYSTEMS if rx.search(agent)), None)
    if browser and system:
        return f"{browser} trên {system}"
    if browser or system:
        return browser or system
    return "Trình duyệt không rõ" if not agent else agent[:60]
