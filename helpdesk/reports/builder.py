"""Every figure of a month's report, read from the database.

Pure: one SQL query per kind of data (aggregates in SQL), results returned as frozen dataclasses
of plain values. Knows nothing of Flask, HTML or PDF; ``text.py`` turns the figures into
sentences and the renderers lay those out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import BigInteger, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..stats.models import Activity, CityStat, UnitStat
from ..tickets.models import Category, Ticket
from ..timeutil import parse_month, previous_month
from ..units.models import LEVELS, Unit
from .models import OrgSetting


class ReportError(Exception):
    """The report cannot be built (for example: the month has no statistics)."""


@dataclass(frozen=True)
class Organisation:
    parent_agency: str = ""
    agency: str = ""
    agency_name: str = ""
    document_symbol: str = ""
    place: str = ""
    recipient: str = ""
    system_name: str = ""
    signer_title: str = ""
    signer_name: str = ""
    distribution: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitFigures:
    """One unit's figures for the month; None means not reported."""

    code: str
    level: str
    kind: str
    name: str
    district_code: str | None  # a commune's district
    received: int | None
    online: int | None
    signed: int | None

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class DistrictCommunes:
    """A district's communes, and their received/online figures summed in SQL."""

    code: str
    kind: str
    name: str
    received: int | None
    online: int | None
    communes: tuple[UnitFigures, ...]

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class LevelFigures:
    """One level's totals. ``units`` counts the level's units (active, or reporting this month)."""

    level: str
    units: int
    received: int | None
    online: int | None
    signed: int | None
    signed_units: int  # units with at least one signed result
    procedures: int | None  # procedures set up for online payment
    procedure_units: int


@dataclass(frozen=True)
class PaymentFigures:
    """Online payments of a month, all levels together."""

    month: str
    units: int  # units with at least one transaction
    transactions: int | None
    amount: int | None
    fee_transactions: int | None
    fee_amount: int | None


@dataclass(frozen=True)
class PopulationFigures:
    lookups: int | None
    matched: int | None
    as_of: date | None


@dataclass(frozen=True)
class CategoryCount:
    phrase: str
    count: int


@dataclass(frozen=True)
class SupportFigures:
    """Tickets of the month from one audience, and the categories that had any (report order)."""

    audience: str
    total: int
    categories: tuple[CategoryCount, ...]


@dataclass(frozen=True)
class MonthFigures:
    month: str
    previous_month: str
    organisation: Organisation
    levels: tuple[LevelFigures, ...]
    departments: tuple[UnitFigures, ...]
    districts: tuple[UnitFigures, ...]
    district_communes: tuple[DistrictCommunes, ...]
    payment: PaymentFigures | None
    previous_payment: PaymentFigures | None
    population: PopulationFigures | None
    citizen_support: SupportFigures
    agency_support: SupportFigures
    activities: tuple[str, ...] = field(default_factory=tuple)

    def level(self, level: str) -> LevelFigures:
        return next(item for item in self.levels if item.level == level)


def _org() -> Organisation:
    values = dict(db.session.execute(select(OrgSetting.key, OrgSetting.value)).all())
    values = {k: (v or "").strip() for k, v in values.items()}
    distribution = tuple(
        line.strip() for line in values.get("distribution", "").split("|") if line.strip()
    )
    return Organisation(
        **{k: values.get(k, "") for k in Organisation.__dataclass_fields__ if k != "distribution"},
        distribution=distribution,
    )


def _stat_join(month: str):
    return and_(UnitStat.unit_id == Unit.id, UnitStat.month == month)


def _units(month: str) -> list[UnitFigures]:
    parent = aliased(Unit)
    level_order = case({level: rank for rank, level in enumerate(LEVELS)}, value=Unit.level)
    stmt = (
        select(
            Unit.code,
            Unit.level,
            Unit.kind,
            Unit.name,
            parent.code,
            UnitStat.received,
            UnitStat.online,
            UnitStat.signed_results,
        )
        .outerjoin(UnitStat, _stat_join(month))
        .outerjoin(parent, parent.id == Unit.parent_id)
        .where(or_(Unit.active.is_(True), UnitStat.id.is_not(None)))
        .order_by(level_order, func.coalesce(parent.position, 0), Unit.position, Unit.id)
    )
    return [UnitFigures(*row) for row in db.session.execute(stmt)]


def _sum(column):
    """SUM as an integer (PostgreSQL sums BIGINT as NUMERIC); NULL when nothing is reported."""
    return cast(func.sum(column), BigInteger)


def _positive(column):
    """How many units have a figure above zero."""
    return cast(func.sum(case((column > 0, 1), else_=0)), BigInteger)


