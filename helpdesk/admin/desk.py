"""The working calendar (days off, make-up days) and the e-mail outbox: the admins' pages."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..access import role_required
from ..audit import record
from ..extensions import db
from ..formsutil import ActionForm, choices
from ..mail.models import OutboxMail
from ..mail.sender import retry_now
from ..timeutil import now_local, today_local
from ..transaction import rollback_request
from ..workcal.models import KIND_LABELS, CalendarChange
from ..workcal.services import CalendarError, add_change, current_calendar
from ..workcal.worktime import public_holidays
from . import bp


class CalendarChangeForm(FlaskForm):
    start_date = DateField("Từ ngày", validators=[Optional()], render_kw={"type": "date"})
    end_date = DateField("Đến ngày", validators=[Optional()], render_kw={"type": "date"})
    kind = SelectField("Loại", choices=choices(KIND_LABELS))
    name = StringField(
        "Tên (theo thông báo)",
        validators=[Length(max=200, message="Tối đa 200 ký tự.")],
        render_kw={"placeholder": "Nghỉ Tết Nguyên đán Bính Ngọ 2026"},
    )


def _year() -> int:
    value = request.args.get("nam", type=int)
    return value if value and 2000 <= value <= 2100 else today_local().year


@bp.route("/lich-lam-viec", methods=["GET", "POST"])
@role_required("admin")
def calendar():
    """Public holidays (by law, from the holidays package) and the announced days off and
    make-up working days of a year; due times count only the working time they leave."""
    year = _year()
    form = CalendarChangeForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                change = add_change(
                    form.start_date.data, form.end_date.data, form.kind.data, form.name.data
                )
            except CalendarError as exc:
                rollback_request()
                getattr(form, exc.field or "start_date").errors.append(str(exc))
                status = 400
            else:
                record("create", "calendar", change.id, change.label, user_id=current_user.id)
                flash(f"Đã thêm “{change.name}”.", "success")
                return redirect(url_for("admin.calendar", nam=change.start_date.year))
        else:
            status = 400
    changes = db.session.scalars(
        select(CalendarChange)
        .where(CalendarChange.end_date >= date(year, 1, 1))
        .where(CalendarChange.start_date <= date(year, 12, 31))
        .order_by(CalendarChange.start_date)
    ).all()
    work = current_calendar()
    holidays = sorted(public_holidays(year).items())
    return (
        render_template(
            "admin/calendar.html",
            year=year,
            form=form,
            changes=changes,
            holidays=holidays,
            action=ActionForm(),
            work_hours=work.periods,
            minutes_per_day=work.minutes_per_day,
            working_days=work.working_days(date(year, 1, 1), date(year + 1, 1, 1)),
        ),
        status,
    )


@bp.route("/lich-lam-viec/<int:change_id>/xoa", methods=["POST"])
@role_required("admin")
def calendar_delete(change_id: int):
    change = db.session.get(CalendarChange, change_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    record("delete", "calendar", change.id, change.label, user_id=current_user.id)
    year = change.start_date.year
    db.session.delete(change)
    flash(f"Đã xóa “{change.name}”. Hạn của yêu cầu mới tính theo lịch mới.", "success")
    return redirect(url_for("admin.calendar", nam=year))


OUTBOX_STATES = {
    "pending": "Chờ gửi",
    "retrying": "Đang thử lại",
    "failed": "Gửi không được",
    "sent": "Đã gửi",
}


@bp.route("/hop-thu-di")
@role_required("admin")
def outbox():
    """The e-mail outbox: what waits, what is being retried, what failed (and why)."""
    state = request.args.get("xem") if request.args.get("xem") in OUTBOX_STATES else "failed"
    conditions = {
        "pending": (OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None),
                    OutboxMail.attempts == 0),
        "retrying": (OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None),
                     OutboxMail.attempts > 0),
        "failed": (OutboxMail.failed_at.is_not(None), OutboxMail.sent_at.is_(None)),
        "sent": (OutboxMail.sent_at.is_not(None),),
    }  # fmt: skip
    counts = {
        key: db.session.scalar(select(func.count(OutboxMail.id)).where(*where))
        for key, where in conditions.items()
    }
    rows = db.session.scalars(
        select(OutboxMail).where(*conditions[state]).order_by(OutboxMail.id.desc()).limit(200)
    ).all()
    return render_template(
        "admin/outbox.html",
        state=state,
        states=OUTBOX_STATES,
        counts=counts,
        rows=rows,
        action=ActionForm(),
    )


@bp.route("/hop-thu-di/<int:mail_id>/gui-lai", methods=["POST"])
@role_required("admin")
def outbox_retry(mail_id: int):
    mail = db.session.get(OutboxMail, mail_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if mail.sent_at is not None:
        flash("Thư này đã gửi.", "info")
    else:
        retry_now(mail, now_local())
        record(
            "retry", "mail", mail.id, f"Gửi lại thư tới {mail.recipient}", user_id=current_user.id
        )
        flash(f"Thư tới {mail.recipient} sẽ được gửi ở lượt gửi tới.", "success")
    return redirect(url_for("admin.outbox", xem="failed"))
