"""Everything the month page shows, gathered in a bounded number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..timeutil import next_month, previous_month
from ..units.models import Unit
from .checks import Finding, month_findings
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
    totals: Totals
    rows: list[UnitRow] = field(default_factory=list)
    groups: list[DistrictGroup] = field(default_factory=list)  # communes only

    @property
    def missing(self) -> list[UnitRow]:
        rows = self.rows or [c for g in self.groups for c in g.communes]
        return [r for r in rows if not r.reported]


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
    totals = level_totals(month)
    rows = unit_rows(month)
    by_district = district_totals(month)
    sections = {level: LevelSection(level, totals[level]) for level in totals}
    districts = {r.unit_id: r for r in rows if r.level == "district"}
    groups: dict[int | None, DistrictGroup] = {}
    for row in rows:
        section = sections[row.level]
        if row.level != "commune":
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
        findings=month_findings(month),
        controls=control_totals(month),
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
