"""Creating, checking and ending API tokens. The caller's transaction holds the changes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..audit import record
from ..auth.models import User
from ..extensions import db
from ..timeutil import now_local
from .models import ApiToken

TOKEN_PREFIX = "hd_"  # noqa: S105 - recognisable in logs and secret scanners, not a secret
DEFAULT_DAYS = 90
MAX_DAYS = 366


class TokenError(ValueError):
    """A token could not be made; the message is for the person."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    user: User, name: str = "", days: int = DEFAULT_DAYS, actor_id: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the secret, which is shown once and never stored."""
    if not user.active:
        raise TokenError(f"{user.username} đã bị khóa.")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"Thời hạn từ 1 đến {MAX_DAYS} ngày.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now_local()
    row = ApiToken(
        user_id=user.id,
        name=(name or "").strip()[:80],
        token_hash=digest(secret),
        prefix=secret[:10],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    record(
        "token_create",
        "user",
        user.id,
        f"Tạo khóa API “{row.name}” ({row.prefix}…) cho {user.username}, hạn {days} ngày",
        user_id=actor_id if actor_id is not None else user.id,
    )
    return row, secret


def user_for(secret: str, now: datetime | None = None) -> tuple[ApiToken, User] | None:
    """The usable token and its active user for a bearer secret, or None."""
    if not secret or len(secret) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = now or now_local()
    if row is None or row.state(now) != "active" or not row.user.active:
        return None
    return row, row.user


def touch(row: ApiToken, now: datetime) -> None:
    """Note the token's use, at most once a minute (no write on every request)."""
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        db.session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )


def revoke(row: ApiToken, actor_id: int | None, reason: str = "revoked") -> bool:
    """End one token; False if it had already ended."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now_local()
    row.revoke_reason = reason
    record(
        "token_revoke",
        "user",
        row.user_id,
        f"Thu hồi khóa API “{row.name}” ({row.prefix}…)",
        user_id=actor_id,
    )
    return True


def revoke_user_tokens(user_id: int, reason: str) -> int:
    """End every token of a user (password reset, deactivation); return how many."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now_local(), revoke_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def tokens_of(user_id: int | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(db.session.scalars(stmt))
