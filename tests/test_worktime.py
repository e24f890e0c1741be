"""Working-time arithmetic: office hours, weekends, public holidays, Tết, make-up days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.workcal.worktime import WorkCalendar, expand_days, parse_work_hours

CAL = WorkCalendar()  # 07:30-11:30, 13:30-17:00: 450 minutes a day
DAY = 450


def test_default_hours_make_a_450_minute_day():
    assert CAL.periods == ((450, 690), (810, 1020))
    assert CAL.minutes_per_day == DAY


def test_friday_afternoon_runs_into_monday():
    friday = datetime(2026, 12, 4, 16, 0)  # a Friday
    assert CAL.add(friday, 60) == datetime(2026, 12, 4, 17, 0)  # ends with the day: 17:00
    assert CAL.add(friday, 90) == datetime(2026, 12, 7, 8, 0)  # Monday 07:30 + 30
    assert CAL.between(friday, datetime(2026, 12, 7, 8, 0)) == 90


def test_outside_hours_starts_at_the_next_period():
    assert CAL.add(datetime(2026, 12, 7, 6, 0), 30) == datetime(2026, 12, 7, 8, 0)
    assert CAL.add(datetime(2026, 12, 7, 12, 0), 30) == datetime(2026, 12, 7, 14, 0)  # lunch
    assert CAL.add(datetime(2026, 12, 7, 19, 0), 30) == datetime(2026, 12, 8, 8, 0)
    assert CAL.add(datetime(2026, 12, 5, 10, 0), 30) == datetime(2026, 12, 7, 8, 0)  # Saturday


def test_tet_2026_is_not_counted():
    """Tết Bính Ngọ: 14–22/02/2026 off (the law's 16–20 plus the weekends around them)."""
    opened = datetime(2026, 2, 13, 16, 0)  # Friday before Tết
    due = CAL.add(opened, DAY)  # one working day
    assert due == datetime(2026, 2, 23, 16, 0)  # 60 minutes on Friday, 390 on Monday 23/2
    for day in range(14, 23):
        assert not CAL.is_working_day(date(2026, 2, day))
    assert CAL.between(datetime(2026, 2, 14), datetime(2026, 2, 23)) == 0


def test_announced_days_off_and_make_up_days():
    off, work = expand_days(
        [
            (date(2026, 1, 2), date(2026, 1, 2), "off"),
            (date(2026, 1, 10), date(2026, 1, 10), "work"),
        ]
    )
    cal = WorkCalendar(days_off=off, work_days=work)
    assert not cal.is_working_day(date(2026, 1, 2))  # a Friday given off
    assert cal.is_working_day(date(2026, 1, 10))  # a Saturday worked to make it up
    # 60 minutes on Wednesday 31/12; then New Year's Day, the Friday off and the weekend.
    assert cal.add(datetime(2025, 12, 31, 16, 0), 120) == datetime(2026, 1, 5, 8, 30)
    assert cal.add(datetime(2026, 1, 9, 16, 0), 120) == datetime(2026, 1, 10, 8, 30)


def test_a_make_up_day_beats_a_public_holiday_only_when_announced():
    holiday = date(2026, 9, 2)  # National Day
    assert not CAL.is_working_day(holiday)
    assert WorkCalendar(work_days=frozenset({holiday})).is_working_day(holiday)


@pytest.mark.parametrize(
    "text",
    ["", "7:30", "07:30-07:00", "08:00-12:00,11:00-13:00", "25:00-26:00", "08:00-12:60", "a-b"],
)
def test_malformed_working_hours_are_refused(text):
    with pytest.raises(ValueError):
        parse_work_hours(text)


def test_signed_between_is_negative_when_late():
    due = datetime(2026, 12, 7, 9, 0)
    assert CAL.signed_between(datetime(2026, 12, 7, 10, 0), due) == -60
    assert CAL.signed_between(datetime(2026, 12, 7, 8, 0), due) == 60


moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
minutes = st.integers(min_value=1, max_value=30 * DAY)
calendars = st.sets(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 6, 30)), max_size=20
).flatmap(
    lambda days: (
        st.sets(st.sampled_from(sorted(days)), max_size=len(days)).map(
            lambda work: WorkCalendar(days_off=frozenset(days - work), work_days=frozenset(work))
        )
        if days
        else st.just(CAL)
    )
)


@settings(max_examples=300, deadline=None)
@given(calendars, moments, minutes)
def test_the_minutes_added_are_the_minutes_between(cal, start, m):
    due = cal.add(start, m)
    assert due > start
    assert cal.between(start, due) == m


@settings(max_examples=300, deadline=None)
@given(calendars, moments, minutes)
def test_a_due_time_is_inside_working_hours_or_at_a_period_end(cal, start, m):
    due = cal.add(start, m)
    just_before = due - timedelta(minutes=1)
    assert cal.is_working_time(just_before)
    assert cal.is_working_day(due.date())


@settings(max_examples=200, deadline=None)
@given(calendars, moments, minutes, minutes)
def test_adding_in_two_steps_is_adding_once(cal, start, m1, m2):
    assert cal.add(cal.add(start, m1), m2) == cal.add(start, m1 + m2)


@settings(max_examples=200, deadline=None)
@given(calendars, moments, moments)
def test_between_splits_at_any_point(cal, a, b):
    lo, hi = min(a, b), max(a, b)
    middle = lo + (hi - lo) / 2
    middle = middle.replace(second=0, microsecond=0)
    total = cal.between(lo, hi)
    assert total == cal.between(lo, middle) + cal.between(middle, hi)
    assert total <= ((hi.date() - lo.date()).days + 1) * DAY


@settings(max_examples=100, deadline=None)
@given(calendars, st.dates(date(2023, 1, 1), date(2027, 12, 31)), st.integers(0, 900))
def test_working_days_over_years_counts_day_by_day(cal, first, span):
    stop = first + timedelta(days=span)
    by_day = sum(cal.is_working_day(first + timedelta(days=n)) for n in range(span))
    assert cal.working_days(first, stop) == by_day
