"""Two-factor sign-in: TOTP (RFC 6238, pyotp) and one-time recovery codes.

A secret is drawn when enrolment starts and kept until a code confirms it; the QR code is drawn
here as SVG (segno), so nothing is fetched from elsewhere. A code is accepted for the current
30-second step and one step either side (clocks drift), and never twice: the step of the last
accepted code is stored and a later code must have a later step (one UPDATE, so two requests
racing with the same code cannot both pass). Recovery codes are 16 characters (about 79 bits),
stored as SHA-256, and each is spent by one UPDATE as it is used. Services flush; views commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import pyotp
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from ..audit import record
from ..extensions import db
from ..timeutil import now_local
from .models import RecoveryCode, User
from .sessions import end_user_sessions

RECOVERY_COUNT = 10
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i
RECOVERY_LENGTH = 16
CODE_RE = re.compile(r"^\d{6}$")


def required_for(user: User) -> bool:
    """Admins must use a second factor; supervisors too when REQUIRE_2FA_SUPERVISORS is on."""
    if user.role == "admin":
        return True
    return user.role == "supervisor" and bool(current_app.config.get("REQUIRE_2FA_SUPERVISORS"))


def must_enrol(user: User) -> bool:
    """True for a signed-in user who may do nothing but enrol (no query: the user's row)."""
    return required_for(user) and not user.two_factor_enabled


def start_enrolment(user: User) -> str:
    """The secret to enrol with: drawn once, kept until enrolment is confirmed or reset."""
    if user.two_factor_enabled:
        raise ValueError("already enrolled")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()  # 32 characters: 160 bits
        user.totp_last_counter = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    issuer = current_app.config.get("TWO_FACTOR_ISSUER") or "helpdesk"
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as an inline <svg> element (no script, no style attribute)."""
    import segno  # drawn on the set-up page only

    svg = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title="Mã QR để thêm tài khoản vào ứng dụng xác thực"
    )
    return Markup(svg)  # noqa: S704 - segno's own output: the URI is encoded as modules


def grouped(secret: str) -> str:
    """A secret in groups of four characters, as people copy it."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalize(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (previous, current or next) whose code ``code`` is, or None."""
    if not CODE_RE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now if now is not None else time.time()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def accept_totp(user: User, code: str) -> bool:
    """Accept a TOTP code of the user's secret once: a code already used is refused."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, _normalize(code))
    if step is None:
        return False
    result = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_counter.is_(None), User.totp_last_counter < step),
        )
        .values(totp_last_counter=step),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        return False
    user.totp_last_counter = step
    return True


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_COUNT new ones, returned in clear once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_COUNT)]
    now = now_local()
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c), created_at=now) for c in codes
    )
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code; False if it is not one of the user's unused codes."""
    normalized = _normalize(code)
    if len(normalized) != RECOVERY_LENGTH or set(normalized) - set(RECOVERY_ALPHABET):
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now_local()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        return False
    left = recovery_codes_left(user.id)
    record(
        "use_recovery_code",
        "user",
        user.id,
        f"{user.username} đăng nhập bằng mã khôi phục (còn {left} mã)",
        user_id=user.id,
    )
    return True


def recovery_codes_left(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def check_second_factor(user: User, code: str) -> str | None:
    """Check a sign-in's second factor: "totp", "recovery" (a code was spent), or None."""
    normalized = _normalize(code)
    if CODE_RE.match(normalized):
        return "totp" if accept_totp(user, normalized) else None
    return "recovery" if use_recovery_code(user, normalized) else None


def confirm_enrolment(user: User, code: str, keep_session: int | None) -> list[str] | None:
    """Finish enrolment with a code of the new secret: 2FA is on, the user's other sessions end,
    and the recovery codes are returned (to be shown once). None if the code is wrong."""
    if user.two_factor_enabled or not user.totp_secret or not accept_totp(user, code):
        return None
    user.totp_enabled_at = now_local()
    codes = new_recovery_codes(user)
    ended = end_user_sessions(user.id, "two_factor", keep=keep_session)
    record(
        "enable_2fa",
        "user",
        user.id,
        f"{user.username} bật xác thực hai bước",
        detail={"other_sessions_ended": ended},
        user_id=user.id,
    )
    return codes


def turn_off(user: User, actor: User | None, keep_session: int | None = None) -> int:
    """Remove the user's second factor (secret and recovery codes); return sessions ended.

    By the user themselves (``actor`` is the user): their other sessions end. By an admin (a
    reset, for a lost phone): every session ends, and an admin's next sign-in goes to enrolment.
    """
    was_on = user.two_factor_enabled
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_counter = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    by_self = actor is not None and actor.id == user.id
    ended = end_user_sessions(user.id, "two_factor", keep=keep_session if by_self else None)
    if by_self:
        summary = f"{user.username} tắt xác thực hai bước"
        action = "disable_2fa"
    else:
        summary = f"Đặt lại xác thực hai bước của {user.username}"
        action = "reset_2fa"
    record(
        action,
        "user",
        user.id,
        summary,
        detail={"was_enrolled": was_on, "sessions_ended": ended},
        user_id=actor.id if actor is not None else None,
    )
    return ended


def regenerate_recovery_codes(user: User) -> list[str]:
    """New recovery codes for an enrolled user (the old ones stop working)."""
    codes = new_recovery_codes(user)
    record(
        "new_recovery_codes",
        "user",
        user.id,
        f"{user.username} tạo {len(codes)} mã khôi phục mới",
        user_id=user.id,
    )
    return codes
