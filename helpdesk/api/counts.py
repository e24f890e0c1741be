"""Counts of a month's tickets by one dimension: the dashboard's numbers (the same conditions)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..extensions import db
from ..tickets.models import (
    AUDIENCE_LABELS,
    CHANNEL_LABELS,
    SATISFACTION_LABELS,
    STATUS_LABELS,
    Category,
    Ticket,
)
from ..tickets.queries import TicketFilter, ticket_conditions
from ..tickets.sla import on_time_sums
from ..tickets.visibility import scoped
from ..timeutil import now_local
from ..units.models import Unit
from . import schemas as s
from .core import operation

NONE_LABELS = {
    "unit": "Không xác định đơn vị",
    "operator": "Không rõ người ghi nhận",
    "satisfaction": "Không hỏi",
}


ON_TIME_LABELS = {
    "on_time": "Giải quyết đúng hạn",
    "late": "Giải quyết trễ hạn",
    "open_in_time": "Chưa giải quyết, còn hạn",
    "open_late": "Chưa giải quyết, quá hạn",
}


def _rows(by: str, where: list, user: User) -> list[dict]:
    if by == "on_time":
        # Merged duplicates and tickets without a due time are in no row (total may be less
        # than the month's tickets); late as of now.
        sums = db.session.execute(scoped(select(*on_time_sums(now_local())).where(*where), user))
        values = sums.one()._mapping
        return [
            {"key": key, "label": label, "count": int(values[key] or 0)}
            for key, label in ON_TIME_LABELS.items()
        ]
    if by in ("channel", "status", "audience", "satisfaction"):
        column = getattr(Ticket, by)
        labels = {
            "channel": CHANNEL_LABELS,
            "status": STATUS_LABELS,
            "audience": AUDIENCE_LABELS,
            "satisfaction": SATISFACTION_LABELS,
        }[by]
        stmt = select(column, func.count()).where(*where).group_by(column)
        counted = dict(db.session.execute(scoped(stmt, user)).all())
        order = [*labels, None]  # "not asked" (null) last

        def rank(key):
            return (order.index(key) if key in order else 99, key or "")

        return [
            {"key": k, "label": labels.get(k) or NONE_LABELS.get(by, k), "count": counted[k]}
            for k in sorted(counted, key=rank)
        ]
    if by == "category":
        stmt = (
            select(Category.code, Category.label, func.count())
            .join(Ticket, Ticket.category_id == Category.id)
            .where(*where)
            .group_by(Category.id, Category.code, Category.label)
            .group_by(Category.audience, Category.position)
            .order_by(Category.audience.desc(), Category.position, Category.code)
        )
        return [
            {"key": code, "label": label, "count": n}
            for code, label, n in db.session.execute(scoped(stmt, user))
        ]
    column = Ticket.unit_id if by == "unit" else Ticket.operator_id
    stmt = (
        select(column, func.count(Ticket.id))
        .where(*where)
        .group_by(column)
        .order_by(func.count(Ticket.id).desc(), column)
    )
    counted = db.session.execute(scoped(stmt, user)).all()
    ids = [key for key, _n in counted if key is not None]
    model = Unit if by == "unit" else User
    stmt = select(model).where(model.id.in_(ids))
    if model is Unit:
        stmt = stmt.options(joinedload(Unit.parent))  # a commune's name shows its district
    found = {o.id: o for o in db.session.scalars(stmt)}
    rows = []
    for key, n in counted:
        obj = found.get(key)
        if obj is None:
            rows.append({"key": None, "label": NONE_LABELS[by], "count": n})
        elif by == "unit":
            rows.append({"key": obj.code, "label": obj.display, "count": n})
        else:
            rows.append({"key": obj.username, "label": obj.full_name, "count": n})
    return rows


@operation(
    "/counts",
    "GET",
    summary="A month's tickets counted by one dimension",
    tag="counts",
    role="supervisor",
    query=s.CountsQuery,
    responses={200: s.Counts},
)
def counts(user: User, query: s.CountsQuery):
    """Rows with a null ``key`` are tickets without a unit (or without an operator)."""
    where = ticket_conditions(TicketFilter(month=query.month))
    rows = _rows(query.by, where, user)
    return {
        "month": query.month,
        "by": query.by,
        "total": sum(r["count"] for r in rows),
        "rows": rows,
    }
