"""Which units exist when: the one place that answers "which units, in which levels, in this month".

A unit exists in a period when it exists on at least one of its days. Every month-scoped page and
figure (statistics, their template and checks, the report, the dashboard, the ticket list's
filters and quick entry) asks ``units_in`` or uses ``exists_during``; a level with no unit in the
period is left out entirely.

Codes are reused over time, so a code is resolved on a day (``CodeIndex.on``) or in a month
(``CodeIndex.in_month``); both say, when nothing matches, when the unit with that code ended and
which units succeeded it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, case, or_, select

from ..extensions import db
from ..formatting import report_date
from ..timeutil import next_month, parse_month
from .models import LEVELS, Unit, commune_kinds, commune_phrase, level_label, unit_successors

LEVEL_ORDER = case({lvl: i for i, lvl in enumerate(LEVELS)}, value=Unit.level)


@dataclass(frozen=True)
class Period:
    """A span of days, both ends inclusive."""

    first: date
    last: date

    @classmethod
    def month(cls, month: str) -> Period:
        year, mon = parse_month(month)
        ny, nm = parse_month(next_month(month))
        return cls(date(year, mon, 1), date(ny, nm, 1) - timedelta(days=1))

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day)

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def as_period(when: str | date | Period) -> Period:
    if isinstance(when, Period):
        return when
    if isinstance(when, date):
        return Period.day(when)
    return Period.month(when)


def exists_during(when: str | date | Period, unit=Unit) -> ColumnElement[bool]:
    """SQL: the unit (``Unit`` or an alias) exists on at least one day of the period."""
    period = as_period(when)
    return and_(
        or_(unit.valid_from.is_(None), unit.valid_from <= period.last),
        or_(unit.valid_to.is_(None), unit.valid_to >= period.first),
    )


@dataclass(frozen=True)
class PeriodUnit:
    """One unit as a period sees it (plain values)."""

    id: int
    code: str
    level: str
    kind: str
    name: str
    parent_id: int | None
    position: int
    active: bool
    valid_from: date | None
    valid_to: date | None

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class LevelInfo:
    """A level as it is in a period: its units' kinds, and how texts name it."""

    level: str
    kinds: tuple[str, ...]
    units: int

    @property
    def label(self) -> str:
        """``Cấp Sở, ngành``, ``Cấp quận, huyện``, ``Cấp xã, phường, đặc khu``."""
        return level_label(self.level, self.kinds)

    @property
    def phrase(self) -> str:
        """How a sentence names the level's units: ``Sở, ngành``, ``xã, phường, đặc khu``."""
        if self.level == "commune":
            return commune_phrase(self.kinds)
        return {"department": "Sở, ngành", "district": "quận, huyện"}[self.level]


@dataclass(frozen=True)
class PeriodUnits:
    """The units that exist in a period, in report order, and the levels they make up."""

    period: Period
    units: tuple[PeriodUnit, ...]
    levels: tuple[LevelInfo, ...]

    def has(self, level: str) -> bool:
        return any(info.level == level for info in self.levels)

    def level(self, level: str) -> LevelInfo | None:
        return next((info for info in self.levels if info.level == level), None)

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(info.level for info in self.levels)

    @property
    def has_districts(self) -> bool:
        return self.has("district")

    def ids(self) -> set[int]:
        return {u.id for u in self.units}

    def of_level(self, level: str) -> list[PeriodUnit]:
        return [u for u in self.units if u.level == level]


def units_in(when: str | date | Period, include_inactive: bool = True) -> PeriodUnits:
    """Every unit that exists in the period (one query), in report order: departments,
    districts, then communes grouped by district (where there are districts), each in the
    display order of units.csv."""
    period = as_period(when)
    parent = Unit.__table__.alias("parent_unit")
    stmt = (
        select(
            Unit.id,
            Unit.code,
            Unit.level,
            Unit.kind,
            Unit.name,
            Unit.parent_id,
            Unit.position,
            Unit.active,
            Unit.valid_from,
            Unit.valid_to,
        )
        .outerjoin(parent, parent.c.id == Unit.parent_id)
        .where(exists_during(period))
        .order_by(
            LEVEL_ORDER,
            case((parent.c.position.is_(None), Unit.position), else_=parent.c.position),
            case((parent.c.id.is_(None), 0), else_=parent.c.id),
            Unit.position,
            Unit.id,
        )
    )
    if not include_inactive:
        stmt = stmt.where(Unit.active.is_(True))
    units = tuple(PeriodUnit(*row) for row in db.session.execute(stmt))
    kinds: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for u in units:
        counts[u.level] += 1
        if u.kind not in kinds[u.level]:
            kinds[u.level].append(u.kind)
    levels = tuple(
        LevelInfo(
            level,
            commune_kinds(kinds[level]) if level == "commune" else tuple(kinds[level]),
            counts[level],
        )
        for level in LEVELS
        if counts[level]
    )
    return PeriodUnits(period, units, levels)


