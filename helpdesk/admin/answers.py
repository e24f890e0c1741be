"""Canned answers (câu trả lời mẫu): the admin's list and edit page.

The same records the ``answers`` import file writes (docs/FORMATS.md); operators insert them
from the picker beside the resolution and note fields (helpdesk.tickets.answers).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..access import role_required
from ..audit import record_edit
from ..extensions import db
from ..formsutil import choices
from ..textutil import nfc
from ..tickets.models import CannedAnswer, Category
from ..transaction import rollback_request
from . import bp
from .forms import AnswerForm

FIELDS = ("code", "title", "text", "category_codes", "position", "active")
STALE = (
    "Câu trả lời này vừa được người khác sửa (hoặc nhập từ tệp). Nội dung bạn gõ vẫn ở dưới; "
    "hãy xem bản hiện tại trong danh sách rồi lưu lại nếu vẫn muốn ghi đè."
)


def _categories() -> list[Category]:
    stmt = select(Category).order_by(Category.audience.desc(), Category.position, Category.id)
    return list(db.session.scalars(stmt))


@bp.route("/cau-tra-loi", methods=["GET"])
@role_required("admin")
def answers():
    rows = db.session.scalars(
        select(CannedAnswer).order_by(CannedAnswer.position, CannedAnswer.id)
    ).all()
    labels = {c.code: c.label for c in _categories()}
    return render_template("admin/answers.html", answers=rows, category_labels=labels)


@bp.route("/cau-tra-loi/moi", methods=["GET", "POST"])
@bp.route("/cau-tra-loi/<int:answer_id>", methods=["GET", "POST"])
@role_required("admin")
def answer_edit(answer_id: int | None = None):
    answer = db.session.get(CannedAnswer, answer_id) if answer_id else None
    if answer_id and answer is None:
        abort(404)
    categories = _categories()
    form = AnswerForm(
        data=(
            {
                "code": answer.code,
                "title": answer.title,
                "text": answer.text,
                "categories": answer.categories,
                "position": answer.position,
                "active": answer.active,
                "version": str(answer.version),
            }
            if answer
            else {"position": _next_position()}
        )
    )
    form.categories.choices = choices({c.code: c.label for c in categories})
    status = 200
    if form.is_submitted():
        status = 400
    if form.validate_on_submit():
        clash = db.session.scalar(select(CannedAnswer).where(CannedAnswer.code == form.code.data))
        if clash is not None and clash is not answer:
            form.code.errors.append(f"Mã {form.code.data} đã có.")
        elif answer is not None and form.version.data != str(answer.version):
            form.form_errors.append(STALE)
            form.version.data = str(answer.version)
            status = 409
        else:
            try:
                return _save(answer, form)
            except StaleDataError:
                rollback_request()
                form.form_errors.append(STALE)
                status = 409
    return render_template("admin/answer_edit.html", form=form, answer=answer), status


def _next_position() -> int:
    last = db.session.scalar(select(db.func.max(CannedAnswer.position)))
    return (last or 0) + 1


def _save(answer: CannedAnswer | None, form: AnswerForm):
    before = {k: getattr(answer, k) for k in FIELDS} if answer else {}
    if answer is None:
        answer = CannedAnswer()
        db.session.add(answer)
    answer.code = form.code.data.strip()
    answer.title = nfc(form.title.data.strip())
    answer.text = nfc(form.text.data.strip())
    answer.category_codes = "|".join(form.categories.data or [])
    answer.position = form.position.data
    answer.active = form.active.data
    db.session.flush()
    after = {k: getattr(answer, k) for k in FIELDS}
    record_edit(
        "answer", answer.code, f"Câu trả lời mẫu {answer.code}", before, after, current_user.id
    )
    flash("Đã lưu câu trả lời mẫu.", "success")
    return redirect(url_for("admin.answers"))
