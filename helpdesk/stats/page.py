"""Everything the month page shows, gathered in a bounded number of queries.

The page shows the month's levels only (a month after 1/7/2025 has no district level), each
named as the month names it; communes are grouped by district where they have one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..timeutil import next_month, previous_month
from ..units.models import Unit
from ..units.periods import LevelInfo, units_in
from .checks import Finding, month_findings
from .labels import level_info
from .models import UNIT_STAT_FIELDS, Activity, CityStat, MonthLock, UnitStat
from .queries import (
    Totals,
    UnitRow,
    activities,
    city_stat,
    city_total,
    control_totals,
    district_totals,
    level_totals,
    months_with_data,
    unit_rows,
)


@dataclass
class DistrictGroup:
    district: UnitRow | None
    name: str
    totals: Totals | None
    communes: list[UnitRow]


@dataclass
class LevelSection:
    level: str
    info: LevelInfo
    totals: Totals
    # Units listed one by one: every department (or district), and communes without a district.
    rows: list[UnitRow] = field(default_factory=list)
    groups: list[DistrictGroup] = field(default_factory=list)  # communes under a district

    @property
    def label(self) -> str:
        """``Cấp Sở, ngành``, ``Cấp xã, phường, đặc khu``: the level as the month names it."""
        return self.info.label

    @property
    def label_in_sentence(self) -> str:
        """``cấp Sở, ngành``: the label inside a sentence (only its first letter lowered)."""
        return self.label[:1].lower() + self.label[1:]

    @property
    def units(self) -> list[UnitRow]:
        return [c for g in self.groups for c in g.communes] + self.rows

    @property
    def missing(self) -> list[UnitRow]:
        return [r for r in self.units if not r.reported]


@dataclass
class MonthPage:
    month: str
    previous: str
    following: str
    months: list[str]
    lock: MonthLock | None
    locked_by: str | None
    totals: dict[str, Totals]
    city: Totals
    sections: list[LevelSection]
    city_stat: CityStat | None
    activities: list[Activity]
    findings: list[Finding]
    controls: dict[tuple[str, str], int]

    @property
    def locked(self) -> bool:
        return self.lock is not None

    @property
    def has_data(self) -> bool:
        return self.city.reported > 0 or self.city_stat is not None or bool(self.activities)


def month_page(month: str) -> MonthPage:
    """Gather the month page: totals, units by level, city figures, activities, warnings."""
    period_units = units_in(month)
    levels = {info.level: info for info in period_units.levels}
    totals = level_totals(month)
    rows = unit_rows(month)
    sections = {
        level: LevelSection(level, level_info(levels, level), totals[level]) for level in totals
    }
    # Communes are grouped under a district only where it exists in the month.
    district_ids = {u.id for u in period_units.units if u.level == "district"}
    by_district = district_totals(month) if district_ids else {}
    districts = {r.unit_id: r for r in rows if r.level == "district"}
    groups: dict[int, DistrictGroup] = {}
    for row in rows:
        section = sections[row.level]
        if row.level != "commune" or row.district_id not in district_ids:
            section.rows.append(row)
            continue
        group = groups.get(row.district_id)
        if group is None:
            group = DistrictGroup(
                district=districts.get(row.district_id),
                name=row.district_name or "",
                totals=by_district.get(row.district_id),
                communes=[],
            )
            groups[row.district_id] = group
            section.groups.append(group)
        group.communes.append(row)
    lock = db.session.get(MonthLock, month)
    locked_by = None
    if lock is not None and lock.locked_by_id is not None:
        user = db.session.get(User, lock.locked_by_id)
        locked_by = user.full_name if user else None
    months = months_with_data()
    if month not in months:
        months = sorted([*months, month], reverse=True)
    controls = control_totals(month)
    return MonthPage(
        month=month,
        previous=previous_month(month),
        following=next_month(month),
        months=months,
        lock=lock,
        locked_by=locked_by,
        totals=totals,
        city=city_total(totals),
        sections=list(sections.values()),
        city_stat=city_stat(month),
        activities=activities(month),
        findings=month_findings(month, rows, totals, levels, controls),
        controls=controls,
    )


def unit_month_figures(month: str, unit: Unit) -> tuple[dict, dict]:
    """The unit's figures for the month and the month before (None: not reported)."""
    before = previous_month(month)
    stats = {
        s.month: s
        for s in db.session.scalars(
            select(UnitStat).where(UnitStat.unit_id == unit.id, UnitStat.month.in_((month, before)))
        )
    }

    def figures(m: str) -> dict:
        stat = stats.get(m)
        return {f: getattr(stat, f) if stat is not None else None for f in UNIT_STAT_FIELDS}

    return figures(month), figures(before)
