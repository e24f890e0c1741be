"""Sign-in checks and user management. Services flush; the view commits."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from ..audit import record
from ..extensions import db
from ..textutil import nfc
from ..timeutil import now_local
from .models import ROLES, User, _new_token, dummy_verify

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class UserError(ValueError):
    """A user could not be created or changed; the message is for the person."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự."
    if len(password) > 256:
        return "Mật khẩu quá dài (tối đa 256 ký tự)."
    if username and username.lower() in password.lower():
        return "Mật khẩu không được chứa tên đăng nhập."
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )
    if classes < 3:
        return "Mật khẩu cần ít nhất 3 trong 4 loại: chữ thường, chữ hoa, chữ số, ký hiệu."
    return None


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def authenticate(username: str, password: str, lockout_failures: int, lockout_minutes: int):
    """Check a sign-in. Return (user, None) or (None, message)."""
    generic = "Tên đăng nhập hoặc mật khẩu không đúng."
    user = find_user(username.strip())
    if user is None:
        dummy_verify(password)
        return None, generic
    now = now_local()
    if user.locked_until and user.locked_until > now:
        dummy_verify(password)
        return None, "Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau."
    if not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= lockout_failures:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
            record("lockout", "user", user.id, f"Khóa tạm {user.username}", user_id=None)
        return None, generic
    if not user.active:
        return None, "Tài khoản đã bị vô hiệu hóa."
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user, None


def create_user(
    username: str,
    role: str,
    full_name: str | None = None,
    password: str | None = None,
    actor_id: int | None = None,
) -> User:
    """Create a user; raise UserError for a taken name, bad role or weak password."""
    username = (nfc(username) or "").lower()
    if not USERNAME_RE.match(username):
        raise UserError(
            "Tên đăng nhập gồm 2-64 ký tự: chữ thường không dấu, số, dấu chấm, gạch.", "username"
        )
    if role not in ROLES:
        raise UserError(f"Vai trò không hợp lệ: {role}.", "role")
    if find_user(username) is not None:
        raise UserError(f"Tên đăng nhập {username} đã có.", "username")
    user = User(username=username, full_name=nfc(full_name) or username, role=role)
    if password is not None:
        problem = password_problem(password, username)
        if problem:
            raise UserError(problem, "password")
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("create", "user", user.id, f"Tạo người dùng {username} ({role})", user_id=actor_id)
    return user


def reset_password(user: User, password: str, actor_id: int | None) -> None:
    """Set a new password; every session of the user ends."""
    problem = password_problem(password, user.username)
    if problem:
        raise UserError(problem, "password")
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    record("reset_password", "user", user.id, f"Đặt lại mật khẩu {user.username}", user_id=actor_id)


def set_active(user: User, active: bool, actor_id: int | None) -> None:
    """Activate or deactivate a user; deactivation ends their sessions at once."""
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_token = _new_token()
    action = "activate" if active else "deactivate"
    record(action, "user", user.id, f"{action} {user.username}", user_id=actor_id)


def change_role(user: User, role: str, actor_id: int | None) -> None:
    if role not in ROLES:
        raise UserError(f"Vai trò không hợp lệ: {role}.", "role")
    if user.role != role:
        record(
            "change_role",
            "user",
            user.id,
            f"{user.username}: {user.role} -> {role}",
            user_id=actor_id,
        )
        user.role = role
