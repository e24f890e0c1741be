"""Views of the reports blueprint: periods, the draft page, downloads, issuing.

A report is addressed by its period's code: ``/bao-cao/2023-09`` (a month, as before periods),
``/bao-cao/2026-Q3``, ``/bao-cao/2026-H1``, ``/bao-cao/2026-9M``, ``/bao-cao/2026``. The URL
variable keeps its old name, ``month``, so links built before periods still work.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ..access import role_required
from ..extensions import db
from ..periods import PARTS, ReportPeriod, code_of, first_working_day_after, periods_of_year
from ..stats.services import locked_months
from ..timeutil import today_local
from ..transaction import rollback_request
from . import bp, services
from .builder import ReportError, month_label
from .forms import IssueForm, ParagraphForm, SettingsForm
from .render import chart_sources, render_pdf
from .text import paragraph_label

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _file(data: bytes, name: str, mimetype: str, etag: str | None = None):
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if etag:
        response.set_etag(etag)
    return response


class NotAPeriod(Exception):
    """A URL segment that is not a period's code; the message says why."""


@bp.app_errorhandler(NotAPeriod)
def _not_a_period(exc: NotAPeriod):
    return render_template("errors/error.html", code=404, message=str(exc)), 404


def _period(code: str) -> ReportPeriod:
    """The period of a URL segment; a 404 page saying why when it is not one."""
    try:
        return services.parse_period(code)
    except services.BadPeriod as exc:
        raise NotAPeriod(str(exc)) from exc


# --- the list and the period chooser ----------------------------------------------------------


def _chosen() -> str | None:
    """The period code the chooser asks for (``?thang=YYYY-MM``, or ``?nam=2026&ky=Q3``)."""
    month = request.args.get("thang", "").strip()
    if month:
        return month
    year = request.args.get("nam", "").strip()
    if year or "ky" in request.args:
        return code_of(year, request.args.get("ky", ""))
    return None


def _year_periods(months: list[str], drafts: set[str], issued: dict) -> list[dict]:
    """The longer periods (year, 9 and 6 months, quarters) that hold a month with statistics,
    the latest year first, each with its state."""
    today = today_local()
    with_data = set(months)
    rows = []
    for year in sorted({int(m[:4]) for m in months}, reverse=True):
        for period in periods_of_year(year):
            if period.is_future(today) or not with_data.intersection(period.months):
                continue
            rows.append(
                {
                    "period": period,
                    "issued": issued.get(period.code),
                    "draft": period.code in drafts,
                }
            )
    return rows


def _index(status: int = 200):
    issued = services.issued_reports()
    issued_codes = {r.month: r for r in issued}
    months = services.months_with_statistics()
    # The chooser starts on the quarter of the newest month with statistics.
    newest = months[0] if months else f"{today_local():%Y-%m}"
    quarter = f"Q{(int(newest[5:]) - 1) // 3 + 1}"
    return render_template(
        "reports/index.html",
        months=months,
        issued=issued,
        issued_months=issued_codes,
        periods=_year_periods(months, set(services.draft_codes()), issued_codes),
        parts=PARTS,
        chosen_year=request.args.get("nam", "").strip() or newest[:4],
        chosen_part=request.args.get("ky", quarter).strip(),
        month_label=month_label,
    ), status


@bp.route("/", methods=["GET"])
@role_required("supervisor")
def index():
    code = _chosen()
    if code is not None:
        try:
            period = services.parse_period(code)
            services.check_started(period)
        except ReportError as exc:
            flash(str(exc), "error")
            return _index(400)
        return redirect(url_for("reports.draft", month=period.code))
    return _index()


# --- the draft page -----------------------------------------------------------------------------


def _months_state(period: ReportPeriod, figures) -> list[dict]:
    """Each month of a longer period: statistics, lock, its own issued report (two queries)."""
    locked = set(locked_months(period.months))
    issued = set(services.issued_months(period.months))
    with_data = set(figures.data_months) if figures is not None else set()
    return [
        {
            "month": m,
            "label": month_label(m),
            "has_data": m in with_data,
            "locked": m in locked,
            "issued": m in issued,
        }
        for m in period.months
    ]


