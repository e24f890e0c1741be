from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..access import role_required
from ..audit import BATCH_HEAD, AuditLog, action_label, entity_label, record, record_edit
from ..auth import twofactor
from ..auth.models import User
from ..auth.services import (
    UserError,
    change_role,
    create_user,
    end_sessions_by_admin,
    reset_password,
    set_active,
    set_contact,
)
from ..auth.sessions import current_session, describe_agent, open_sessions
from ..extensions import db
from ..formsutil import ActionForm
from ..reports.models import ORGANISATION_KEYS, OrgSetting
from ..textutil import nfc
from ..tickets.models import Category
from ..tickets.visibility import unit_ids_of
from ..timeutil import today_local
from ..transaction import rollback_request
from ..units.models import Unit
from . import bp
from .forms import (
    CategoryForm,
    OrganisationForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
)


def _get_user(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.route("/nguoi-dung", methods=["GET", "POST"])
@role_required("admin")
def users():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.username.data,
                form.role.data,
                form.full_name.data,
                form.password.data,
                actor_id=current_user.id,
            )
        except UserError as exc:
            rollback_request()
            getattr(form, exc.field or "username").errors.append(str(exc))
        else:
            flash(f"Đã tạo người dùng {user.username}.", "success")
            return redirect(url_for("admin.users"))
    people = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    return render_template("admin/users.html", form=form, users=people, action=ActionForm())


@bp.route("/nguoi-dung/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def user_edit(user_id: int):
    user = _get_user(user_id)
    form = _user_form(user)
    reset = PasswordResetForm(prefix="reset")
    if form.validate_on_submit():
        user.full_name = nfc(form.full_name.data)
        try:
            if user.id == current_user.id and form.role.data != "admin":
                raise UserError("Không thể tự bỏ quyền quản trị của chính mình.", "role")
            change_role(user, form.role.data, current_user.id)
            set_contact(user, form.email.data or None, form.units.data or [], current_user.id)
        except UserError as exc:
            rollback_request()
            getattr(form, exc.field or "role").errors.append(str(exc))
        else:
            flash("Đã lưu.", "success")
            return redirect(url_for("admin.users"))
    return _user_page(user, form, reset)


def _user_form(user: User) -> UserEditForm:
    """The edit form with the units a unit-staff user may be bound to: those that exist today,
    and those the user is bound to already."""
    bound = unit_ids_of(user)
    form = UserEditForm(obj=user, data={"units": bound})
    today = today_local()
    rows = db.session.scalars(
        select(Unit)
        .where(or_(Unit.id.in_(bound), Unit.valid_to.is_(None), Unit.valid_to >= today))
        .order_by(Unit.level, Unit.name)
    ).all()
    form.units.choices = [(u.id, u.display) for u in rows]
    return form


def _user_page(user: User, form: UserEditForm, reset: PasswordResetForm):
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        reset=reset,
        action=ActionForm(),
        sessions=open_sessions(user.id),
        describe=describe_agent,
        two_factor_required=twofactor.required_for(user),
    )


@bp.route("/nguoi-dung/<int:user_id>/mat-khau", methods=["POST"])
@role_required("admin")
def user_reset(user_id: int):
    user = _get_user(user_id)
    reset = PasswordResetForm(prefix="reset")
    if reset.validate_on_submit():
        try:
            reset_password(user, reset.password.data, current_user.id)
        except UserError as exc:
            rollback_request()
            reset.password.errors.append(str(exc))
        else:
            flash(f"Đã đặt lại mật khẩu cho {user.username}; mọi phiên cũ đã kết thúc.", "success")
            return redirect(url_for("admin.users"))
    return _user_page(user, _user_form(user), reset), 400


@bp.route("/nguoi-dung/<int:user_id>/trang-thai", methods=["POST"])
@role_required("admin")
def user_toggle(user_id: int):
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash("Không thể tự vô hiệu hóa tài khoản của mình.", "error")
        return redirect(url_for("admin.users"))
    set_active(user, not user.active, current_user.id)
    flash(f"Đã {'kích hoạt' if user.active else 'vô hiệu hóa'} {user.username}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/nguoi-dung/<int:user_id>/ket-thuc-phien", methods=["POST"])