def _levels(month: str) -> dict[str, LevelFigures]:
    stmt = (
        select(
            Unit.level,
            func.count(Unit.id),
            _sum(UnitStat.received),
            _sum(UnitStat.online),
            _sum(UnitStat.signed_results),
            _positive(UnitStat.signed_results),
            _sum(UnitStat.payment_procedures),
            _positive(UnitStat.payment_procedures),
        )
        .outerjoin(UnitStat, _stat_join(month))
        .where(or_(Unit.active.is_(True), UnitStat.id.is_not(None)))
        .group_by(Unit.level)
    )
    found = {
        row[0]: LevelFigures(
            row[0], row[1], row[2], row[3], row[4], row[5] or 0, row[6], row[7] or 0
        )
        for row in db.session.execute(stmt)
    }
    return {
        level: found.get(level, LevelFigures(level, 0, None, None, None, 0, None, 0))
        for level in LEVELS
    }


def _district_totals(month: str) -> dict[str, tuple[int | None, int | None]]:
    parent = aliased(Unit)
    stmt = (
        select(parent.code, _sum(UnitStat.received), _sum(UnitStat.online))
        .select_from(UnitStat)
        .join(Unit, Unit.id == UnitStat.unit_id)
        .join(parent, parent.id == Unit.parent_id)
        .where(UnitStat.month == month, Unit.level == "commune")
        .group_by(parent.code)
    )
    return {code: (received, online) for code, received, online in db.session.execute(stmt)}


def _payments(months: tuple[str, ...]) -> dict[str, PaymentFigures]:
    stmt = (
        select(
            UnitStat.month,
            _positive(UnitStat.payment_transactions),
            _sum(UnitStat.payment_transactions),
            _sum(UnitStat.payment_amount),
            _sum(UnitStat.fee_transactions),
            _sum(UnitStat.fee_amount),
        )
        .where(UnitStat.month.in_(months))
        .group_by(UnitStat.month)
    )
    result = {}
    for month, units, transactions, amount, fee_tx, fee_amount in db.session.execute(stmt):
        if transactions is None and amount is None:
            continue  # the month's rows do not report payments
        result[month] = PaymentFigures(month, units or 0, transactions, amount, fee_tx, fee_amount)
    return result


def _support(month: str) -> dict[str, SupportFigures]:
    stmt = (
        select(Ticket.audience, Category.report_phrase, func.count(Ticket.id))
        .join(Category, Category.id == Ticket.category_id)
        .where(Ticket.opened_month == month)
        .group_by(Ticket.audience, Category.id, Category.report_phrase, Category.position)
        .order_by(Category.position, Category.id)
    )
    counts: dict[str, list[CategoryCount]] = {"citizen": [], "agency": []}
    for audience, phrase, count in db.session.execute(stmt):
        counts.setdefault(audience, []).append(CategoryCount(phrase, count))
    return {
        audience: SupportFigures(audience, sum(c.count for c in items), tuple(items))
        for audience, items in counts.items()
    }


def _activities(month: str) -> tuple[str, ...]:
    stmt = (
        select(Activity.text)
        .where(Activity.month == month)
        .order_by(Activity.position, Activity.id)
    )
    return tuple(text for text in db.session.scalars(stmt) if text and text.strip())


def _population(month: str) -> PopulationFigures | None:
    row = db.session.get(CityStat, month)
    if row is None or row.population_lookups is None:
        return None
    return PopulationFigures(row.population_lookups, row.population_matched, row.population_as_of)


def month_label(month: str) -> str:
    """``2023-09`` -> ``9/2023``, as the report writes months."""
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def has_statistics(month: str) -> bool:
    """True if the month has any unit statistics or city figures."""
    stmt = select(
        select(UnitStat.id).where(UnitStat.month == month).exists()
        | select(CityStat.month).where(CityStat.month == month).exists()
    )
    return bool(db.session.scalar(stmt))


def build_month(month: str) -> MonthFigures:
    """Read every figure of ``month``'s report; raise ReportError if it has no statistics."""
    parse_month(month)
    if not has_statistics(month):
        raise ReportError(f"Tháng {month_label(month)} chưa có số liệu thống kê.")
    previous = previous_month(month)
    levels = _levels(month)
    payments = _payments((month, previous))
    population = _population(month)
    units = _units(month)
    district_totals = _district_totals(month)
    support = _support(month)
    communes: dict[str, list[UnitFigures]] = {}
    for unit in units:
        if unit.level == "commune" and unit.district_code:
            communes.setdefault(unit.district_code, []).append(unit)
    districts = tuple(u for u in units if u.level == "district")
    return MonthFigures(
        month=month,
        previous_month=previous,
        organisation=_org(),
        levels=tuple(levels[level] for level in LEVELS),
        departments=tuple(u for u in units if u.level == "department"),
        districts=districts,
        district_communes=tuple(
            DistrictCommunes(
                d.code,
                d.kind,
                d.name,
                *district_totals.get(d.code, (None, None)),
                communes=tuple(communes[d.code]),
            )
            for d in districts
            if d.code in communes
        ),
        payment=payments.get(month),
        previous_payment=payments.get(previous),
        population=population,
        citizen_support=support.get("citizen", SupportFigures("citizen", 0, ())),
        agency_support=support.get("agency", SupportFigures("agency", 0, ())),
        activities=_activities(month),
    )
