"""Sign-in checks and user management. Services flush; the view commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from ..audit import record
from ..extensions import db
from ..textutil import nfc
from ..timeutil import now_local
from .models import ROLES, User, dummy_verify
from .sessions import end_user_sessions

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


GENERIC_ERROR = "Tên đăng nhập hoặc mật khẩu không đúng."


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password check. ``reason`` is for tests and logs, never for the page:
    a wrong password, an unknown user, a deactivated or a locked account read the same."""

    user: User | None
    reason: str  # ok, unknown, locked, wrong_password, inactive

    @property
    def message(self) -> str | None:
        return None if self.user is not None else GENERIC_ERROR


def reserve_attempt(user_id: int, lockout_failures: int) -> int | None:
    """Count one attempt on the account before it is checked; return its number, or None if
    the account is locked.

    One UPDATE ... RETURNING, committed at once (with nothing else: call it before any other
    change of the request), before the slow check: of any number of attempts sent at once,
    exactly ``lockout_failures`` get a number up to the threshold and are checked; the others
    are refused unchecked. A success resets the count (clear_failures).
    """
    now = now_local()
    stmt = (
        update(User)
        .where(User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    )
    number = db.session.execute(stmt, execution_options={"synchronize_session": False}).scalar()
    db.session.commit()
    return number


def attempt_allowed(number: int | None, lockout_failures: int) -> bool:
    return number is not None and number <= lockout_failures


def register_failure(user: User, number: int, lockout_failures: int, lockout_minutes: int):
    """A checked attempt failed: the attempt that reaches the threshold locks the account."""
    if number < lockout_failures:
        return  # the reserved count stands as the failure
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(locked_until=now_local() + timedelta(minutes=lockout_minutes), failed_logins=0),
        execution_options={"synchronize_session": False},
    )
    record("lockout", "user", user.id, f"Khóa tạm {user.username}", user_id=None)


def clear_failures(user: User, signed_in: bool = False) -> None:
    """A password (and second factor) passed: the failure count starts again."""
    values = {"failed_logins": 0, "locked_until": None}
    if signed_in:
        values["last_login_at"] = now_local()
    db.session.execute(
        update(User).where(User.id == user.id).values(**values),
        execution_options={"synchronize_session": False},
    )


def authenticate(username: str, password: str, lockout_failures: int, lockout_minutes: int):
    """Check a username and password; return a SignIn. Failures are counted, never reset here:
    the caller calls clear_failures once the sign-in is complete (after a second factor)."""
    user = find_user(username.strip())
    if user is None:
        dummy_verify(password)
        return SignIn(None, "unknown")
    number = reserve_attempt(user.id, lockout_failures)
    if not attempt_allowed(number, lockout_failures):
        dummy_verify(password)  # the same time as a real check
        return SignIn(None, "locked")
    if not user.check_password(password):
        register_failure(user, number, lockout_failures, lockout_minutes)
        return SignIn(None, "wrong_password")
    if not user.active:
        register_failure(user, number, lockout_failures, lockout_minutes)
        return SignIn(None, "inactive")
    return SignIn(user, "ok")


def check_code(user: User, code: str, lockout_failures: int, lockout_minutes: int) -> str:
    """Check a second-factor code, counted with the password attempts of the same account:
    "totp" or "recovery" when it passed, "wrong", or "locked" (too many failures)."""
    from .twofactor import check_second_factor

    number = reserve_attempt(user.id, lockout_failures)
    if not attempt_allowed(number, lockout_failures):
        return "locked"
    kind = check_second_factor(user, code)
    if kind is None:
        register_failure(user, number, lockout_failures, lockout_minutes)
        return "wrong"
    clear_failures(user)
    return kind


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
    """Set a new password; every session of the user ends (User.set_password)."""
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
        from ..api.tokens import revoke_user_tokens

        end_user_sessions(user.id, "deactivated")
        revoke_user_tokens(user.id, "deactivated")
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


def set_contact(user: User, email: str | None, unit_ids: list[int], actor_id: int | None) -> None:
    """Set where the user's notifications go and, for unit staff, the units they answer for
    (other roles keep none). Audited when it changes."""
    from .models import UserUnit

    if email is not None and "@" not in email:
        raise UserError("Địa chỉ email không đúng dạng.", "email")
    wanted = sorted(set(unit_ids)) if user.role == "unit_staff" else []
    if user.role == "unit_staff" and not wanted:
        raise UserError("Chọn ít nhất một đơn vị cho cán bộ đơn vị.", "units")
    bound = sorted(db.session.scalars(select(UserUnit.unit_id).where(UserUnit.user_id == user.id)))
    changes = {}
    if (user.email or None) != (email or None):
        changes["email"] = [user.email, email]
        user.email = email
    if bound != wanted:
        changes["units"] = [bound, wanted]
        db.session.execute(delete(UserUnit).where(UserUnit.user_id == user.id))
        db.session.add_all(UserUnit(user_id=user.id, unit_id=u) for u in wanted)
    if changes:
        record(
            "update", "user", user.id, f"{user.username}: email, đơn vị", detail=changes,
            user_id=actor_id,
        )  # fmt: skip


def end_sessions_by_admin(user: User, actor: User, keep: int | None = None) -> int:
    """An admin ends every session of a user (their own but the current one); audited."""
    ended = end_user_sessions(user.id, "admin", keep=keep if actor.id == user.id else None)
    record(
        "end_sessions",
        "user",
        user.id,
        f"Kết thúc {ended} phiên đăng nhập của {user.username}",
        detail={"sessions_ended": ended},
        user_id=actor.id,
    )
    return ended
