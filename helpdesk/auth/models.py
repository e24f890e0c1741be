"""Users and roles."""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now_local

ROLES = ("operator", "supervisor", "admin")
ROLE_LABELS = {"operator": "Điều hành viên", "supervisor": "Giám sát", "admin": "Quản trị"}
# A role may do everything the roles before it may.
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}

_hasher = PasswordHasher()


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Changing the token signs the user out of every session (password reset, deactivation).
    session_token: Mapped[str] = mapped_column(String(64), default=_new_token)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_local)

    # Flask-Login: the session stores the token, not the id, so a reset ends every session.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        """True if the user's role is one of ``roles`` or ranks above the lowest of them."""
        if not roles:
            return True
        lowest = min(ROLE_RANK[r] for r in roles)
        return ROLE_RANK.get(self.role, -1) >= lowest

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)
        self.session_token = _new_token()

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def dummy_verify(password: str) -> None:
    """Spend the same time as a real check, so unknown usernames are not revealed by timing."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


_DUMMY_HASH = _hasher.hash("not-a-password")
