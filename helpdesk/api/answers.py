"""Canned answers over the API: what the operators' picker shows."""

from __future__ import annotations

from ..auth.models import User
from ..tickets.answers import answer_json, find_answers
from . import schemas as s
from .core import operation


@operation(
    "/answers",
    "GET",
    summary="Canned answers an operator may insert, the category's first",
    tag="answers",
    query=s.AnswersQuery,
    responses={200: s.AnswerList},
)
def answers(user: User, query: s.AnswersQuery):
    """Active answers matching every word of ``q`` (accent-insensitive), at most 50."""
    return [answer_json(a) for a in find_answers(query.category, query.q)]
