"""Views of the stats blueprint: the month page, single-value edits, activities, imports."""

from __future__ import annotations

import io
from datetime import date

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..access import month_or_404, role_required
from ..extensions import db
from ..formatting import number
from ..formsutil import ActionForm
from ..imports import run_import
from ..timeutil import month_of, parse_month, previous_month, today_local
from ..transaction import rollback_request
from ..units.models import Unit
from ..units.periods import CodeIndex, UnitNotFound
from . import bp
from .forms import (
    ActivityForm,
    ConfirmForm,
    DateValueForm,
    UnlockForm,
    UploadForm,
    ValueForm,
    control_totals_form,
)
from .labels import (
    CITY_FIELD_LABELS,
    FIELD_LABELS,
    FIELD_SHORT,
    month_label,
    month_levels,
    vint,
)
from .models import UNIT_STAT_FIELDS, CityStat
from .page import month_page, unit_month_figures
from .queries import control_totals, level_totals, months_with_data
from .services import (
    MonthLocked,
    StaleValue,
    StatsError,
    add_activity,
    delete_activity,
    get_activity,
    get_lock,
    move_activity,
    set_city_value,
    set_control_totals,
    set_unit_value,
    unlock_month,
    update_activity,
)
from .uploads import (
    build_preview,
    confirm_upload,
    digest,
    discard_upload,
    fingerprint,
    months_touched,
    prepare_files,
    save_upload,
    upload_dir,
)

bp.add_app_template_filter(vint, "vint")

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOO_LARGE = (
    "Tệp quá lớn: mỗi lần tải lên tối đa 10 MB. Hãy tách tệp theo tháng hoặc bỏ các cột, "
    "trang tính không cần thiết rồi thử lại. Chưa có gì được ghi."
)


def _labels() -> dict:
    return {
        "fields": UNIT_STAT_FIELDS,
        "field_labels": FIELD_LABELS,
        "field_short": FIELD_SHORT,
        "city_labels": CITY_FIELD_LABELS,
        "month_label": month_label,
    }


# --- the month page ---------------------------------------------------------------------------


@bp.route("/")
@role_required("supervisor")
def index():
    # ?thang= (the page's own form) or ?month= (as the dashboard and the ticket list name it).
    chosen = (request.args.get("thang") or request.args.get("month") or "").strip()
    try:
        parse_month(chosen)
    except ValueError:
        pass
    else:
        return redirect(url_for("stats.month", month=chosen))
    months = months_with_data()
    latest = months[0] if months else previous_month(month_of(today_local()))
    return redirect(url_for("stats.month", month=latest))


def _render_month(month: str, activity_form=None, unlock_form=None, status: int = 200):
    page = month_page(month)
    activity_form = activity_form or ActivityForm(formdata=None)
    activity_form.text.label.text = "Thêm hoạt động mới"
    # Unit codes are URL-safe ([A-Za-z0-9._-]): one url_for instead of one per cell.
    edit_prefix = url_for("stats.edit_value", month=month, code="_", field="_")[:-3]
    return (
        render_template(
            "stats/month.html",
            page=page,
            activity_form=activity_form,
            unlock_form=unlock_form or UnlockForm(formdata=None),
            action=ActionForm(),
            edit_prefix=edit_prefix,
            **_labels(),
        ),
        status,
    )


@bp.route("/<month>")
@role_required("supervisor")
def month(month: str):
    return _render_month(month_or_404(month))


@bp.route("/<month>/mau.xlsx")
@role_required("supervisor")
def template(month: str):
    from .template import build_template, template_filename  # openpyxl, when asked for

    month = month_or_404(month)
    return send_file(
        io.BytesIO(build_template(month)),
        mimetype=XLSX_MIME,
        as_attachment=True,
        download_name=template_filename(month),
    )


@bp.route("/<month>/mo-khoa", methods=["POST"])
@role_required("supervisor")
def unlock(month: str):
    month = month_or_404(month)
    form = UnlockForm()
    if not form.validate_on_submit():
        return _render_month(month, unlock_form=form, status=400)
    try:
        unlock_month(month, current_user.id, form.reason.data)
    except StatsError as exc:
        rollback_request()
        form.reason.errors.append(str(exc))
        return _render_month(month, unlock_form=form, status=400)
    flash(f"Đã mở khóa số liệu tháng {month_label(month)}; lý do đã ghi vào nhật ký.", "success")
    return redirect(url_for("stats.month", month=month))


