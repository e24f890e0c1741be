"""Local time. The city has one time zone without DST; datetimes are stored as local time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_local() -> datetime:
    """Return the current local time, naive (stored as Asia/Ho_Chi_Minh wall time)."""
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def today_local() -> date:
    return now_local().date()


def month_of(value: date | datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def parse_month(value: str) -> tuple[int, int]:
    """Parse ``YYYY-MM`` into (year, month); raise ValueError otherwise."""
    text = (value or "").strip()
    if len(text) != 7 or text[4] != "-":
        raise ValueError(f"{value!r} is not a month (YYYY-MM)")
    year, month = int(text[:4]), int(text[5:])
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        raise ValueError(f"{value!r} is not a month (YYYY-MM)")
    return year, month


def previous_month(month: str) -> str:
    year, mon = parse_month(month)
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def next_month(month: str) -> str:
    year, mon = parse_month(month)
    return f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """Return [start, end) of the month as local datetimes."""
    year, mon = parse_month(month)
    ny, nm = (year + 1, 1) if mon == 12 else (year, mon + 1)  # 2100-12 ends in 2101
    return datetime(year, mon, 1), datetime(ny, nm, 1)
