"""Users and roles, their sign-in sessions and their second factor."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now_local

ROLES = ("unit_staff", "operator", "supervisor", "admin")
ROLE_LABELS = {
    "unit_staff": "Cán bộ đơn vị",
    "operator": "Điều hành viên",
    "supervisor": "Giám sát",
    "admin": "Quản trị",
}
# A desk role may do everything the desk roles before it may. Unit staff stand apart: bound to
# their units, they see only what was forwarded there (tickets.visibility), on their own pages.
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
DESK_ROLES = ("operator", "supervisor", "admin")
# E-mails a user may turn off (Hồ sơ > Thông báo); citizens are never e-mailed.
MAIL_KINDS = ("forwarded", "assigned", "due_soon", "late", "digest")
MAIL_KIND_LABELS = {
    "forwarded": "Yêu cầu chuyển tới đơn vị của tôi",
    "assigned": "Yêu cầu được giao cho tôi",
    "due_soon": "Yêu cầu sắp đến hạn",
    "late": "Yêu cầu quá hạn",
    "digest": "Bản tin sáng: yêu cầu quá hạn theo đơn vị",
}

_hasher = PasswordHasher()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Counted with one UPDATE ... RETURNING before a password or code is checked (services).
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_local)
    # TOTP (RFC 6238): the base32 secret, set when enrolment starts; enrolled once confirmed
    # with a code. The last accepted time step refuses a code used a second time.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_counter: Mapped[int | None]
    # Where notifications go (none: no mail), and the kinds the user turned off ("late|digest").
    email: Mapped[str | None] = mapped_column(String(254))
    mail_off: Mapped[str] = mapped_column(String(200), default="", server_default="")

    # The key of the sign-in session this object was loaded for (not a column): Flask-Login
    # stores it in the cookie (login_manager.id_attribute), never the user's id.
    session_key = None  # str | None; a plain attribute, not mapped

    def get_session_key(self) -> str:
        if not self.session_key:
            raise RuntimeError("sign the user in through helpdesk.auth.sessions.start_session")
        return self.session_key

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    @property
    def is_unit_staff(self) -> bool:
        return self.role == "unit_staff"

    def wants_mail(self, kind: str) -> bool:
        return bool(self.email) and self.active and kind not in (self.mail_off or "").split("|")

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        """True if the user's role is one of ``roles`` or ranks above the lowest of them.

        No role: any signed-in user. Unit staff rank below the desk: ``has_role("operator")``
        is False for them.
        """
        if not roles:
            return True
        lowest = min(ROLE_RANK[r] for r in roles)
        return ROLE_RANK.get(self.role, -1) >= lowest

    def set_password(self, password: str) -> None:
        """Set a new password; every open session of the user ends (in this transaction)."""
        self.password_hash = _hasher.hash(password)
        if self.id is not None:
            from ..api.tokens import revoke_user_tokens
            from .sessions import end_user_sessions

            end_user_sessions(self.id, "password")
            revoke_user_tokens(self.id, "password")

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class UserUnit(db.Model):
    """A unit a unit-staff user answers for (one user, one or more units)."""

    __tablename__ = "user_units"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class UserSession(db.Model):
    """A sign-in session, shared by every worker. The cookie carries a random key whose SHA-256
    is ``token_hash``; a remember-me cookie carries another whose hash is ``remember_hash``."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_local)
    last_seen_at: Mapped[datetime] = mapped_column(default=now_local)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str | None] = mapped_column(String(45))
    ended_at: Mapped[datetime | None]
    # logout, user, others, admin, password, deactivated, idle, expired, two_factor
    end_reason: Mapped[str | None] = mapped_column(String(20))


class RecoveryCode(db.Model):
    """A one-time code that stands in for a TOTP code (lost phone); stored as its SHA-256."""

    __tablename__ = "recovery_codes"
    # Also the index of a user's codes (user_id leads).
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_local)
    used_at: Mapped[datetime | None]


def dummy_verify(password: str) -> None:
    """Spend the same time as a real check, so unknown usernames are not revealed by timing."""
    try:
        _hasher.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        pass


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Made at the first sign-in attempt, not at import: a hash costs what a sign-in costs
    # (about 0,2 s), which every command and worker start would otherwise pay.
    return _hasher.hash("not-a-password")
