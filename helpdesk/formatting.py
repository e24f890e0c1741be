"""Vietnamese number and date formats (Babel, locale ``vi``)."""

from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_decimal

LOCALE = "vi_VN"


def number(value: int | float | None, default: str = "") -> str:
    """``88904`` -> ``88.904``."""
    if value is None:
        return default
    return format_decimal(value, format="#,##0", locale=LOCALE)


def percent(numerator: int | None, denominator: int | None, default: str = "") -> str:
    """Two decimals with a comma: ``92,53%``."""
    if numerator is None or not denominator:
        return default
    value = round(numerator * 100 / denominator, 2)
    return format_decimal(value, format="0.00", locale=LOCALE) + "%"


def count2(value: int) -> str:
    """A count with a leading zero under 10, as the seed report writes unit counts: ``05``."""
    return f"{value:02d}" if 0 <= value < 10 else number(value)


def short_date(value: date | datetime | None) -> str:
    """``03/07/2026 09:05`` (or ``03/07/2026`` for a date).

    All digits, so strftime gives Babel's ``dd/MM/yyyy HH:mm`` text five times faster; a list
    page formats a hundred dates.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def report_date(value: date) -> str:
    """``22/9/2023``, ``01/7/2025``: day under 10 and months 1, 2 padded, as official texts do."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"{value.day:02d}/{month}/{value.year}"
