"""Reporting periods: a month, a quarter, six months, nine months or a year.

``ReportPeriod.parse`` reads the codes of the command line and the pages (``2026-09``,
``2026-Q3``, ``2026-H1``, ``2026-H2``, ``2026-9M``, ``2026``) and says the period in the official
words (``tháng 9/2026``, ``quý III/2026``, ``6 tháng đầu năm 2026``, ``9 tháng năm 2026``,
``năm 2026``). A period is a run of whole months; comparisons are with the run of equal length
just before it, and with the same period of the year before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .timeutil import next_month, parse_month, previous_month

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
KINDS = ("month", "quarter", "half", "nine", "year")
KIND_LABELS = {
    "month": "Tháng",
    "quarter": "Quý",
    "half": "6 tháng",
    "nine": "9 tháng",
    "year": "Năm",
}
# The part of a year a period covers, as a form chooses it: the code's tail after the year
# (``2026-`` + ``Q3``; the whole year has none), grouped by kind, with its words.
PARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Tháng", tuple((f"{m:02d}", f"Tháng {m}") for m in range(1, 13))),
    ("Quý", tuple((f"Q{q}", f"Quý {ROMAN[q]}") for q in range(1, 5))),
    ("6 tháng", (("H1", "6 tháng đầu năm"), ("H2", "6 tháng cuối năm"))),
    ("9 tháng", (("9M", "9 tháng"),)),
    ("Năm", (("", "Cả năm"),)),
)
_CODE = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4])|-H([12])|-(9M))?$", re.IGNORECASE | re.ASCII)


class PeriodError(ValueError):
    """Not a period code; the message is for the person who typed it."""


@dataclass(frozen=True)
class ReportPeriod:
    kind: str
    year: int
    # The period's months, YYYY-MM, in order.
    months: tuple[str, ...]
    index: int = 0  # month number, quarter number or half number

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> ReportPeriod:
        value = (text or "").strip()
        match = _CODE.match(value)
        if not match:
            raise PeriodError(
                f"“{value}” không phải kỳ báo cáo; dùng YYYY-MM (tháng), YYYY-Q1..Q4 (quý), "
                "YYYY-H1/H2 (6 tháng), YYYY-9M (9 tháng) hoặc YYYY (năm)"
            )
        year = int(match.group(1))
        if not 2000 <= year <= 2100:
            raise PeriodError(f"năm {year} nằm ngoài 2000–2100")
        month, quarter, half, nine = match.group(2, 3, 4, 5)
        if month:
            if not 1 <= int(month) <= 12:
                raise PeriodError(f"“{value}”: tháng phải từ 01 đến 12")
            return cls.of_month(f"{year:04d}-{month}")
        if quarter:
            q = int(quarter)
            return cls("quarter", year, _span(year, 3 * q - 2, 3), q)
        if half:
            h = int(half)
            return cls("half", year, _span(year, 1 if h == 1 else 7, 6), h)
        if nine:
            return cls("nine", year, _span(year, 1, 9))
        return cls("year", year, _span(year, 1, 12))

    @classmethod
    def of_month(cls, month: str) -> ReportPeriod:
        year, mon = parse_month(month)
        return cls("month", year, (f"{year:04d}-{mon:02d}",), mon)

    # -- what it is --------------------------------------------------------------------------

    @property
    def code(self) -> str:
        return {
            "month": self.months[0],
            "quarter": f"{self.year}-Q{self.index}",
            "half": f"{self.year}-H{self.index}",
            "nine": f"{self.year}-9M",
            "year": f"{self.year}",
        }.get(self.kind) or _span_code(self.months)

    @property
    def is_month(self) -> bool:
        return self.kind == "month"

    @property
    def first_day(self) -> date:
        year, mon = parse_month(self.months[0])
        return date(year, mon, 1)

    @property
    def last_day(self) -> date:
        year, mon = parse_month(next_month(self.months[-1]))
        return date(year, mon, 1) - timedelta(days=1)

    @property
    def label(self) -> str:
        """The period in the official words, as a title or a sentence writes it."""
        if self.kind == "month":
            return f"tháng {self.index}/{self.year}"
        if self.kind == "quarter":
            return f"quý {ROMAN[self.index]}/{self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.index == 1 else 'cuối'} năm {self.year}"
        if self.kind == "nine":
            return f"9 tháng năm {self.year}"
        if self.kind == "year":
            return f"năm {self.year}"
        return f"giai đoạn {_short(self.months[0])}–{_short(self.months[-1])}"

    @property
    def title(self) -> str:
        """The label at the start of a sentence or a heading: ``Quý III/2026``, ``Năm 2026``."""
        label = self.label
        return label[:1].upper() + label[1:]

    @property
    def kind_label(self) -> str:
        """What kind of period it is, for lists: ``Tháng``, ``Quý``, ``6 tháng``."""
        return KIND_LABELS.get(self.kind, "Giai đoạn")

    @property
    def sort_key(self) -> tuple[date, int]:
        """Newest last: by the last day, then the longer period after the shorter."""
        return (self.last_day, len(self.months))

    def contains(self, month: str) -> bool:
        return month in self.months

    @property
    def same_period_label(self) -> str:
        """``cùng kỳ năm 2025``: the same period of the year before, in a comparison."""
        return f"cùng kỳ năm {self.year - 1}"

    # -- comparisons -------------------------------------------------------------------------

    def previous(self) -> ReportPeriod:
        """The run of months of equal length just before this period."""
        if self.kind == "month":
            return ReportPeriod.of_month(previous_month(self.months[0]))
        if self.kind == "quarter":
            if self.index == 1:
                return ReportPeriod("quarter", self.year - 1, _span(self.year - 1, 10, 3), 4)
            return ReportPeriod.parse(f"{self.year}-Q{self.index - 1}")
        if self.kind == "half":
            if self.index == 1:
                return ReportPeriod.parse(f"{self.year - 1}-H2")
            return ReportPeriod.parse(f"{self.year}-H1")
        if self.kind == "year":
            return ReportPeriod.parse(f"{self.year - 1}")
        months = [previous_month(self.months[0])]
        while len(months) < len(self.months):
            months.insert(0, previous_month(months[0]))
        year, _ = parse_month(months[-1])
        return ReportPeriod("span", year, tuple(months))

    def same_period_last_year(self) -> ReportPeriod:
        months = tuple(f"{int(m[:4]) - 1:04d}{m[4:]}" for m in self.months)
        return ReportPeriod(self.kind, self.year - 1, months, self.index)

    def is_future(self, today: date) -> bool:
        """True if the period has not started yet."""
        return self.first_day > today

    def __str__(self) -> str:
        return self.code


def code_of(year: int | str, part: str) -> str:
    """The code of a year's part as a form chooses it: ``(2026, "Q3")`` -> ``2026-Q3``,
    ``(2026, "")`` -> ``2026``. Not checked: ``ReportPeriod.parse`` does that."""
    year_text = str(year).strip()
    part_text = (part or "").strip()
    return f"{year_text}-{part_text}" if part_text else year_text


def periods_of_year(year: int) -> tuple[ReportPeriod, ...]:
    """Every period of a year longer than a month, the whole year first, quarters last."""
    codes = [f"{year}", f"{year}-9M", f"{year}-H2", f"{year}-H1"]
    codes += [f"{year}-Q{q}" for q in (4, 3, 2, 1)]
    return tuple(ReportPeriod.parse(code) for code in codes)


def _span(year: int, first_month: int, count: int) -> tuple[str, ...]:
    return tuple(f"{year:04d}-{m:02d}" for m in range(first_month, first_month + count))


def _short(month: str) -> str:
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def _span_code(months: tuple[str, ...]) -> str:
    return f"{months[0]}..{months[-1]}"


def first_working_day_after(period: ReportPeriod) -> date:
    """The default date of a period's report: the first working day after it ends."""
    from .tickets.duedates import add_working_days

    return add_working_days(period.last_day, 1)
