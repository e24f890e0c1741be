"""Whole working days (a report's date): the working calendar's days, hours aside."""

from __future__ import annotations

from datetime import date

from ..workcal.services import current_calendar


def is_working_day(day: date) -> bool:
    return current_calendar().is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    """Return the date ``days`` working days after ``start`` (``start`` itself not counted)."""
    calendar = current_calendar()
    current = start
    for _ in range(max(days, 0)):
        current = calendar.next_working_day(current)
    return current
