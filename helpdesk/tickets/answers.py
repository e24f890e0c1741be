"""Canned answers for operators: find them (the picker, the API) and count their uses."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import select, update

from ..access import role_required
from ..extensions import db
from . import bp
from .fulltext import words_of
from .models import CannedAnswer

MAX_SHOWN = 50


def find_answers(category: str | None, q: str | None, limit: int = MAX_SHOWN) -> list[CannedAnswer]:
    """Active answers matching every word of ``q`` (accents, case and tone placement ignored),
    those made for ``category`` first, then those for every category, then the others; each
    group in the admin's order."""
    stmt = select(CannedAnswer).where(CannedAnswer.active.is_(True))
    for word in words_of(q):  # every word, at the start of a word
        stmt = stmt.where(CannedAnswer.search_text.contains(" " + word, autoescape=True))
    found = db.session.scalars(stmt.order_by(CannedAnswer.position, CannedAnswer.id)).all()

    def rank(answer: CannedAnswer) -> int:
        if category and category in answer.categories:
            return 0
        return 1 if not answer.category_codes else 2

    return sorted(found, key=rank)[:limit]


def answer_json(answer: CannedAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "title": answer.title,
        "text": answer.text,
        "categories": answer.categories,
        "uses": answer.uses,
    }


def count_use(answer_id: int) -> bool:
    """One more use (one UPDATE, so concurrent inserts all count); False if no such answer."""
    stmt = (
        update(CannedAnswer)
        .where(CannedAnswer.id == answer_id, CannedAnswer.active.is_(True))
        .values(uses=CannedAnswer.uses + 1)  # not a content change: the version stays
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).rowcount == 1


@bp.route("/cau-tra-loi")
@role_required("operator")
def answers():
    """JSON for the picker: ``[{"id", "title", "text", "categories", "uses"}]``."""
    category = (request.args.get("category") or "").strip()[:64] or None
    q = (request.args.get("q") or "").strip()[:100]
    return jsonify([answer_json(a) for a in find_answers(category, q)])


@bp.route("/cau-tra-loi/<int:answer_id>/dung", methods=["POST"])
@role_required("operator")
def answer_used(answer_id: int):
    """The picker inserted this answer (CSRF token in the X-CSRFToken header)."""
    if not count_use(answer_id):
        return jsonify({"error": "not_found"}), 404
    return "", 204
