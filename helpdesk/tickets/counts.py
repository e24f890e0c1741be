"""Ticket counts kept per month, unit, category, channel, status and audience.

``ticket_counts`` holds one row per combination that has (or had) tickets, with how many. The
database keeps it up to date itself, in the same transaction as the ticket: triggers on
``tickets`` (migration 0012) add one on an insert, take one away on a delete, and move one from
the old combination to the new when an update changes any of the six. No code path can forget
it (imports, the API, retention's bulk updates, a hand-written UPDATE), and a rolled-back
change leaves it as it was.

What reads it: the dashboard's trend (24 months by audience and category, and the 12 months by
unit level) and the API's ``counts`` for the dimensions it holds. A month of a large desk has
far fewer combinations than tickets, so these read a few thousand rows where a count would
read every ticket of the months.

``flask counts check`` compares it with a fresh count; ``flask counts rebuild`` makes it again
from the tickets (PostgreSQL: writers wait for the rebuild; it reads the table once).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, delete, func, insert, literal_column, select, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .models import Ticket

# The key, in the order of the primary key (month first: every read is by months).
KEY = ("month", "category_id", "unit_key", "channel", "status", "audience")


class TicketCount(db.Model):
    """How many tickets have this month, unit, category, channel, status and audience.

    ``unit_key`` is the ticket's unit id, 0 for a ticket without a unit (a key column cannot be
    null). A row whose tickets all moved elsewhere stays with 0 until the next rebuild.
    """

    __tablename__ = "ticket_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    unit_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    audience: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


def _fresh_counts():
    """The counts as a GROUP BY over the tickets says them now (a select)."""
    unit_key = func.coalesce(Ticket.unit_id, literal_column("0"))
    keys = (
        Ticket.opened_month,
        Ticket.category_id,
        unit_key,
        Ticket.channel,
        Ticket.status,
        Ticket.audience,
    )
    labelled = [column.label(name) for column, name in zip(keys, KEY, strict=True)]
    return select(*labelled, func.count().label("n")).group_by(*keys)


def rebuild() -> int:
    """Make the counts again from the tickets, in the caller's transaction; the rows written.

    On PostgreSQL the tickets are locked against writes (SHARE) first, so no ticket changes
    between the count and the commit; SQLite's writer lock does the same from the DELETE on.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE tickets IN SHARE MODE"))
    db.session.execute(delete(TicketCount))
    fresh = _fresh_counts()
    db.session.execute(insert(TicketCount).from_select(list(KEY) + ["n"], fresh))
    return db.session.scalar(select(func.count()).select_from(TicketCount)) or 0


@dataclass(frozen=True)
class Difference:
    key: tuple
    stored: int
    counted: int


def differences() -> list[Difference]:
    """Every combination where the kept count and a fresh count disagree (empty: they agree)."""
    fresh = {tuple(row[:-1]): row[-1] for row in db.session.execute(_fresh_counts()).all()}
    columns = [getattr(TicketCount, k) for k in KEY]
    stored = {
        tuple(row[:-1]): row[-1]
        for row in db.session.execute(select(*columns, TicketCount.n).where(TicketCount.n != 0))
    }
    return [
        Difference(key, stored.get(key, 0), fresh.get(key, 0))
        for key in sorted(set(fresh) | set(stored))
        if stored.get(key, 0) != fresh.get(key, 0)
    ]