# --- single values ----------------------------------------------------------------------------


def _expected(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _unit_in_month_or_404(code: str, month: str) -> Unit:
    """The unit the code names in the month (a code names one unit per lifetime); one query.

    A 404 otherwise, saying when the unit with that code ended and which units succeeded it.
    """
    units = db.session.scalars(select(Unit).where(Unit.code == code)).all()
    if not units:
        abort(404)
    try:
        return CodeIndex(units).in_month(code, month)
    except UnitNotFound as exc:
        message = f"Tháng {month_label(month)} không có đơn vị mã {code}: {exc}."
        abort(make_response(render_template("errors/error.html", code=404, message=message), 404))


@bp.route("/<month>/don-vi/<code>/<field>", methods=["GET", "POST"])
@role_required("supervisor")
def edit_value(month: str, code: str, field: str):
    month = month_or_404(month)
    if field not in UNIT_STAT_FIELDS:
        abort(404)
    unit = _unit_in_month_or_404(code, month)
    current, before = unit_month_figures(month, unit)
    form = ValueForm()
    if request.method == "GET":
        form.value.data = number(current[field])
        form.expected.data = "" if current[field] is None else str(current[field])
    elif form.validate_on_submit():
        try:
            changed = set_unit_value(
                month,
                unit,
                field,
                form.value.parsed,
                form.reason.data,
                current_user.id,
                expected=_expected(form.expected.data),
            )
        except StaleValue as exc:
            rollback_request()
            flash(str(exc), "error")
            form.expected.data = "" if current[field] is None else str(current[field])
        except StatsError as exc:
            rollback_request()
            getattr(form, exc.field or "value").errors.append(str(exc))
        else:
            if changed:
                flash(f"Đã sửa {FIELD_LABELS[field]} của {unit.full_name}.", "success")
            else:
                flash("Giá trị không đổi; không có gì được ghi.", "info")
            return redirect(url_for("stats.month", month=month, _anchor=f"u-{unit.code}"))
    return render_template(
        "stats/edit_value.html",
        month=month,
        unit=unit,
        field=field,
        current=current,
        before=before,
        form=form,
        lock=get_lock(month),
        **_labels(),
    ), (400 if form.errors else 200)


@bp.route("/<month>/thanh-pho/<field>", methods=["GET", "POST"])
@role_required("supervisor")
def edit_city(month: str, field: str):
    month = month_or_404(month)
    if field not in CITY_FIELD_LABELS:
        abort(404)
    stat = db.session.get(CityStat, month)
    current = getattr(stat, field) if stat is not None else None
    is_date = field == "population_as_of"
    form = DateValueForm() if is_date else ValueForm()
    if request.method == "GET":
        form.value.data = (
            (current.strftime("%d/%m/%Y") if current else "") if is_date else number(current)
        )
        form.expected.data = "" if current is None else str(current)
    elif form.validate_on_submit():
        value = form.parsed if is_date else form.value.parsed
        expected = form.expected.data or None
        if not is_date:
            expected = _expected(expected)
        elif expected is not None:
            expected = date.fromisoformat(expected)
        try:
            changed = set_city_value(
                month, field, value, form.reason.data, current_user.id, expected=expected
            )
        except StaleValue as exc:
            rollback_request()
            flash(str(exc), "error")
            form.expected.data = "" if current is None else str(current)
        except StatsError as exc:
            rollback_request()
            getattr(form, exc.field or "value").errors.append(str(exc))
        else:
            flash(
                f"Đã sửa {CITY_FIELD_LABELS[field]}." if changed else "Giá trị không đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("stats.month", month=month, _anchor="thanh-pho"))
    return render_template(
        "stats/edit_city.html",
        month=month,
        field=field,
        current=current,
        form=form,
        lock=get_lock(month),
        **_labels(),
    ), (400 if form.errors else 200)


@bp.route("/<month>/tong-kiem-tra", methods=["GET", "POST"])
@role_required("supervisor")
def controls(month: str):
    month = month_or_404(month)
    totals = level_totals(month)
    levels = month_levels(month)
    shown = [levels[level] for level in totals if level in levels]
    form = control_totals_form(control_totals(month), shown)()
    if form.validate_on_submit():
        try:
            changes = set_control_totals(month, form.parsed(), current_user.id)
        except StatsError as exc:
            rollback_request()
            flash(str(exc), "error")
        else:
            flash(f"Đã lưu {changes} thay đổi tổng kiểm tra.", "success")
            return redirect(url_for("stats.month", month=month, _anchor="canh-bao"))
    return render_template(
        "stats/controls.html",
        month=month,
        form=form,
        totals=totals,
        lock=get_lock(month),
        **_labels(),
    ), (400 if form.errors else 200)


# --- activities -------------------------------------------------------------------------------


def _activity_or_404(month: str, activity_id: int):
    return get_activity(month, activity_id) or abort(404)


def _locked_redirect(month: str, exc: StatsError):
    rollback_request()
    flash(str(exc), "error")
    return redirect(url_for("stats.month", month=month, _anchor="hoat-dong"))


@bp.route("/<month>/hoat-dong", methods=["POST"])
@role_required("supervisor")
def activity_add(month: str):
    month = month_or_404(month)
    form = ActivityForm()
    if not form.validate_on_submit():
        return _render_month(month, activity_form=form, status=400)
    try:
        add_activity(month, form.text.data, current_user.id)
    except MonthLocked as exc:
        return _locked_redirect(month, exc)
    except StatsError as exc:
        rollback_request()
        form.text.errors.append(str(exc))
        return _render_month(month, activity_form=form, status=400)
    flash("Đã thêm hoạt động.", "success")
    return redirect(url_for("stats.month", month=month, _anchor="hoat-dong"))


@bp.route("/<month>/hoat-dong/<int:activity_id>", methods=["GET", "POST"])
@role_required("supervisor")
def activity_edit(month: str, activity_id: int):
    month = month_or_404(month)
    activity = _activity_or_404(month, activity_id)
    form = ActivityForm(obj=activity if request.method == "GET" else None)
    if request.method == "GET":
        form.expected.data = activity.text
    elif form.validate_on_submit():
        try:
            update_activity(activity, form.text.data, current_user.id, expected=form.expected.data)
        except MonthLocked as exc:
            return _locked_redirect(month, exc)
        except StaleValue as exc:
            rollback_request()
            flash(str(exc), "error")
            form.expected.data = activity.text
        except StatsError as exc:
            rollback_request()
            form.text.errors.append(str(exc))
        else:
            flash("Đã lưu hoạt động.", "success")
            return redirect(url_for("stats.month", month=month, _anchor="hoat-dong"))
    return render_template(
        "stats/activity_edit.html",
        month=month,
        activity=activity,
        form=form,
        lock=get_lock(month),
        **_labels(),
    ), (400 if form.errors else 200)


@bp.route("/<month>/hoat-dong/<int:activity_id>/xoa", methods=["POST"])
@role_required("supervisor")
def activity_delete(month: str, activity_id: int):
    month = month_or_404(month)
    activity = _activity_or_404(month, activity_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        delete_activity(activity, current_user.id)
    except StatsError as exc:
        return _locked_redirect(month, exc)
    flash("Đã xóa hoạt động.", "success")
    return redirect(url_for("stats.month", month=month, _anchor="hoat-dong"))


@bp.route("/<month>/hoat-dong/<int:activity_id>/chuyen", methods=["POST"])
@role_required("supervisor")
def activity_move(month: str, activity_id: int):
    month = month_or_404(month)
    activity = _activity_or_404(month, activity_id)
    offset = {"len": -1, "xuong": 1}.get(request.form.get("huong", ""))
    if not ActionForm().validate_on_submit() or offset is None:
        abort(400)
    try:
        move_activity(activity, offset, current_user.id)
    except StatsError as exc:
        return _locked_redirect(month, exc)
    return redirect(url_for("stats.month", month=month, _anchor=f"a-{activity.id}"))


# --- imports ----------------------------------------------------------------------------------


def _render_upload(form, status: int = 200, **context):
    context.setdefault("errors", [])
    context.setdefault("report", None)
    return render_template(
        "stats/upload.html",
        form=form,
        max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
        **context,
        **_labels(),
    ), status


def _preview(form, files, report, token: str, notice: str | None = None):
    confirm = ConfirmForm(formdata=None)
    confirm.token.data = token
    confirm.digest.data = digest(files)
    confirm.fingerprint.data = fingerprint(report)
    return _render_upload(
        form,
        report=report,
        previews=build_preview(files, report),
        errors=[str(e) for e in report.errors],
        confirm=confirm,
        notice=notice,
        months=months_touched(report),
    )


@bp.route("/nhap", methods=["GET", "POST"])
@role_required("supervisor")
def upload():
    try:
        # The form reads the request body as it is built: a body over MAX_CONTENT_LENGTH raises.
        form = UploadForm(current_user.role)
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        blank = UploadForm(current_user.role, formdata=None)
        return _render_upload(blank, 413, too_large=TOO_LARGE)
    if not submitted:
        return _render_upload(form, 400 if form.errors else 200)
    uploaded = [(f.filename, f.read()) for f in form.files.data if f.filename]
    files, errors = prepare_files(uploaded, form.kind.data or None, current_user.role)
    if errors:
        return _render_upload(form, errors=[str(e) for e in errors])
    report = run_import(
        files,
        actor_id=current_user.id,
        dry_run=True,
        max_bytes=current_app.config["IMPORT_MAX_BYTES"],
    )
    if not report.ok:
        return _render_upload(form, errors=[str(e) for e in report.errors], report=report)
    token = save_upload(upload_dir(current_app), files, current_user.id)
    return _preview(form, files, report, token)


@bp.route("/nhap/xac-nhan", methods=["POST"])
@role_required("supervisor")
def upload_confirm():
    confirm = ConfirmForm()
    directory = upload_dir(current_app)
    if not confirm.validate_on_submit():
        abort(400)
    form = UploadForm(current_user.role, formdata=None)
    done = confirm_upload(
        directory,
        confirm.token.data,
        current_user.id,
        confirm.digest.data,
        confirm.fingerprint.data,
        current_app.config["IMPORT_MAX_BYTES"],
    )
    if done.outcome == "gone":
        flash("Không còn tệp đã xem trước (đã nhập, đã hủy hoặc quá hạn). Hãy tải tệp lên lại.")
        return redirect(url_for("stats.upload"))
    if done.outcome == "now_invalid":
        return _render_upload(
            form,
            errors=[str(e) for e in done.check.errors],
            report=done.check,
            notice="Dữ liệu đã thay đổi từ lúc xem trước và tệp nay có lỗi; chưa có gì được ghi.",
        )
    if done.outcome == "changed":
        return _preview(
            form,
            done.files,
            done.check,
            confirm.token.data,
            notice="Dữ liệu trong hệ thống đã thay đổi từ lúc xem trước, nên kết quả nhập cũng "
            "khác. Chưa có gì được ghi: hãy xem lại bản xem trước mới dưới đây rồi xác nhận.",
        )
    if done.outcome == "refused":
        return _render_upload(form, errors=[str(e) for e in done.report.errors], report=done.report)
    for summary in done.report.files:
        flash(
            f"Đã nhập {summary.filename}: {summary.added} thêm mới, {summary.updated} cập nhật, "
            f"{summary.unchanged} không đổi.",
            "success",
        )
    if done.months:
        return redirect(url_for("stats.month", month=done.months[-1]))
    return redirect(url_for("stats.upload"))


@bp.route("/nhap/huy", methods=["POST"])
@role_required("supervisor")
def upload_cancel():
    if not ActionForm().validate_on_submit():
        abort(400)
    discard_upload(upload_dir(current_app), request.form.get("token", ""), current_user.id)
    flash("Đã hủy; không có gì được ghi.", "info")
    return redirect(url_for("stats.upload"))