def _changed_since_issue(code: str) -> list:
    # Imported here: the tickets module reads the report models (an import cycle otherwise).
    from ..tickets.services import tickets_changed_since_issue

    return tickets_changed_since_issue(code)


def _draft_page(period: ReportPeriod, status: int = 200, **forms):
    code = period.code
    draft = services.get_draft(code)
    issued = services.issued_summary(code)
    doc = None
    figures = None
    error = None
    try:
        if issued:
            doc = services.issued_document(code)
        else:
            figures = services.figures_of(period)
            doc = services.build_document(period, figures=figures)
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
        settings.report_date.data = first_working_day_after(period)
    defaults = services.organisation_defaults()
    settings.signer_title.render_kw = {"placeholder": defaults.get("signer_title", "")}
    settings.signer_name.render_kw = {"placeholder": defaults.get("signer_name", "")}
    issue_form = forms.pop("issue_form", None) or IssueForm(
        formdata=None, data={"version": version}
    )
    if not period.is_month:
        issue_form.confirm.label.text = (
            "Tôi đã kiểm tra nội dung; phát hành và khóa số liệu các tháng của kỳ này."
        )
    months = [] if period.is_month else _months_state(period, figures)
    html = render_template(
        "reports/draft.html",
        period=period,
        month=code,
        label=period.label,
        doc=doc,
        error=error,
        future=period.is_future(today_local()),
        draft=draft,
        version=version,
        issued=issued,
        settings=settings,
        issue_form=issue_form,
        months=months,
        chart_src=chart_sources(doc) if doc else {},
        editable=doc is not None and issued is None,
        paragraph_label=paragraph_label,
        typed=forms.pop("typed", {}),
        paragraph_errors=forms.pop("paragraph_errors", {}),
        stale=forms.pop("stale", None),
        outdated=_changed_since_issue(code) if issued else [],
    )
    return html, status


@bp.route("/<month>", methods=["GET"])
@role_required("supervisor")
def draft(month: str):
    period = _period(month)
    if period.code != month:  # 2026-q3 -> 2026-Q3
        return redirect(url_for("reports.draft", month=period.code))
    return _draft_page(period)


@bp.route("/<month>/", methods=["GET"])
@role_required("supervisor")
def draft_slash(month: str):
    return redirect(url_for("reports.draft", month=_period(month).code))


@bp.route("/<month>/thiet-lap", methods=["POST"])
@role_required("supervisor")
def settings(month: str):
    period = _period(month)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _draft_page(period, 400, settings=form)
    try:
        services.save_settings(
            period.code,
            report_date=form.report_date.data,
            number=form.number.data,
            signer_title=form.signer_title.data,
            signer_name=form.signer_name.data,
            version=form.version.data,
            actor_id=current_user.id,
        )
        db.session.flush()  # a conflict shows here, inside the try
    except services.StaleDraft as exc:
        rollback_request()
        return _draft_page(period, 409, settings=form, stale=exc)
    except (StaleDataError, IntegrityError, OperationalError):  # saved at the same moment
        rollback_request()
        return _draft_page(period, 409, settings=form, stale=services.StaleDraft(_RACE))
    except ReportError as exc:
        rollback_request()
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=period.code))
    flash("Đã lưu ngày, số và người ký.", "success")
    return redirect(url_for("reports.draft", month=period.code))


_RACE = "Bản nháp vừa được người khác lưu cùng lúc; vui lòng xem lại rồi lưu lại."


