"""Which tickets a user may see: one rule for the pages, the exports and the API.

Operators, supervisors and admins see every ticket. (Unit staff, bound to units, will see only
the tickets forwarded to their units: the service-levels work fills that rule in here.)
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement

from ..auth.models import User
from .models import Ticket


def ticket_scope(user: User) -> ColumnElement[bool] | None:
    """A condition on ``Ticket`` limiting what ``user`` may see, or None for every ticket."""
    return None


def scoped(stmt: Select, user: User) -> Select:
    """``stmt`` limited to the tickets ``user`` may see."""
    condition = ticket_scope(user)
    return stmt if condition is None else stmt.where(condition)


def can_see(user: User, ticket: Ticket) -> bool:
    """True if ``user`` may open ``ticket`` (its page, its API record, its timeline)."""
    return ticket_scope(user) is None
