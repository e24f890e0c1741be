from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..access import public, role_required
from ..audit import record
from ..extensions import db, limiter
from ..transaction import commit_on_error
from . import bp, twofactor
from .forms import CodeForm, ConfirmForm, LoginForm
from .models import User, UserSession
from .services import (
    attempt_allowed,
    authenticate,
    check_code,
    clear_failures,
    register_failure,
    reserve_attempt,
)
from .sessions import (
    END_REASONS,
    current_session,
    describe_agent,
    end_session,
    end_user_sessions,
    ended_sessions,
    open_sessions,
    remember_cookie,
    remember_cookie_max_age,
    start_session,
)

# Between the password and the code, the Flask session holds who passed the password, when,
# and where to go next; the code must follow within PENDING_SECONDS.
PENDING = "_2fa"
PENDING_SECONDS = 300


def _login_username_key() -> str:
    return "user:" + (request.form.get("username") or "").strip().lower()[:64]


def _pending_key() -> str:
    pending = session.get(PENDING)
    uid = pending.get("uid") if isinstance(pending, dict) else None
    return f"2fa:{uid}"


def _address_key() -> str:
    return request.remote_addr or "?"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("main.home")


def _lockout() -> tuple[int, int]:
    cfg = current_app.config
    return cfg["LOGIN_LOCKOUT_FAILURES"], cfg["LOGIN_LOCKOUT_MINUTES"]


def _finish_sign_in(user: User, remember: bool, next_url: str):
    """Password (and code) passed: a new server-side session, a fresh cookie."""
    clear_failures(user, signed_in=True)
    session.clear()  # a fresh session at sign-in (no fixation)
    remember_key = start_session(user, remember)
    commit_on_error()
    login_user(user)
    if remember_key:
        remember_cookie(remember_key, remember_cookie_max_age())
    if twofactor.must_enrol(user):  # the enrolment page says why
        return redirect(url_for("auth.two_factor_setup"))
    return redirect(next_url)


@bp.route("/dang-nhap", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_key)
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_username_key)
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.username.data, form.password.data, *_lockout())
        commit_on_error()
        if result.user is None:
            current_app.logger.info("sign-in refused (%s)", result.reason)
            form.password.errors.append(result.message)
        elif result.user.two_factor_enabled:
            session.clear()
            session[PENDING] = {
                "uid": result.user.id,
                "at": int(time.time()),
                "remember": bool(form.remember.data),
                "next": _safe_next(request.args.get("next")),
            }
            return redirect(url_for("auth.two_factor"))
        else:
            next_url = _safe_next(request.args.get("next"))
            return _finish_sign_in(result.user, bool(form.remember.data), next_url)
    return render_template("auth/login.html", form=form)


def _pending_user() -> tuple[User, dict] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    uid, at = pending.get("uid"), pending.get("at")
    if not isinstance(uid, int) or not isinstance(at, int):
        return None
    if not 0 <= time.time() - at <= PENDING_SECONDS:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or not user.two_factor_enabled:
        return None
    return user, pending


