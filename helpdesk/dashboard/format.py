"""How the dashboard writes its figures in Vietnamese: changes, rates, durations, periods."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from .. import formatting
from ..formatting import percent
from ..periods import ReportPeriod
from ..timeutil import next_month, parse_month

MINUS = "\u2212"  # a real minus sign: a hyphen would read as a dash

# formatting.number (Babel) costs ~20 µs a call and a month page formats ~1.000 numbers, most of
# them small and repeated: remember them.
number = lru_cache(maxsize=8192)(formatting.number)


def num(value: int | None, default: str = "") -> str:
    return default if value is None else number(value)


def link(url: str | None, text: str) -> Markup:
    """``<a href=url>text</a>``, or the bare text when there is no list to link to."""
    if url is None:
        return escape(text)
    return Markup('<a href="%s">%s</a>') % (url, text)


def month_label(month: str) -> str:
    """``2023-09`` -> ``tháng 9/2023``."""
    year, mon = parse_month(month)
    return f"tháng {mon}/{year}"


def month_short(month: str) -> str:
    """``2023-09`` -> ``9/2023`` (chart axes, table headers)."""
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def title(text: str) -> str:
    """The first letter in capitals, the rest untouched (``Quý III/2025``; Jinja's
    ``capitalize`` would write ``Quý iii/2025``)."""
    return text[:1].upper() + text[1:]


def period_short(period: ReportPeriod) -> str:
    """A column heading: ``9/2023`` for a month, ``Quý III/2025``, ``Năm 2025`` otherwise."""
    if len(period.months) == 1:
        return month_short(period.months[0])
    return title(period.label)


def months_phrase(months) -> str:
    """``tháng 9/2025``; ``các tháng 8/2025, 9/2025``; three or more months in a row as a
    range: ``các tháng 1/2025–6/2025, 9/2025``."""
    months = sorted(months)
    if len(months) == 1:
        return month_label(months[0])
    runs: list[list[str]] = []
    for m in months:
        if runs and next_month(runs[-1][-1]) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{month_short(run[0])}–{month_short(run[-1])}")
        else:
            parts += [month_short(m) for m in run]
    return "các tháng " + ", ".join(parts)


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
    """Tickets per 1.000 dossiers with two decimals: ``2,27``; ``—`` when not computable.

    The Vietnamese pattern ``#,##0.00`` (``.`` groups, ``,`` decimals) written directly: Babel
    takes ~50 µs a call and the page has a rate per unit.
    """
    if value is None:
        return "—"
    text = f"{round(value, 2):,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


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
