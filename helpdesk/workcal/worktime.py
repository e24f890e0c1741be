"""Working time: the office hours of working days, as a 1022 hotline counts its deadlines.

A working day is Monday to Friday, unless it is a public holiday (the ``holidays`` package's
Vietnamese calendar) or an announced day off in the admins' table; a day the table marks as a
make-up working day (ngày làm bù) works whatever its weekday. Working hours are the periods of
``WORK_HOURS`` (``07:30-11:30,13:30-17:00`` by default), the same every working day.

All datetimes are naive local time (Asia/Ho_Chi_Minh), as stored. The arithmetic is pure:
a ``WorkCalendar`` holds the days off and make-up days it was given, nothing is read later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

DEFAULT_WORK_HOURS = "07:30-11:30,13:30-17:00"
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_work_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"07:30-11:30,13:30-17:00"`` as minutes of the day: ((450, 690), (810, 1020)).

    Raises ValueError for a malformed period, an empty one, or periods out of order.
    """
    periods: list[tuple[int, int]] = []
    for part in (text or "").split(","):
        match = _PERIOD.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not a period like 07:30-11:30")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{part.strip()!r} is not a time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        if periods and start < periods[-1][1]:
            raise ValueError(f"{part.strip()!r} overlaps or precedes the period before it")
        periods.append((start, end))
    return tuple(periods)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> dict[date, str]:
    """Vietnam's public holidays of ``year`` (the holidays package), with their names."""
    return dict(holidays.country_holidays("VN", years=year, language="vi").items())


def _day_index(day: date) -> int:
    return day.timetuple().tm_yday - 1


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minute)


@dataclass
class WorkCalendar:
    """Working days and hours. ``days_off``/``work_days``: the admins' table, day by day."""

    periods: tuple[tuple[int, int], ...] = field(
        default_factory=lambda: parse_work_hours(DEFAULT_WORK_HOURS)
    )
    days_off: frozenset[date] = frozenset()
    work_days: frozenset[date] = frozenset()

    @property
    def minutes_per_day(self) -> int:
        return sum(end - start for start, end in self.periods)

    def is_working_day(self, day: date) -> bool:
        if day in self.work_days:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5 and day not in public_holidays(day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        for _ in range(3660):  # ten years without a working day: a broken table, not a loop
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("no working day in ten years: check the calendar")

    def is_working_time(self, moment: datetime) -> bool:
        if not self.is_working_day(moment.date()):
            return False
        minute = moment.hour * 60 + moment.minute + moment.second / 60
        return any(start <= minute < end for start, end in self.periods)

    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` working minutes after ``start``.

        Time outside working hours does not count: a request logged on Friday evening with a
        60-minute target is due at 08:30 on the next working day. A deadline that falls on the
        end of a period is that end (17:00), not the start of the next one.
        """
        if minutes <= 0:
            return start
        remaining = timedelta(minutes=minutes)
        day = start.date()
        moment = start
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            moment = _at(day, self.periods[0][0])
        per_day = timedelta(minutes=self.minutes_per_day)
        while True:
            if moment.date() == day:
                for begin, end in self.periods:
                    period_start, period_end = _at(day, begin), _at(day, end)
                    if moment >= period_end:
                        continue
                    moment = max(moment, period_start)
                    available = period_end - moment
                    if remaining <= available:
                        return moment + remaining
                    remaining -= available
                    moment = period_end
            # The rest of this day is spent; whole working days go at once.
            day = self.next_working_day(day)
            while remaining > per_day:
                remaining -= per_day
                day = self.next_working_day(day)
            moment = _at(day, self.periods[0][0])

    def _within_day(self, day: date, start: datetime, end: datetime) -> timedelta:
        total = timedelta()
        if self.is_working_day(day):
            for begin, finish in self.periods:
                lo = max(start, _at(day, begin))
                hi = min(end, _at(day, finish))
                if hi > lo:
                    total += hi - lo
        return total

    def working_days(self, first: date, stop: date) -> int:
        """Working days from ``first`` up to ``stop`` (not counted). A running count is kept per
        year, so dates years apart cost a lookup per year, not a step per day."""
        if stop <= first:
            return 0
        if first.year == stop.year:
            counts = self._year_counts(first.year)
            return counts[_day_index(stop)] - counts[_day_index(first)]
        head = self._year_counts(first.year)
        total = head[-1] - head[_day_index(first)]
        for year in range(first.year + 1, stop.year):
            total += self._year_counts(year)[-1]
        return total + self._year_counts(stop.year)[_day_index(stop)]

    def _year_counts(self, year: int) -> list[int]:
        """counts[i]: working days of ``year`` before its day i (0-based); counts[-1]: all."""
        cache = self.__dict__.setdefault("_counts", {})
        if year not in cache:
            counts, n, day = [], 0, date(year, 1, 1)
            while day.year == year:
                counts.append(n)
                n += self.is_working_day(day)
                day += timedelta(days=1)
            counts.append(n)
            cache[year] = counts
        return cache[year]

    def between(self, start: datetime, end: datetime) -> int:
        """Working minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0
        first, last = start.date(), end.date()
        if first == last:
            total = self._within_day(first, start, end)
        else:
            total = self._within_day(first, start, end) + self._within_day(last, start, end)
            whole = self.working_days(first + timedelta(days=1), last)
            total += timedelta(minutes=whole * self.minutes_per_day)
        return int(total.total_seconds() // 60)

    def signed_between(self, start: datetime, end: datetime) -> int:
        """Working minutes from ``start`` to ``end``; negative when ``end`` is earlier."""
        return self.between(start, end) if end >= start else -self.between(end, start)


def expand_days(rows: Iterable[tuple[date, date, str]]) -> tuple[frozenset[date], frozenset[date]]:
    """The admins' ranges ``(start, end, kind)`` as days off and make-up working days."""
    off: set[date] = set()
    work: set[date] = set()
    for start, end, kind in rows:
        target = off if kind == "off" else work
        day = start
        while day <= end:
            target.add(day)
            day += timedelta(days=1)
    return frozenset(off), frozenset(work)
