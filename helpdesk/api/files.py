"""Imports (the upload page's engine and rules) and report downloads."""

from __future__ import annotations

from flask import current_app, make_response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth.models import User
from ..imports import run_import
from ..periods import PeriodError
from ..reports import services as reports
from ..reports.models import IssuedReport
from ..stats.uploads import prepare_files
from ..transaction import rollback_request
from . import schemas as s
from .core import ApiError, operation

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FORMATS = {"pdf": "application/pdf", "docx": DOCX_TYPE, "html": "text/html; charset=utf-8"}


def _refused(errors) -> tuple[dict, int]:
    return {
        "ok": False,
        "errors": [
            {"file": e.filename, "line": e.line, "column": e.column, "reason": e.reason}
            for e in errors
        ],
    }, 422


@operation(
    "/imports",
    "POST",
    summary="Import files (all or nothing)",
    tag="imports",
    role="supervisor",
    query=s.ImportQuery,
    multipart={"files": "one or more files named as in docs/FORMATS.md"},
    responses={200: s.ImportOk, 422: s.ImportRefused},
    errors=(413,),
)
def imports(user: User, query: s.ImportQuery):
    """Multipart, one or more parts named ``files``. The kinds a role may import are the upload
    page's (supervisors: statistics, activities, tickets; admins: every kind). ``dry_run=1``
    checks and writes nothing. Any bad row: 422 listing every bad row, nothing written."""
    try:
        uploaded = [(f.filename or "", f.read()) for f in request.files.getlist("files")]
    except RequestEntityTooLarge as exc:
        raise ApiError(413, "Tệp quá lớn.") from exc
    if not uploaded:
        raise ApiError(422, "Gửi ít nhất một tệp trong phần “files”.", {"files": "bắt buộc"})
    files, errors = prepare_files(uploaded, None, user.role)
    if errors:
        return _refused(errors)
    dry_run = query.dry_run in ("1", "true")
    report = run_import(
        files, actor_id=user.id, dry_run=dry_run, max_bytes=current_app.config["IMPORT_MAX_BYTES"]
    )
    if not report.ok:
        return _refused(report.errors)
    if dry_run:
        rollback_request()  # a check writes nothing, not even the token's last use
    return {
        "ok": True,
        "dry_run": dry_run,
        "files": [
            {
                "file": f.filename,
                "kind": f.kind,
                "added": f.added,
                "updated": f.updated,
                "unchanged": f.unchanged,
            }
            for f in report.files
        ],
        "warnings": list(report.warnings),
    }


@operation(
    "/reports/<period>.<any(pdf, docx, html):fmt>",
    "GET",
    summary="A period's report: the issued file byte for byte, else the current draft",
    tag="reports",
    role="supervisor",
    responses={
        200: {
            "application/pdf": "the report as PDF",
            DOCX_TYPE: "the report as DOCX",
            "text/html": "the report as HTML",
        }
    },
    errors=(404,),
)
def report_file(user: User, period: str, fmt: str):
    """``period`` is a month ``YYYY-MM`` (or a quarter, half or year code as on the pages).
    The answer says ``X-Report-State: issued`` or ``draft``."""
    try:
        parsed = reports.parse_period(period[:20])
    except (PeriodError, reports.ReportError, ValueError) as exc:
        raise ApiError(404, str(exc)) from exc
    from sqlalchemy import select

    from ..extensions import db

    issued = db.session.scalar(select(IssuedReport).where(IssuedReport.month == parsed.code))
    try:
        if issued is not None and fmt == "pdf":
            data = issued.pdf
        else:
            doc = reports.issued_document(parsed.code) if issued is not None else None
            if doc is None:
                reports.check_started(parsed)
                doc = reports.build_document(parsed)
            data = _render(doc, fmt)
    except reports.ReportError as exc:
        raise ApiError(404, str(exc)) from exc
    response = make_response(data)
    response.headers["Content-Type"] = FORMATS[fmt]
    state = "issued" if issued is not None else "draft"
    response.headers["X-Report-State"] = state
    name = f"bao-cao-{parsed.code}{'' if issued is not None else '-du-thao'}.{fmt}"
    if fmt != "html":
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if issued is not None and fmt == "pdf":
        response.set_etag(issued.sha256)
        response.headers["X-Content-SHA256"] = issued.sha256
    return response


def _render(doc, fmt: str):
    if fmt == "pdf":
        from ..reports.render import render_pdf

        return render_pdf(doc)
    if fmt == "docx":
        from ..reports.word import render_docx

        return render_docx(doc)
    from ..reports.render import render_html

    return render_html(doc)
