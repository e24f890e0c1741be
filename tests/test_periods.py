"""Reporting periods: codes, official words, comparisons and the default report date."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.periods import PeriodError, ReportPeriod, first_working_day_after


@pytest.mark.parametrize(
    ("code", "label", "first", "last", "count"),
    [
        ("2023-09", "tháng 9/2023", date(2023, 9, 1), date(2023, 9, 30), 1),
        ("2026-Q3", "quý III/2026", date(2026, 7, 1), date(2026, 9, 30), 3),
        ("2026-q1", "quý I/2026", date(2026, 1, 1), date(2026, 3, 31), 3),
        ("2026-H1", "6 tháng đầu năm 2026", date(2026, 1, 1), date(2026, 6, 30), 6),
        ("2026-H2", "6 tháng cuối năm 2026", date(2026, 7, 1), date(2026, 12, 31), 6),
        ("2026-9M", "9 tháng năm 2026", date(2026, 1, 1), date(2026, 9, 30), 9),
        ("2024", "năm 2024", date(2024, 1, 1), date(2024, 12, 31), 12),
    ],
)
def test_codes_and_official_words(code, label, first, last, count):
    period = ReportPeriod.parse(code)
    assert period.label == label
    assert (period.first_day, period.last_day) == (first, last)
    assert len(period.months) == count
    assert ReportPeriod.parse(period.code) == period


@pytest.mark.parametrize(
    ("code", "previous", "previous_label"),
    [
        ("2026-01", "2025-12", "tháng 12/2025"),
        ("2026-Q1", "2025-Q4", "quý IV/2025"),
        ("2026-Q3", "2026-Q2", "quý II/2026"),
        ("2026-H1", "2025-H2", "6 tháng cuối năm 2025"),
        ("2026-H2", "2026-H1", "6 tháng đầu năm 2026"),
        ("2026", "2025", "năm 2025"),
        ("2026-9M", "2025-04..2025-12", "giai đoạn 4/2025–12/2025"),
    ],
)
def test_the_previous_period_has_equal_length(code, previous, previous_label):
    period = ReportPeriod.parse(code)
    before = period.previous()
    assert before.code == previous
    assert before.label == previous_label
    assert len(before.months) == len(period.months)
    assert before.last_day.toordinal() + 1 == period.first_day.toordinal()


def test_same_period_of_the_year_before():
    period = ReportPeriod.parse("2026-Q3")
    last_year = period.same_period_last_year()
    assert last_year.code == "2025-Q3"
    assert last_year.months == ("2025-07", "2025-08", "2025-09")
    assert period.same_period_label == "cùng kỳ năm 2025"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "2026-13",
        "2026-Q5",
        "2026-H3",
        "26-01",
        "2026-9m-x",
        "1999",
        "2026/09",
        "²⁰²⁶",
        "٢٠٢٦-Q1",
    ],
)
def test_malformed_codes_are_refused_with_a_message(bad):
    with pytest.raises(PeriodError):
        ReportPeriod.parse(bad)


def test_future_and_default_date():
    period = ReportPeriod.parse("2025-Q3")
    assert not period.is_future(date(2025, 7, 1))
    assert period.is_future(date(2025, 6, 30))
    # 30/9/2025 is a Tuesday: the report is dated the next working day.
    assert first_working_day_after(period) == date(2025, 10, 1)
    # 31/12/2025 is a Wednesday; 1/1/2026 is New Year's Day.
    assert first_working_day_after(ReportPeriod.parse("2025")) == date(2026, 1, 2)


@given(st.text(max_size=12))
def test_parse_never_fails_otherwise(text):
    try:
        period = ReportPeriod.parse(text)
    except PeriodError:
        return
    assert period.months and period.first_day <= period.last_day
