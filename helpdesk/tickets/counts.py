"""Ticket counts the database keeps: per month, unit, category, channel, status and audience,
and two narrower roll-ups of them for the history charts.

- ``ticket_counts``: one row per month, category, unit, channel, status and audience that has
  (or had) tickets, with how many. The API's ``counts`` reads it.
- ``ticket_trend_counts``: per month, audience and category (a few dozen rows a month): the
  dashboard's 24-month trend and its period totals.
- ``ticket_unit_counts``: per month and unit (a few hundred rows a month): the trend by level.

The database keeps all three up to date itself, in the same transaction as the ticket: triggers
on ``tickets`` (migration 0012) add one on an insert, take one away on a delete, and move one
from the old row to the new when an update changes a column of its key. No code path can forget
them (imports, the API, retention's bulk updates, a hand-written UPDATE), and a rolled-back
change leaves them as they were. On PostgreSQL a change takes its rows table by table, in key
order, so two tickets moving in opposite directions at once wait for each other instead of
deadlocking.

``flask counts check`` compares them with a fresh count; ``flask counts rebuild`` makes them
again from the tickets (PostgreSQL: writers wait for the rebuild; it reads the table once).
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


class TicketTrendCount(db.Model):
    """How many tickets a month has of an audience and category."""

    __tablename__ = "ticket_trend_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    audience: Mapped[str] = mapped_column(String(10), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class TicketUnitCount(db.Model):
    """How many tickets a month has of a unit (``unit_key`` 0: without a unit)."""

    __tablename__ = "ticket_unit_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    unit_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


def _unit_key():
    return func.coalesce(Ticket.unit_id, literal_column("0"))


# Each kept table with the ticket columns of its key, in the order of its key.
KEPT = (
    (
        TicketCount,
        lambda: (
            Ticket.opened_month,
            Ticket.category_id,
            _unit_key(),
            Ticket.channel,
            Ticket.status,
            Ticket.audience,
        ),
    ),
    (TicketTrendCount, lambda: (Ticket.opened_month, Ticket.audience, Ticket.category_id)),
    (TicketUnitCount, lambda: (Ticket.opened_month, _unit_key())),
)


def _key_names(model) -> list[str]:
    return [c.name for c in model.__table__.primary_key.columns]


def _fresh_counts(model, columns):
    """The counts of ``model`` as a GROUP BY over the tickets says them now (a select)."""
    keys = columns()
    names = _key_names(model)
    labelled = [column.label(name) for column, name in zip(keys, names, strict=True)]
    return select(*labelled, func.count().label("n")).group_by(*keys)


def rebuild() -> int:
    """Make the kept counts again from the tickets, in the caller's transaction; the rows
    written.

    On PostgreSQL the tickets are locked against writes (SHARE) first, so no ticket changes
    between the count and the commit; SQLite's writer lock does the same from the DELETE on.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE tickets IN SHARE MODE"))
    written = 0
    for model, columns in KEPT:
        db.session.execute(delete(model))
        fresh = _fresh_counts(model, columns)
        db.session.execute(insert(model).from_select([*_key_names(model), "n"], fresh))
        written += db.session.scalar(select(func.count()).select_from(model)) or 0
    return written


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple
    stored: int
    counted: int


def differences() -> list[Difference]:
    """Every row where a kept count and a fresh count disagree (empty: they agree)."""
    found = []
    for model, columns in KEPT:
        fresh = {
            tuple(row[:-1]): row[-1]
            for row in db.session.execute(_fresh_counts(model, columns)).all()
        }
        key = [getattr(model, name) for name in _key_names(model)]
        stored = {
            tuple(row[:-1]): row[-1]
            for row in db.session.execute(select(*key, model.n).where(model.n != 0))
        }
        found += [
            Difference(model.__tablename__, k, stored.get(k, 0), fresh.get(k, 0))
            for k in sorted(set(fresh) | set(stored))
            if stored.get(k, 0) != fresh.get(k, 0)
        ]
    return found