# -- codes over time ---------------------------------------------------------------------------


class UnitNotFound(LookupError):
    """A code names no unit on that day (or in that month); the message says why."""


def successors_of(unit_ids) -> dict[int, list[Unit]]:
    """Each unit's successors, in order (one query)."""
    ids = list(unit_ids)
    if not ids:
        return {}
    stmt = (
        select(unit_successors.c.unit_id, Unit)
        .join(Unit, Unit.id == unit_successors.c.successor_id)
        .where(unit_successors.c.unit_id.in_(ids))
        .order_by(unit_successors.c.unit_id, unit_successors.c.position)
    )
    found: dict[int, list[Unit]] = defaultdict(list)
    for unit_id, successor in db.session.execute(stmt):
        found[unit_id].append(successor)
    return found


def ended_message(unit: Unit, successors: list[Unit] | None = None) -> str:
    """``xã An Hưng (huyện An Dương) đã kết thúc ngày 30/6/2025; đơn vị kế thừa: ...``"""
    if successors is None:
        successors = list(unit.successors)
    text = f"{unit.display} ({unit.code})"
    if unit.valid_to is not None:
        text += f" đã kết thúc ngày {report_date(unit.valid_to)}"
    if successors:
        text += "; đơn vị kế thừa: " + ", ".join(f"{s.full_name} ({s.code})" for s in successors)
    return text


def not_yet_message(unit: Unit) -> str:
    return f"{unit.display} ({unit.code}) bắt đầu từ ngày {report_date(unit.valid_from)}"


class CodeIndex:
    """Every unit by code, with its lifetime: resolves a code on a day or in a month.

    Built from the database (``CodeIndex.load()``), and extended by an import with the units it
    stages, so that a file may refer to units added by another file of the same import.
    """

    def __init__(self, units=()):
        self.by_code: dict[str, list[Unit]] = defaultdict(list)
        for unit in units:
            self.add(unit)

    @classmethod
    def load(cls) -> CodeIndex:
        return cls(db.session.scalars(select(Unit)))

    def add(self, unit: Unit) -> None:
        entries = self.by_code[unit.code]
        if unit not in entries:
            entries.append(unit)
            entries.sort(key=lambda u: u.valid_from or date.min)

    def __contains__(self, code: str) -> bool:
        return bool(self.by_code.get(code))

    def all(self, code: str) -> list[Unit]:
        return list(self.by_code.get(code, ()))

    def on(self, code: str, day: date) -> Unit:
        """The unit with this code on that day; UnitNotFound says why there is none."""
        return self.during(code, Period.day(day))

    def in_month(self, code: str, month: str) -> Unit:
        return self.during(code, Period.month(month))

    def during(self, code: str, when: Period) -> Unit:
        units = self.by_code.get(code)
        if not units:
            raise UnitNotFound(f"không có đơn vị {code}")
        found = [u for u in units if u.exists_during(when.first, when.last)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = "; ".join(f"{u.full_name} ({u.lifetime or 'không giới hạn'})" for u in found)
            raise UnitNotFound(f"mã {code} chỉ {len(found)} đơn vị trong kỳ này: {names}")
        # Nothing then: the unit before the period (ended) or after it (not yet created).
        before = [u for u in units if u.valid_to is not None and u.valid_to < when.first]
        if before:
            return self._raise_ended(before[-1])
        after = [u for u in units if u.valid_from is not None and u.valid_from > when.last]
        raise UnitNotFound(not_yet_message(after[0]))

    @staticmethod
    def _raise_ended(unit: Unit):
        raise UnitNotFound(ended_message(unit, list(unit.successors) if unit.id else []))
