"""Due dates in working days: weekends and Vietnamese public holidays do not count."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """Return the date ``days`` working days after ``start`` (``start`` itself not counted)."""
    current = start
    remaining = max(days, 0)
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