@bp.route("/dang-nhap/ma-xac-thuc", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_key)
@limiter.limit(_login_limit, methods=["POST"], key_func=_pending_key)
@public
def two_factor():
    """The second step of a sign-in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    found = _pending_user()
    if found is None:
        if PENDING in session:
            session.pop(PENDING)
            flash("Đã quá thời gian nhập mã. Vui lòng đăng nhập lại.", "warning")
        return redirect(url_for("auth.login"))
    user, pending = found
    form = CodeForm()
    if form.validate_on_submit():
        outcome = check_code(user, form.code.data, *_lockout())
        commit_on_error()
        if outcome == "locked":
            session.pop(PENDING, None)
            flash("Nhập sai quá nhiều lần. Vui lòng đợi vài phút rồi đăng nhập lại.", "error")
            return redirect(url_for("auth.login"))
        if outcome == "wrong":
            form.code.errors.append("Mã xác thực không đúng hoặc đã được dùng.")
        else:
            response = _finish_sign_in(user, bool(pending.get("remember")), pending["next"])
            if outcome == "recovery":
                left = twofactor.recovery_codes_left(user.id)
                flash(
                    f"Bạn đã dùng một mã khôi phục; còn {left} mã. "
                    "Nên tạo mã mới ở trang Xác thực hai bước.",
                    "warning",
                )
            return response
    return render_template("auth/two_factor_step.html", form=form, demo_hint=_demo_hint(user))


def _demo_hint(user: User) -> str | None:
    """In the demo (HELPDESK_DEMO), how to get the demo admin's code without a phone."""
    if not current_app.config.get("HELPDESK_DEMO"):
        return None
    from ..cli import DEMO_CODE_COMMAND, DEMO_TOTP_SECRETS

    secret = DEMO_TOTP_SECRETS.get(user.username)
    if secret is None or secret != user.totp_secret:
        return None
    return DEMO_CODE_COMMAND.format(secret=secret)


@bp.route("/dang-xuat", methods=["POST"])
@role_required()
def logout():
    row = current_session()
    if row is not None:
        end_session(row, "logout")
        commit_on_error()
    logout_user()
    session.clear()
    remember_cookie(None)
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))


# -- the user's own sessions -----------------------------------------------------------------


@bp.route("/tai-khoan/phien")
@role_required()
def sessions():
    return render_template(
        "auth/sessions.html",
        sessions=open_sessions(current_user.id),
        ended=ended_sessions(current_user.id),
        current=current_session(),
        describe=describe_agent,
        reasons=END_REASONS,
        action=ConfirmForm(),
    )


@bp.route("/tai-khoan/phien/<int:session_id>/ket-thuc", methods=["POST"])
@role_required()
def end_one_session(session_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    current = current_session()
    if current is not None and row.id == current.id:
        flash("Đây là phiên bạn đang dùng: để kết thúc nó, hãy bấm Đăng xuất.", "info")
    elif row.ended_at is None:
        end_session(row, "user")
        where = f"{describe_agent(row.user_agent)}, {row.address or 'không rõ địa chỉ'}"
        record(
            "end_session",
            "user",
            current_user.id,
            f"{current_user.username} kết thúc một phiên đăng nhập ({where})",
            detail={"session": row.id},
            user_id=current_user.id,
        )
        commit_on_error()
        flash("Đã kết thúc phiên đăng nhập.", "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/tai-khoan/phien/ket-thuc-phien-khac", methods=["POST"])
@role_required()
def end_other_sessions():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    current = current_session()
    ended = end_user_sessions(current_user.id, "others", keep=current.id if current else None)
    if ended:
        record(
            "end_sessions",
            "user",
            current_user.id,
            f"{current_user.username} kết thúc {ended} phiên đăng nhập khác",
            detail={"sessions_ended": ended},
            user_id=current_user.id,
        )
    commit_on_error()
    flash(f"Đã kết thúc {ended} phiên khác.", "success")
    return redirect(url_for("auth.sessions"))


# -- two-factor enrolment and management -------------------------------------------------------


def _code_refused(outcome: str, form: CodeForm) -> None:
    if outcome == "locked":
        form.code.errors.append("Nhập sai quá nhiều lần. Vui lòng đợi vài phút rồi thử lại.")
    else:
        form.code.errors.append("Mã xác thực không đúng hoặc đã được dùng.")


@bp.route("/tai-khoan/xac-thuc-hai-buoc", methods=["GET", "POST"])
@role_required()
def two_factor_setup():
    user = current_user._get_current_object()
    form = CodeForm()
    if user.two_factor_enabled:
        return _two_factor_status(user, form if request.method == "POST" else CodeForm())
    if not user.totp_secret:
        twofactor.start_enrolment(user)
        commit_on_error()
    if form.validate_on_submit():
        failures, minutes = _lockout()
        number = reserve_attempt(user.id, failures)
        if not attempt_allowed(number, failures):
            _code_refused("locked", form)
        else:
            current = current_session()
            codes = twofactor.confirm_enrolment(
                user, form.code.data, keep_session=current.id if current else None
            )
            if codes is None:
                register_failure(user, number, failures, minutes)
                commit_on_error()
                _code_refused("wrong", form)
            else:
                clear_failures(user)
                commit_on_error()
                flash("Đã bật xác thực hai bước.", "success")
                return render_template("auth/recovery_codes.html", codes=codes, enrolled=True)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr=twofactor.qr_svg(twofactor.provisioning_uri(user)),
        secret=twofactor.grouped(user.totp_secret),
        required=twofactor.required_for(user),
    )


