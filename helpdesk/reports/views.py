"""Views of the reports blueprint: months, the draft page, downloads, issuing."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ..access import month_or_404, role_required
from ..extensions import db
from ..timeutil import parse_month
from . import bp, services
from .builder import ReportError, month_label
from .forms import IssueForm, ParagraphForm, SettingsForm
from .render import chart_sources, render_pdf
from .text import paragraph_label
from .word import render_docx

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _file(data: bytes, name: str, mimetype: str, etag: str | None = None):
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if etag:
        response.set_etag(etag)
    return response


@bp.route("/", methods=["GET"])
@role_required("supervisor")
def index():
    chosen = request.args.get("thang", "").strip()
    if chosen:
        try:
            parse_month(chosen)
        except ValueError:
            flash("Tháng không hợp lệ (YYYY-MM).", "error")
        else:
            return redirect(url_for("reports.draft", month=chosen))
    issued = services.issued_reports()
    return render_template(
        "reports/index.html",
        months=services.months_with_statistics(),
        issued=issued,
        issued_months={r.month: r for r in issued},
        month_label=month_label,
    )


def _draft_page(month: str, status: int = 200, **forms):
    draft = services.get_draft(month)
    issued = services.issued_summary(month)
    doc = None
    error = None
    try:
        doc = services.issued_document(month) if issued else services.build_document(month)
    except ReportError as exc:
        error = str(exc)
    version = draft.version if draft else 0
    settings = forms.pop("settings", None) or SettingsForm(
        formdata=None,
        data={
            "report_date": draft.report_date if draft else None,
            "number": draft.number if draft else "",
            "signer_title": draft.signer_title if draft else "",
            "signer_name": draft.signer_name if draft else "",
            "version": version,
        },
    )
    if settings.report_date.data is None and doc is not None and request.method == "GET":
        settings.report_date.data = services.settings_for(draft).report_date
    defaults = services.organisation_defaults()
    settings.signer_title.render_kw = {"placeholder": defaults.get("signer_title", "")}
    settings.signer_name.render_kw = {"placeholder": defaults.get("signer_name", "")}
    issue_form = forms.pop("issue_form", None) or IssueForm(
        formdata=None, data={"version": version}
    )
    html = render_template(
        "reports/draft.html",
        month=month,
        label=month_label(month),
        doc=doc,
        error=error,
        draft=draft,
        version=version,
        issued=issued,
        settings=settings,
        issue_form=issue_form,
        chart_src=chart_sources(doc) if doc else {},
        editable=doc is not None and issued is None,
        paragraph_label=paragraph_label,
        typed=forms.pop("typed", {}),
        paragraph_errors=forms.pop("paragraph_errors", {}),
        stale=forms.pop("stale", None),
    )
    return html, status


@bp.route("/<month>", methods=["GET"])
@role_required("supervisor")
def draft(month: str):
    return _draft_page(month_or_404(month))


@bp.route("/<month>/thiet-lap", methods=["POST"])
@role_required("supervisor")
def settings(month: str):
    month = month_or_404(month)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _draft_page(month, 400, settings=form)
    try:
        services.save_settings(
            month,
            report_date=form.report_date.data,
            number=form.number.data,
            signer_title=form.signer_title.data,
            signer_name=form.signer_name.data,
            version=form.version.data,
            actor_id=current_user.id,
        )
        db.session.commit()
    except services.StaleDraft as exc:
        db.session.rollback()
        return _draft_page(month, 409, settings=form, stale=exc)
    except (StaleDataError, IntegrityError, OperationalError):  # saved at the same moment
        db.session.rollback()
        return _draft_page(month, 409, settings=form, stale=services.StaleDraft(_RACE))
    except ReportError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=month))
    flash("Đã lưu ngày, số và người ký.", "success")
    return redirect(url_for("reports.draft", month=month))


_RACE = "Bản nháp vừa được người khác lưu cùng lúc; vui lòng xem lại rồi lưu lại."


@bp.route("/<month>/doan/<key>", methods=["POST"])
@role_required("supervisor")
def paragraph(month: str, key: str):
    month = month_or_404(month)
    form = ParagraphForm()
    typed = {key: form.text.data or ""}
    if not form.validate_on_submit():
        errors = {key: [e for errs in form.errors.values() for e in errs]}
        return _draft_page(month, 400, typed=typed, paragraph_errors=errors)
    reset = form.action.data == "reset"
    try:
        if reset:
            services.reset_paragraph(
                month, key, version=form.version.data, actor_id=current_user.id
            )
        else:
            services.set_paragraph(
                month, key, form.text.data, version=form.version.data, actor_id=current_user.id
            )
        db.session.commit()
    except services.StaleDraft as exc:
        db.session.rollback()
        return _draft_page(month, 409, typed=typed, stale=exc)
    except (StaleDataError, IntegrityError, OperationalError):  # saved at the same moment
        db.session.rollback()
        return _draft_page(month, 409, typed=typed, stale=services.StaleDraft(_RACE))
    except ReportError as exc:
        db.session.rollback()
        return _draft_page(month, 400, typed=typed, paragraph_errors={key: [str(exc)]})
    label = paragraph_label(key)
    flash(f"Đã {'khôi phục' if reset else 'lưu'} đoạn «{label}».", "success")
    return redirect(url_for("reports.draft", month=month, _anchor=f"p-{key}"))


@bp.route("/<month>/tai-ve.pdf", methods=["GET"])
@role_required("supervisor")
def pdf(month: str):
    month = month_or_404(month)
    issued = services.issued_summary(month)
    if issued is not None:
        return redirect(url_for("reports.issued_pdf", report_id=issued.id))
    try:
        data = render_pdf(services.build_document(month))
    except ReportError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=month))
    return _file(data, f"bao-cao-{month}-du-thao.pdf", "application/pdf")


@bp.route("/<month>/tai-ve.docx", methods=["GET"])
@role_required("supervisor")
def docx(month: str):
    month = month_or_404(month)
    try:
        doc = services.issued_document(month) or services.build_document(month)
    except ReportError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=month))
    return _file(render_docx(doc), f"bao-cao-{month}.docx", DOCX_TYPE)


@bp.route("/<month>/phat-hanh", methods=["POST"])
@role_required("supervisor")
def issue(month: str):
    month = month_or_404(month)
    form = IssueForm()
    if not form.validate_on_submit():
        return _draft_page(month, 400, issue_form=form)
    try:
        issued = services.issue(month, current_user.id, version=form.version.data)
        db.session.commit()
    except services.StaleDraft as exc:
        db.session.rollback()
        return _draft_page(month, 409, stale=exc)
    except ReportError as exc:  # no statistics, or already issued (perhaps a moment ago)
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=month))
    flash(
        f"Đã phát hành báo cáo tháng {month_label(month)}; số liệu tháng đã được khóa. "
        f"SHA-256: {issued.sha256}",
        "success",
    )
    return redirect(url_for("reports.draft", month=month))


@bp.route("/da-phat-hanh/<int:report_id>.pdf", methods=["GET"])
@role_required("supervisor")
def issued_pdf(report_id: int):
    from .models import IssuedReport

    issued = db.session.get(IssuedReport, report_id) or abort(404)
    response = _file(issued.pdf, f"bao-cao-{issued.month}.pdf", "application/pdf", issued.sha256)
    response.headers["X-Content-SHA256"] = issued.sha256
    return response
