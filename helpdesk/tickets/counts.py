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
again from the tickets (writers wait for the rebuild, and on PostgreSQL readers of the counts
too; it reads the tickets once per kept table and writes each table in key order).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .models import Ticket


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


# The dashboard's period figures (migration 0013). What depends on the current time (late,
# overdue) is not kept: it is counted live over the unresolved tickets, which the partial index
# ix_tickets_unresolved_month holds.


class TicketDimensionCount(db.Model):
    """A month's tickets by channel, status, operator and satisfaction (``operator_key`` 0: no
    operator; ``satisfaction_key`` "": not asked), and how many were resolved the day they came
    in."""

    __tablename__ = "ticket_dimension_counts"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    operator_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    satisfaction_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, autoincrement=False)
    same_day: Mapped[int] = mapped_column(Integer, autoincrement=False)


class TicketUnitCategoryCount(db.Model):
    """A month's tickets by unit, category and satisfaction."""

    __tablename__ = "ticket_unit_category_counts"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    unit_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    satisfaction_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, autoincrement=False)


class TicketMinuteCount(db.Model):
    """A month's resolved and closed tickets by whole minutes from opening to resolution
    (a year or more: 525.600)."""

    __tablename__ = "ticket_minute_counts"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    minutes: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, autoincrement=False)


class _OnTime:
    """Resolved tickets (not merged, with a due time) of a month: on time or late."""

    on_time: Mapped[int] = mapped_column(Integer, autoincrement=False)
    late: Mapped[int] = mapped_column(Integer, autoincrement=False)


class TicketOnTimeCategory(_OnTime, db.Model):
    """A month's resolved tickets by category, on time or late."""

    __tablename__ = "ticket_on_time_categories"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class TicketOnTimeUnit(_OnTime, db.Model):
    """A month's resolved tickets by unit (the unit forwarded to, else the unit concerned;
    0: none), on time or late."""

    __tablename__ = "ticket_on_time_units"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    unit_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class TicketOnTimeOperator(_OnTime, db.Model):
    """A month's resolved tickets by operator (0: none), on time or late."""

    __tablename__ = "ticket_on_time_operators"

    month: Mapped[str] = mapped_column(String(12), primary_key=True)
    operator_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


MINUTES_CAP = 525_600


def _unit_key():
    return func.coalesce(Ticket.unit_id, literal_column("0"))


def _zero_if_null(column):
    return func.coalesce(column, literal_column("0"))


def _blank_if_null(column):
    return func.coalesce(column, literal_column("''"))


def _flag(condition):
    return func.sum(case((condition, 1), else_=0))


