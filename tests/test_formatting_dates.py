"""short_date formats with strftime for speed: the text must stay Babel's vi ``dd/MM/yyyy``."""

from datetime import date, datetime

from babel.dates import format_date, format_datetime
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.formatting import LOCALE, short_date

MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31))


@given(MOMENTS)
def test_short_date_of_a_datetime_is_babels_text(moment):
    assert short_date(moment) == format_datetime(moment, "dd/MM/yyyy HH:mm", locale=LOCALE)


@given(MOMENTS.map(lambda m: m.date()))
def test_short_date_of_a_date_is_babels_text(day):
    assert short_date(day) == format_date(day, "dd/MM/yyyy", locale=LOCALE)


def test_short_date_examples():
    assert short_date(datetime(2026, 7, 3, 9, 5, 59)) == "03/07/2026 09:05"
    assert short_date(date(2023, 12, 31)) == "31/12/2023"
    assert short_date(None) == ""
