"""Access rules as decorators. Every view declares one; a test checks the URL map for it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .timeutil import parse_month


def role_required(*roles: str) -> Callable:
    """Require a signed-in user whose role is one of ``roles`` or ranks above them.

    ``role_required()`` with no role admits any signed-in user.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapped)
        guarded.access_roles = roles or ("unit_staff",)  # any signed-in user
        return guarded

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as open to anonymous users (sign-in page, static files)."""
    view.access_roles = ()
    return view


def month_or_404(month: str) -> str:
    """A ``YYYY-MM`` URL segment, or 404."""
    try:
        parse_month(month)
    except ValueError:
        abort(404)
    return month
