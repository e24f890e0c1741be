"""Ticket services: references, creation, changes. They flush; views commit."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import TicketCounter


def next_ref(month: str) -> str:
    """Give the next readable reference of a month: ``HT-2309-0042``.

    The counter row is incremented in SQL, so concurrent requests never get the same number.
    """
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.month == month)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    last = db.session.scalar(stmt)
    if last is None:
        try:
            with db.session.begin_nested():
                db.session.add(TicketCounter(month=month, last=1))
            last = 1
        except IntegrityError:
            last = db.session.scalar(stmt)
    return f"HT-{month[2:4]}{month[5:7]}-{last:04d}"


def counter_value(month: str) -> int:
    return db.session.scalar(select(TicketCounter.last).where(TicketCounter.month == month)) or 0