@role_required("admin")
def user_end_sessions(user_id: int):
    """End every session of a user (an admin's own: every one but this)."""
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    current = current_session()
    ended = end_sessions_by_admin(user, current_user, keep=current.id if current else None)
    flash(f"Đã kết thúc {ended} phiên đăng nhập của {user.username}.", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/nguoi-dung/<int:user_id>/xac-thuc-hai-buoc", methods=["POST"])
@role_required("admin")
def user_reset_2fa(user_id: int):
    """Remove a user's second factor (a lost phone): every session of theirs ends, and they
    enrol again (admins at their next sign-in)."""
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        message = "Không thể tự đặt lại xác thực hai bước của mình: nhờ một quản trị viên khác."
        flash(message, "error")
    elif not user.totp_secret:
        flash(f"{user.username} chưa bật xác thực hai bước.", "info")
    else:
        twofactor.turn_off(user, current_user)
        message = f"Đã đặt lại xác thực hai bước của {user.username}; mọi phiên đã kết thúc."
        flash(message, "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/nhom-yeu-cau", methods=["GET"])
@role_required("admin")
def categories():
    rows = db.session.scalars(
        select(Category).order_by(Category.audience.desc(), Category.position)
    ).all()
    return render_template("admin/categories.html", categories=rows)


@bp.route("/nhom-yeu-cau/moi", methods=["GET", "POST"])
@bp.route("/nhom-yeu-cau/<int:category_id>", methods=["GET", "POST"])
@role_required("admin")
def category_edit(category_id: int | None = None):
    category = db.session.get(Category, category_id) if category_id else None
    if category_id and category is None:
        abort(404)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        clash = db.session.scalar(select(Category).where(Category.code == form.code.data))
        if clash is not None and clash is not category:
            form.code.errors.append(f"Mã {form.code.data} đã có.")
        else:
            before = _category_values(category) if category else {}
            if category is None:
                category = Category()
                db.session.add(category)
            for name in CATEGORY_FIELDS:
                value = getattr(form, name).data
                setattr(category, name, nfc(value) if isinstance(value, str) else value)
            db.session.flush()
            record_edit(
                "category",
                category.code,
                f"Nhóm yêu cầu {category.code}",
                before,
                _category_values(category),
                current_user.id,
            )
            flash("Đã lưu nhóm yêu cầu.", "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_edit.html", form=form, category=category)


CATEGORY_FIELDS = (
    "code",
    "audience",
    "label",
    "report_phrase",
    "due_days",
    "response_minutes",
    "position",
    "active",
)


def _category_values(category: Category) -> dict:
    return {k: getattr(category, k) for k in CATEGORY_FIELDS}


@bp.route("/to-chuc", methods=["GET", "POST"])
@role_required("admin")
def organisation():
    settings = {s.key: s for s in db.session.scalars(select(OrgSetting))}
    data = {k: (settings[k].value if k in settings else "") for k in ORGANISATION_KEYS}
    data["distribution"] = data["distribution"].replace("|", "\n")
    form = OrganisationForm(data=data)
    if form.validate_on_submit():
        changed = {}
        for key in ORGANISATION_KEYS:
            value = nfc(getattr(form, key).data) or ""
            if key == "distribution":
                value = "|".join(line.strip() for line in value.splitlines() if line.strip())
            setting = settings.get(key)
            if setting is None:
                setting = OrgSetting(key=key, value="")
                db.session.add(setting)
            if setting.value != value:
                changed[key] = [setting.value, value]
                setting.value = value
        if changed:
            record(
                "update",
                "organisation",
                None,
                "Cập nhật thông tin cơ quan",
                detail=changed,
                user_id=current_user.id,
            )
        flash("Đã lưu thông tin cơ quan.", "success")
        return redirect(url_for("admin.organisation"))
    return render_template("admin/organisation.html", form=form)


@bp.route("/nhat-ky")
@role_required("admin")
def audit():
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    args = request.args
    batch = args.get("batch", "")[:40]
    if batch:  # one import's entries
        stmt = stmt.where(AuditLog.batch == batch)
    elif not (args.get("action") or args.get("entity")):
        # An import's row entries are counted under the import's own entry, not listed.
        stmt = stmt.where(or_(AuditLog.batch.is_(None), AuditLog.action == BATCH_HEAD))
    if args.get("action"):
        stmt = stmt.where(AuditLog.action == args["action"])
    if args.get("entity"):
        stmt = stmt.where(AuditLog.entity == args["entity"])
    user_id = args.get("user", "")
    if user_id.isascii() and user_id.isdigit() and len(user_id) < 10:  # "²" and 10**40 are not ids
        stmt = stmt.where(AuditLog.user_id == int(user_id))
    for name, op in (("from", "ge"), ("to", "lt")):
        try:
            day = datetime.strptime(args.get(name, ""), "%Y-%m-%d")
            next_day = day + timedelta(1)
        except (ValueError, OverflowError):  # not a date, or 9999-12-31
            continue
        stmt = stmt.where(AuditLog.at >= day if op == "ge" else AuditLog.at < next_day)
    # Clamp the page number: one too big for the database's OFFSET would be an error.
    number = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    page = db.paginate(stmt, page=number, per_page=100, error_out=False)
    users = {u.id: u for u in db.session.scalars(select(User))}
    actions = db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action))
    entities = db.session.scalars(select(AuditLog.entity).distinct().order_by(AuditLog.entity))
    total = db.session.scalar(select(func.count(AuditLog.id)))
    heads = [e.batch for e in page.items if e.batch and e.action == BATCH_HEAD]
    rows: dict[str, dict[str, int]] = {}
    if heads and not batch:  # the row entries of the imports on this page, by action
        counted = db.session.execute(
            select(AuditLog.batch, AuditLog.action, func.count())
            .where(AuditLog.batch.in_(heads), AuditLog.action != BATCH_HEAD)
            .group_by(AuditLog.batch, AuditLog.action)
        )
        for key, action, n in counted:
            rows.setdefault(key, {})[action] = n
    return render_template(
        "admin/audit.html",
        page=page,
        users=users,
        actions=list(actions),
        entities=list(entities),
        total=total,
        args=args,
        batch=batch,
        rows=rows,
        action_label=action_label,
        entity_label=entity_label,
    )
