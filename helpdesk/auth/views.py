from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..access import public, role_required
from ..extensions import db, limiter
from . import bp
from .forms import LoginForm
from .services import authenticate


def _login_username_key() -> str:
    return "user:" + (request.form.get("username") or "").strip().lower()[:64]


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("main.home")


@bp.route("/dang-nhap", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: request.remote_addr or "?")
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_username_key)
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        cfg = current_app.config
        user, error = authenticate(
            form.username.data,
            form.password.data,
            cfg["LOGIN_LOCKOUT_FAILURES"],
            cfg["LOGIN_LOCKOUT_MINUTES"],
        )
        db.session.commit()
        if user is None:
            form.password.errors.append(error)
        else:
            session.clear()  # a fresh session at sign-in (no fixation)
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/dang-xuat", methods=["POST"])
@role_required()
def logout():
    logout_user()
    session.clear()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