def minutes_expr():
    """Whole minutes from opening to resolution, on SQLite and PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        seconds = (func.julianday(Ticket.resolved_at) - func.julianday(Ticket.opened_at)) * 86400
        return cast(cast(seconds + 0.5, Integer) / 60.0, Integer)
    seconds = func.date_part("epoch", Ticket.resolved_at - Ticket.opened_at)
    return cast(func.floor(seconds / 60), Integer)


def _capped_minutes():
    low, high = (
        (func.min, func.max)
        if db.engine.dialect.name == "sqlite"
        else (
            func.least,
            func.greatest,
        )
    )
    return low(high(minutes_expr(), -MINUTES_CAP), MINUTES_CAP)


@dataclass(frozen=True)
class Kept:
    """A kept table: the ticket expressions of its key and of its values (in column order),
    and the condition a ticket meets to be counted (None: every ticket)."""

    model: type
    keys: object  # () -> tuple of expressions
    values: object = lambda: (func.count(),)  # noqa: E731
    where: object = None  # () -> condition


KEPT = (
    Kept(
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
    Kept(TicketTrendCount, lambda: (Ticket.opened_month, Ticket.audience, Ticket.category_id)),
    Kept(TicketUnitCount, lambda: (Ticket.opened_month, _unit_key())),
    Kept(
        TicketDimensionCount,
        lambda: (
            Ticket.opened_month,
            Ticket.channel,
            Ticket.status,
            _zero_if_null(Ticket.operator_id),
            _blank_if_null(Ticket.satisfaction),
        ),
        lambda: (
            func.count(),
            _flag(
                and_(
                    Ticket.resolved_at.is_not(None),
                    func.date(Ticket.resolved_at) == func.date(Ticket.opened_at),
                )
            ),
        ),
    ),
    Kept(
        TicketUnitCategoryCount,
        lambda: (
            Ticket.opened_month,
            _unit_key(),
            Ticket.category_id,
            _blank_if_null(Ticket.satisfaction),
        ),
    ),
    Kept(
        TicketMinuteCount,
        lambda: (Ticket.opened_month, _capped_minutes()),
        where=lambda: and_(
            Ticket.status.in_(("resolved", "closed")), Ticket.resolved_at.is_not(None)
        ),
    ),
    *(
        Kept(
            model,
            key,
            lambda: (
                _flag(Ticket.resolved_at <= Ticket.due_at),
                _flag(Ticket.resolved_at > Ticket.due_at),
            ),
            where=lambda: and_(
                Ticket.merged_into_id.is_(None),
                Ticket.due_at.is_not(None),
                Ticket.resolved_at.is_not(None),
            ),
        )
        for model, key in (
            (TicketOnTimeCategory, lambda: (Ticket.opened_month, Ticket.category_id)),
            (
                TicketOnTimeUnit,
                lambda: (
                    Ticket.opened_month,
                    func.coalesce(Ticket.forwarded_unit_id, Ticket.unit_id, literal_column("0")),
                ),
            ),
            (
                TicketOnTimeOperator,
                lambda: (Ticket.opened_month, _zero_if_null(Ticket.operator_id)),
            ),
        )
    ),
)


def _key_names(model) -> list[str]:
    return [c.name for c in model.__table__.primary_key.columns]


def _value_names(model) -> list[str]:
    return [c.name for c in model.__table__.columns if not c.primary_key]


def _fresh_counts(kept: Kept):
    """The kept table's rows as a GROUP BY over the tickets says them now (a select)."""
    keys = kept.keys()
    names = _key_names(kept.model) + _value_names(kept.model)
    columns = [*keys, *kept.values()]
    stmt = select(*[c.label(n) for c, n in zip(columns, names, strict=True)]).group_by(*keys)
    return stmt.where(kept.where()) if kept.where else stmt


def rebuild() -> int:
    """Make the kept counts again from the tickets, in the caller's transaction; the rows
    written.

    On PostgreSQL the tickets are locked against writes (SHARE) first, so no ticket changes
    between the count and the commit, and each kept table is emptied with TRUNCATE (readers of
    it wait for the commit too): the rows then go into a new file in key order, with no dead
    rows between them. SQLite's writer lock does the same from the DELETE on.
    """
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        db.session.execute(text("LOCK TABLE tickets IN SHARE MODE"))
    written = 0
    for kept in KEPT:
        model = kept.model
        if postgresql:
            db.session.execute(text(f"TRUNCATE {model.__tablename__}"))
        else:
            db.session.execute(delete(model))
        columns = _key_names(model) + _value_names(model)
        # In key order, so a month's rows lie together on disk: a quarter's dashboard then
        # reads a few hundred pages of a table, not one page per row (a hash GROUP BY returns
        # its groups in no order; at ten million tickets that was 7.000 pages for 32.000 rows).
        # (By the output names: the key expressions again would bind their constants anew.)
        fresh = _fresh_counts(kept).order_by(*_key_names(model))
        db.session.execute(insert(model).from_select(columns, fresh))
        written += db.session.scalar(select(func.count()).select_from(model)) or 0
    return written


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple
    stored: tuple
    counted: tuple


def differences() -> list[Difference]:
    """Every row where a kept count and a fresh count disagree (empty: they agree)."""
    found = []
    for kept in KEPT:
        model = kept.model
        width = len(_key_names(model))
        zero = (0,) * len(_value_names(model))
        fresh = {
            tuple(row[:width]): tuple(int(v or 0) for v in row[width:])
            for row in db.session.execute(_fresh_counts(kept)).all()
        }
        columns = [getattr(model, n) for n in _key_names(model) + _value_names(model)]
        stored = {
            tuple(row[:width]): tuple(int(v or 0) for v in row[width:])
            for row in db.session.execute(select(*columns)).all()
        }
        fresh = {k: v for k, v in fresh.items() if v != zero}
        stored = {k: v for k, v in stored.items() if v != zero}
        found += [
            Difference(model.__tablename__, k, stored.get(k, zero), fresh.get(k, zero))
            for k in sorted(set(fresh) | set(stored), key=repr)
            if stored.get(k, zero) != fresh.get(k, zero)
        ]
    return found
