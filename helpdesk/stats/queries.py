"""Read-side queries for a month's statistics: per-level totals and per-unit rows, summed in SQL.

The report builder may reuse these: they return frozen dataclasses of plain values.

Level and district totals are asked for a month (``"2023-09"``) or a reporting period (anything
with ``months``, ``first_day`` and ``last_day``: ``helpdesk.periods.ReportPeriod``). Over a period,
flows are each unit's sum over the period's months, stocks (``STOCK_FIELDS``) are their value in
the period's latest month that reports them, and the units are those that exist on some day of
the period. A month is the period of one month: the same query, the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import and_, case, func, literal, or_, select, union
from sqlalchemy.orm import aliased

from ..extensions import db
from ..units.models import LEVELS, Unit
from ..units.periods import LEVEL_ORDER, Period, exists_during
from .models import UNIT_STAT_FIELDS, Activity, CityStat, ControlTotal, UnitStat

# Figures that are a stock (how many there are at the end), not a flow (how many happened): over a
# period they are the value of its latest month that reports them, never a sum.
STOCK_FIELDS = frozenset({"payment_procedures"})


class MonthSpan(Protocol):
    """A run of whole months (``helpdesk.periods.ReportPeriod``)."""

    months: Sequence[str]

    @property
    def first_day(self): ...

    @property
    def last_day(self): ...


def span_of(when: str | MonthSpan) -> tuple[tuple[str, ...], Period]:
    """The months and the days of a month (``YYYY-MM``) or a period."""
    if isinstance(when, str):
        return (when,), Period.month(when)
    return tuple(when.months), Period(when.first_day, when.last_day)


def _rate(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part * 100 / whole


@dataclass(frozen=True)
class Totals:
    """Sums of one group of units (a level, or a district's communes) for a month.

    A figure is None when no unit of the group reported it (SQL SUM over NULLs).
    """

    level: str
    units: int  # units listed: active ones, and inactive ones that have a row for the month
    reported: int  # units with at least one figure
    figures: dict[str, int | None] = field(default_factory=dict)
    # Units whose figure is > 0, per field: "14/19 units attached signed results".
    positive: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str):
        # Attribute access to the figures: totals.received, totals.online, ...
        if name in UNIT_STAT_FIELDS:
            return self.figures.get(name)
        raise AttributeError(name)

    @property
    def missing(self) -> int:
        return self.units - self.reported

    @property
    def online_rate(self) -> float | None:
        """Online share of received dossiers, in percent."""
        return _rate(self.figures.get("online"), self.figures.get("received"))


@dataclass(frozen=True)
class UnitRow:
    """One unit and its figures for a month (None: not reported)."""

    unit_id: int
    code: str
    level: str
    kind: str
    name: str
    active: bool
    district_id: int | None
    district_name: str | None
    figures: dict[str, int | None]

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def display(self) -> str:
        if self.level == "commune" and self.district_name:
            return f"{self.full_name} ({self.district_name})"
        return self.full_name

    @property
    def reported(self) -> bool:
        return any(v is not None for v in self.figures.values())

    @property
    def online_rate(self) -> float | None:
        return _rate(self.figures.get("online"), self.figures.get("received"))


def _stat_join(month: str):
    return and_(UnitStat.unit_id == Unit.id, UnitStat.month == month)


def _listed(month: str):
    """A unit is listed in a month if it exists in that month (units_in), and is active or
    has figures for the month despite being inactive."""
    return and_(exists_during(month), or_(Unit.active.is_(True), UnitStat.id.is_not(None)))


def _period_figures(months: tuple[str, ...]):
    """Each unit's figures over the months (one row per unit that has a row in any of them):
    flows summed, stocks from the latest of the months that reports them."""
    columns = [UnitStat.unit_id.label("unit_id")]
    for name in UNIT_STAT_FIELDS:
        col = getattr(UnitStat, name)
        if name in STOCK_FIELDS and len(months) > 1:
            latest = (
                select(func.max(UnitStat.month))
                .where(UnitStat.month.in_(months), col.is_not(None))
                .scalar_subquery()
            )
            col = case((UnitStat.month == latest, col))
        columns.append(func.sum(col).label(name))
    return (
        select(*columns)
        .where(UnitStat.month.in_(months))
        .group_by(UnitStat.unit_id)
        .subquery("period_figures")
    )


def _aggregates(figures) -> list:
    """Per-group aggregates over ``figures`` (the columns of ``_period_figures``)."""
    any_figure = func.coalesce(*(figures.c[f] for f in UNIT_STAT_FIELDS)).is_not(None)
    columns = [
        func.count(Unit.id).label("units"),
        func.count(case((any_figure, 1))).label("reported"),
    ]
    for name in UNIT_STAT_FIELDS:
        col = figures.c[name]
        columns.append(func.sum(col).label(name))
        columns.append(func.count(case((col > 0, 1))).label("pos_" + name))
    return columns


def _grouped(key, when: str | MonthSpan):
    """``SELECT key, aggregates`` over the units listed in the month or period: those that exist
    on some day of it and are active or have figures in it."""
    months, days = span_of(when)
    figures = _period_figures(months)
    return (
        select(key, *_aggregates(figures))
        .select_from(Unit)
        .outerjoin(figures, figures.c.unit_id == Unit.id)
        .where(
            exists_during(days),
            or_(Unit.active.is_(True), figures.c.unit_id.is_not(None)),
        )
        .group_by(key)
    )


def _totals(level: str, row) -> Totals:
    return Totals(
        level=level,
        units=row.units,
        reported=row.reported,
        figures={f: None if row[f] is None else int(row[f]) for f in UNIT_STAT_FIELDS},
        positive={f: row["pos_" + f] for f in UNIT_STAT_FIELDS},
    )


def level_totals(when: str | MonthSpan) -> dict[str, Totals]:
    """Each level's totals for a month or a period: the one place level totals are computed.

    Only the levels that have units in the month (or on some day of the period) are keys (a
    month after 1/7/2025 has no district level, the year 2025 has it), in report order; a level
    whose units reported nothing has empty totals. One query.
    """
    stmt = _grouped(Unit.level, when)
    found = {row.level: _totals(row.level, row._mapping) for row in db.session.execute(stmt)}
    return {level: found[level] for level in LEVELS if level in found}


def city_total(totals: dict[str, Totals]) -> Totals:
    """Add the levels up into the whole city's totals."""
    figures: dict[str, int | None] = {}
    for name in UNIT_STAT_FIELDS:
        values = [t.figures[name] for t in totals.values() if t.figures.get(name) is not None]
        figures[name] = sum(values) if values else None
    return Totals(
        level="city",
        units=sum(t.units for t in totals.values()),
        reported=sum(t.reported for t in totals.values()),
        figures=figures,
        positive={f: sum(t.positive.get(f, 0) for t in totals.values()) for f in UNIT_STAT_FIELDS},
    )


def district_totals(when: str | MonthSpan) -> dict[int, Totals]:
    """The totals of each district's communes for a month or a period, keyed by district id."""
    stmt = _grouped(Unit.parent_id, when).where(Unit.level == "commune")
    return {row.parent_id: _totals("commune", row._mapping) for row in db.session.execute(stmt)}


def unit_rows(month: str, level: str | None = None) -> list[UnitRow]:
    """Return every listed unit with its figures, in report order.

    Report order: departments, districts, then communes grouped by district, each in the
    display order of units.csv.
    """
    parent = aliased(Unit)
    stmt = (
        select(
            Unit.id,
            Unit.code,
            Unit.level,
            Unit.kind,
            Unit.name,
            Unit.active,
            Unit.parent_id,
            (parent.kind + literal(" ") + parent.name).label("district_name"),
            *(getattr(UnitStat, f) for f in UNIT_STAT_FIELDS),
        )
        .select_from(Unit)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .outerjoin(UnitStat, _stat_join(month))
        .where(_listed(month))
        .order_by(
            LEVEL_ORDER,
            func.coalesce(parent.position, Unit.position),
            func.coalesce(parent.id, 0),
            Unit.position,
            Unit.id,
        )
    )
    if level is not None:
        stmt = stmt.where(Unit.level == level)
    return [
        UnitRow(
            unit_id=row.id,
            code=row.code,
            level=row.level,
            kind=row.kind,
            name=row.name,
            active=row.active,
            district_id=row.parent_id,
            district_name=row.district_name,
            figures={f: row._mapping[f] for f in UNIT_STAT_FIELDS},
        )
        for row in db.session.execute(stmt)
    ]


def control_totals(month: str) -> dict[tuple[str, str], int]:
    """The supervisor's hand-typed level totals for the month: ``{(level, field): value}``."""
    stmt = select(ControlTotal).where(ControlTotal.month == month)
    return {(c.level, c.field): c.value for c in db.session.scalars(stmt)}


def city_stat(month: str) -> CityStat | None:
    return db.session.get(CityStat, month)


def activities(month: str) -> list[Activity]:
    stmt = select(Activity).where(Activity.month == month).order_by(Activity.position, Activity.id)
    return list(db.session.scalars(stmt))


def months_with_data() -> list[str]:
    """Every month that has unit figures, city figures or activities, newest first."""
    months = union(
        select(UnitStat.month), select(CityStat.month), select(Activity.month)
    ).subquery()
    return list(db.session.scalars(select(months.c.month).order_by(months.c.month.desc())))
