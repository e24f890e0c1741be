"""Counts of a month's tickets by one dimension: the dashboard's numbers (the same conditions)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..extensions import db
from ..tickets.counts import TicketCount
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
from ..tickets.visibility import scoped, ticket_scope
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


KEPT = {  # dimensions the kept counts hold (tickets.counts): read there, not from the tickets
    "channel": TicketCount.channel,
    "status": TicketCount.status,
    "audience": TicketCount.audience,
    "category": TicketCount.category_id,
    "unit": TicketCount.unit_key,
}


TICKET_COLUMN = {"unit": "unit_id", "operator": "operator_id", "category": "category_id"}


def _counted(by: str, month: str, where: list, user: User) -> list[tuple]:
    """(key, tickets) of the month by one dimension, largest first for unit and operator."""
    column = KEPT.get(by)
    if column is not None and ticket_scope(user) is None:
        n = func.sum(TicketCount.n)
        stmt = (
            select(column, n)
            .where(TicketCount.month == month)
            .group_by(column)
            .having(n != 0)
            .order_by(n.desc(), column)
        )
        rows = db.session.execute(stmt).all()
        if by == "unit":
            return [(key or None, int(count)) for key, count in rows]
        return [(key, int(count)) for key, count in rows]
    column = getattr(Ticket, TICKET_COLUMN.get(by, by))
    stmt = (
        select(column, func.count(Ticket.id))
        .where(*where)
        .group_by(column)
        .order_by(func.count(Ticket.id).desc(), column)
    )
    return [tuple(row) for row in db.session.execute(scoped(stmt, user)).all()]


def _rows(by: str, month: str, where: list, user: User) -> list[dict]:
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
        labels = {
            "channel": CHANNEL_LABELS,
            "status": STATUS_LABELS,
            "audience": AUDIENCE_LABELS,
            "satisfaction": SATISFACTION_LABELS,
        }[by]
        counted = dict(_counted(by, month, where, user))
        order = [*labels, None]  # "not asked" (null) last

        def rank(key):
            return (order.index(key) if key in order else 99, key or "")

        return [
            {"key": k, "label": labels.get(k) or NONE_LABELS.get(by, k), "count": counted[k]}
            for k in sorted(counted, key=rank)
        ]
    if by == "category":
        counted = dict(_counted(by, month, where, user))
        categories = db.session.execute(
            select(Category.id, Category.code, Category.label)
            .where(Category.id.in_(list(counted)))
            .order_by(Category.audience.desc(), Category.position, Category.code)
        ).all()
        return [
            {"key": code, "label": label, "count": counted[category_id]}
            for category_id, code, label in categories
        ]
    counted = _counted(by, month, where, user)
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
    rows = _rows(query.by, query.month, where, user)
    return {
        "month": query.month,
        "by": query.by,
        "total": sum(r["count"] for r in rows),
        "rows": rows,
    }
