"""How the dashboard writes its figures in Vietnamese: changes, rates, durations, months."""

from __future__ import annotations

from babel.numbers import format_decimal

from ..formatting import LOCALE, number, percent
from ..timeutil import parse_month

MINUS = "\u2212"  # a real minus sign: a hyphen would read as a dash


def month_label(month: str) -> str:
    """``2023-09`` -> ``tháng 9/2023``."""
    year, mon = parse_month(month)
    return f"tháng {mon}/{year}"


def month_short(month: str) -> str:
    """``2023-09`` -> ``9/2023`` (chart axes, table headers)."""
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def change(value: int) -> str:
    """``+3``, ``−4``, ``0``."""
    if value > 0:
        return "+" + number(value)
    if value < 0:
        return MINUS + number(-value)
    return "0"


def change_pct(now: int, before: int) -> str:
    """The relative change, ``+12,50%``; empty when there is nothing to compare with."""
    if not before:
        return ""
    text = percent(abs(now - before), before)
    return ("+" if now > before else MINUS if now < before else "") + text


def share(part: int, whole: int) -> str:
    return percent(part, whole)


def rate(value: float | None) -> str:
    """Tickets per 1.000 dossiers with two decimals: ``2,27``; ``—`` when not computable."""
    if value is None:
        return "—"
    return format_decimal(round(value, 2), format="#,##0.00", locale=LOCALE)


def duration(minutes: float | None) -> str:
    """``45 phút``, ``1 giờ 29 phút``, ``2 ngày 3 giờ``; ``—`` when there is none."""
    if minutes is None:
        return "—"
    total = int(round(minutes))
    if total < 60:
        return f"{total} phút"
    if total < 1440:
        hours, mins = divmod(total, 60)
        return f"{hours} giờ {mins} phút" if mins else f"{hours} giờ"
    days, rest = divmod(total, 1440)
    hours = round(rest / 60)
    if hours == 24:
        days, hours = days + 1, 0
    return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
