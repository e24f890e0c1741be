"""Every figure of a month's report, read from the database.

Pure: one SQL query per kind of data (aggregates in SQL), results returned as frozen dataclasses
of plain values. Knows nothing of Flask, HTML or PDF; ``text.py`` turns the figures into
sentences and the renderers lay those out.

Units change over time: the month's units and levels come from ``units_in(month)`` and the level
totals from ``stats.queries.level_totals(month)`` (the one place they are computed). A level
without units in the month (districts after 1/7/2025) is not in the figures at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import BigInteger, case, cast, func, select

from ..extensions import db
from ..stats.models import Activity, CityStat, UnitStat
from ..stats.queries import Totals, district_totals, level_totals
from ..tickets.models import Category, Ticket
from ..timeutil import parse_month, previous_month
from ..units.periods import LevelInfo, PeriodUnits, units_in
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
    # The kinds of the level's units this month, in official order: what names the level
    # ("xã, phường, thị trấn" in 2023, "xã, phường, đặc khu" since 1/7/2025).
    kinds: tuple[str, ...] = ()

    @property
    def info(self) -> LevelInfo:
        return LevelInfo(self.level, self.kinds, self.units)

    @property
    def label(self) -> str:
        """``Cấp Sở, ngành``, ``Cấp xã, phường, đặc khu``."""
        return self.info.label

    @property
    def phrase(self) -> str:
        """``Sở, ngành``, ``quận, huyện``, ``xã, phường, đặc khu``."""
        return self.info.phrase


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
    levels: tuple[LevelFigures, ...]  # the month's levels only, in report order
    departments: tuple[UnitFigures, ...]
    districts: tuple[UnitFigures, ...]
    district_communes: tuple[DistrictCommunes, ...]  # empty in a month without districts
    payment: PaymentFigures | None
    previous_payment: PaymentFigures | None
    population: PopulationFigures | None
    citizen_support: SupportFigures
    agency_support: SupportFigures
    activities: tuple[str, ...] = field(default_factory=tuple)
    communes: tuple[UnitFigures, ...] = field(default_factory=tuple)  # every commune, in order

    def level(self, level: str) -> LevelFigures | None:
        """The level's figures, or None when the month has no unit of that level."""
        return next((item for item in self.levels if item.level == level), None)

    @property
    def has_districts(self) -> bool:
        return self.level("district") is not None


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


def _units(month: str, period: PeriodUnits) -> list[UnitFigures]:
    """The month's units with their figures, in report order: the units that exist in the
    month (``units_in``), active or reporting this month (one query for the figures)."""
    stmt = select(
        UnitStat.unit_id, UnitStat.received, UnitStat.online, UnitStat.signed_results
    ).where(UnitStat.month == month)
    figures = {row[0]: row[1:] for row in db.session.execute(stmt)}
    codes = {u.id: u.code for u in period.units if u.level == "district"}
    return [
        UnitFigures(
            u.code,
            u.level,
            u.kind,
            u.name,
            codes.get(u.parent_id) if u.level == "commune" else None,
            *figures.get(u.id, (None, None, None)),
        )
        for u in period.units
        if u.active or u.id in figures
    ]


def _sum(column):
    """SUM as an integer (PostgreSQL sums BIGINT as NUMERIC); NULL when nothing is reported."""
    return cast(func.sum(column), BigInteger)


def _positive(column):
    """How many units have a figure above zero."""
    return cast(func.sum(case((column > 0, 1), else_=0)), BigInteger)


def _level(info: LevelInfo, totals: Totals) -> LevelFigures:
    return LevelFigures(
        level=info.level,
        units=totals.units,
        received=totals.received,
        online=totals.online,
        signed=totals.signed_results,
        signed_units=totals.positive.get("signed_results", 0),
        procedures=totals.payment_procedures,
        procedure_units=totals.positive.get("payment_procedures", 0),
        kinds=info.kinds,
    )


def _levels(month: str, period: PeriodUnits) -> tuple[LevelFigures, ...]:
    """The month's levels: those with units in the month, with the totals of ``level_totals``."""
    totals = level_totals(month)
    return tuple(_level(info, totals[info.level]) for info in period.levels if info.level in totals)


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
    """Read every figure of ``month``'s report; raise ReportError if it has no statistics.

    A fixed number of queries whatever the number of units: 10, or 9 in a month without
    districts (no district sums to read).
    """
    parse_month(month)
    if not has_statistics(month):
        raise ReportError(f"Tháng {month_label(month)} chưa có số liệu thống kê.")
    previous = previous_month(month)
    period = units_in(month)
    levels = _levels(month, period)
    payments = _payments((month, previous))
    population = _population(month)
    units = _units(month, period)
    support = _support(month)
    districts = tuple(u for u in units if u.level == "district")
    communes = tuple(u for u in units if u.level == "commune")
    groups: tuple[DistrictCommunes, ...] = ()
    if districts:
        # Communes by their district (a code names one district in a month).
        sums = district_totals(month)
        ids = {u.code: u.id for u in period.units if u.level == "district"}
        by_district: dict[str, list[UnitFigures]] = {}
        for unit in communes:
            if unit.district_code:
                by_district.setdefault(unit.district_code, []).append(unit)
        groups = tuple(
            DistrictCommunes(
                d.code,
                d.kind,
                d.name,
                *_received_online(sums.get(ids[d.code])),
                communes=tuple(by_district[d.code]),
            )
            for d in districts
            if d.code in by_district
        )
    return MonthFigures(
        month=month,
        previous_month=previous,
        organisation=_org(),
        levels=levels,
        departments=tuple(u for u in units if u.level == "department"),
        districts=districts,
        district_communes=groups,
        payment=payments.get(month),
        previous_payment=payments.get(previous),
        population=population,
        citizen_support=support.get("citizen", SupportFigures("citizen", 0, ())),
        agency_support=support.get("agency", SupportFigures("agency", 0, ())),
        activities=_activities(month),
        communes=communes,
    )


def _received_online(totals: Totals | None) -> tuple[int | None, int | None]:
    if totals is None:
        return None, None
    return totals.received, totals.online