def _two_factor_status(user: User, codes_form: CodeForm, off_form: CodeForm | None = None):
    return render_template(
        "auth/two_factor_status.html",
        user=user,
        codes_left=twofactor.recovery_codes_left(user.id),
        codes_form=codes_form,
        off_form=off_form or CodeForm(prefix="off"),
        required=twofactor.required_for(user),
    )


@bp.route("/tai-khoan/xac-thuc-hai-buoc/ma-khoi-phuc", methods=["POST"])
@role_required()
def recovery_codes():
    """New recovery codes, after a current code from the app."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    form = CodeForm()
    if form.validate_on_submit():
        outcome = check_code(user, form.code.data, *_lockout())
        if outcome in ("totp", "recovery"):
            codes = twofactor.regenerate_recovery_codes(user)
            commit_on_error()
            return render_template("auth/recovery_codes.html", codes=codes, enrolled=False)
        commit_on_error()
        _code_refused(outcome, form)
    return _two_factor_status(user, form), 400


@bp.route("/tai-khoan/xac-thuc-hai-buoc/tat", methods=["POST"])
@role_required()
def two_factor_off():
    """Turn two-factor sign-in off, after a current code; not where the role requires it."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    if twofactor.required_for(user):
        flash("Vai trò của bạn bắt buộc dùng xác thực hai bước.", "error")
        return redirect(url_for("auth.two_factor_setup"))
    form = CodeForm(prefix="off")
    if form.validate_on_submit():
        outcome = check_code(user, form.code.data, *_lockout())
        if outcome in ("totp", "recovery"):
            current = current_session()
            twofactor.turn_off(user, user, keep_session=current.id if current else None)
            commit_on_error()
            flash("Đã tắt xác thực hai bước.", "success")
            return redirect(url_for("auth.two_factor_setup"))
        commit_on_error()
        _code_refused(outcome, form)
    return _two_factor_status(user, CodeForm(), off_form=form), 400


@bp.route("/tai-khoan/thong-bao", methods=["GET", "POST"])
@role_required()
def notifications():
    """Which e-mails the user gets (the address is set by an admin)."""
    from .forms import NotificationsForm
    from .models import MAIL_KIND_LABELS, MAIL_KINDS

    off = set((current_user.mail_off or "").split("|")) - {""}
    form = NotificationsForm(data={"kinds": [k for k in MAIL_KINDS if k not in off]})
    form.kinds.choices = list(MAIL_KIND_LABELS.items())
    if form.validate_on_submit():
        wanted = set(form.kinds.data or [])
        new_off = "|".join(k for k in MAIL_KINDS if k not in wanted)
        if new_off != (current_user.mail_off or ""):
            record(
                "update", "user", current_user.id,
                f"{current_user.username}: thông báo tắt {new_off or 'không'}",
                user_id=current_user.id,
            )  # fmt: skip
            current_user.mail_off = new_off
        flash("Đã lưu cách nhận thông báo.", "success")
        return redirect(url_for("auth.notifications"))
    return render_template("auth/notifications.html", form=form)
