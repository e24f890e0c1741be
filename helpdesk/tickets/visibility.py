"""Which tickets a user may see: one rule for the pages, the exports and the API.

Operators, supervisors and admins see every ticket. Unit staff (cán bộ đơn vị), bound to one
or more units, see only the tickets forwarded to their units.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.sql.elements import ColumnElement

from ..auth.models import User, UserUnit
from ..extensions import db
from .models import Ticket


def unit_ids_of(user: User) -> list[int]:
    return list(db.session.scalars(select(UserUnit.unit_id).where(UserUnit.user_id == user.id)))


def ticket_scope(user: User) -> ColumnElement[bool] | None:
    """A condition on ``Ticket`` limiting what ``user`` may see, or None for every ticket."""
    if user.has_role("operator"):
        return None
    if user.role == "unit_staff":
        units = select(UserUnit.unit_id).where(UserUnit.user_id == user.id)
        return Ticket.forwarded_unit_id.in_(units)
    return false()


def scoped(stmt: Select, user: User) -> Select:
    """``stmt`` limited to the tickets ``user`` may see."""
    condition = ticket_scope(user)
    return stmt if condition is None else stmt.where(condition)


def can_see(user: User, ticket: Ticket) -> bool:
    """True if ``user`` may open ``ticket`` (its page, its API record, its timeline)."""
    if user.has_role("operator"):
        return True
    if user.role == "unit_staff" and ticket.forwarded_unit_id is not None:
        return ticket.forwarded_unit_id in unit_ids_of(user)
    return False