@bp.route("/<month>/doan/<key>", methods=["POST"])
@role_required("supervisor")
def paragraph(month: str, key: str):
    period = _period(month)
    form = ParagraphForm()
    typed = {key: form.text.data or ""}
    if not form.validate_on_submit():
        errors = {key: [e for errs in form.errors.values() for e in errs]}
        return _draft_page(period, 400, typed=typed, paragraph_errors=errors)
    reset = form.action.data == "reset"
    try:
        if reset:
            services.reset_paragraph(
                period.code, key, version=form.version.data, actor_id=current_user.id
            )
        else:
            services.set_paragraph(
                period.code,
                key,
                form.text.data,
                version=form.version.data,
                actor_id=current_user.id,
                omit=form.action.data == "omit",
            )
        db.session.flush()  # a conflict shows here, inside the try
    except services.StaleDraft as exc:
        rollback_request()
        return _draft_page(period, 409, typed=typed, stale=exc)
    except (StaleDataError, IntegrityError, OperationalError):  # saved at the same moment
        rollback_request()
        return _draft_page(period, 409, typed=typed, stale=services.StaleDraft(_RACE))
    except ReportError as exc:
        rollback_request()
        return _draft_page(period, 400, typed=typed, paragraph_errors={key: [str(exc)]})
    label = paragraph_label(key)
    done = "khôi phục" if reset else "bỏ" if form.action.data == "omit" else "lưu"
    flash(f"Đã {done} đoạn «{label}».", "success")
    return redirect(url_for("reports.draft", month=period.code, _anchor=f"p-{key}"))


@bp.route("/<month>/tai-ve.pdf", methods=["GET"])
@role_required("supervisor")
def pdf(month: str):
    period = _period(month)
    issued = services.issued_summary(period.code)
    if issued is not None:
        return redirect(url_for("reports.issued_pdf", report_id=issued.id))
    try:
        data = render_pdf(services.build_document(period))
    except ReportError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=period.code))
    return _file(data, f"bao-cao-{period.code}-du-thao.pdf", "application/pdf")


@bp.route("/<month>/tai-ve.docx", methods=["GET"])
@role_required("supervisor")
def docx(month: str):
    period = _period(month)
    try:
        doc = services.issued_document(period.code) or services.build_document(period)
    except ReportError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=period.code))
    from .word import render_docx  # python-docx: loaded when a DOCX is asked for

    return _file(render_docx(doc), f"bao-cao-{period.code}.docx", DOCX_TYPE)


def _locked_words(period: ReportPeriod, before: list[str]) -> str:
    """What issuing locked: ``số liệu tháng đã được khóa`` for a month; for a longer period the
    months locked now, and those that were locked already (by their own report)."""
    if period.is_month:
        return "số liệu tháng đã được khóa"
    now = [month_label(m) for m in period.months if m not in before]
    text = f"đã khóa số liệu các tháng {', '.join(now)}" if now else "không có tháng nào phải khóa"
    if before:
        text += f" (tháng {', '.join(month_label(m) for m in before)} đã khóa từ trước)"
    return text


@bp.route("/<month>/phat-hanh", methods=["POST"])
@role_required("supervisor")
def issue(month: str):
    period = _period(month)
    form = IssueForm()
    if not form.validate_on_submit():
        return _draft_page(period, 400, issue_form=form)
    before = [] if period.is_month else locked_months(period.months)
    try:
        issued = services.issue(period.code, current_user.id, version=form.version.data)
        db.session.flush()  # a conflict shows here, inside the try
    except services.StaleDraft as exc:
        rollback_request()
        return _draft_page(period, 409, stale=exc)
    except ReportError as exc:  # no statistics, or already issued (perhaps a moment ago)
        rollback_request()
        flash(str(exc), "error")
        return redirect(url_for("reports.draft", month=period.code))
    flash(
        f"Đã phát hành báo cáo {period.label}; {_locked_words(period, before)}. "
        f"SHA-256: {issued.sha256}",
        "success",
    )
    return redirect(url_for("reports.draft", month=period.code))


@bp.route("/da-phat-hanh/<int:report_id>.pdf", methods=["GET"])
@role_required("supervisor")
def issued_pdf(report_id: int):
    from .models import IssuedReport

    issued = db.session.get(IssuedReport, report_id) or abort(404)
    response = _file(issued.pdf, f"bao-cao-{issued.month}.pdf", "application/pdf", issued.sha256)
    response.headers["X-Content-SHA256"] = issued.sha256
    return response
