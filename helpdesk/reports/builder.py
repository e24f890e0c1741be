"""Every figure of a report of a month or a longer period, read from the database.

Pure: one SQL query per kind of data (aggregates in SQL), results returned as frozen dataclasses
of plain values. Knows nothing of Flask, HTML or PDF; ``text.py`` turns the figures into
sentences and the renderers lay those out.

A period (``helpdesk.periods.ReportPeriod``: a month, quarter, 6 or 9 months, a year) is read
with the same queries as a month: flows (dossiers received and online, signed results, payment
transactions and amounts, fees, contacts) are the sum of its months; stocks (procedures set up
for payment) are the period's latest month that reports them; cumulative figures (population
lookups) are the latest city figures of the period. Comparisons are with the period of equal
length before it and with the same period of the year before.

Units change over time: the period's units and levels come from ``units_in`` over the period's
days and the level totals from ``stats.queries.level_totals`` (the one place they are
computed). A level without units in the period (districts after 1/7/2025) is not in the figures
at all; a level whose units all ended (or began) inside the period says when. A period whose
first or last months have no statistics yet (a year imported up to August) counts the units of
the days from its first month with statistics to its last, so that a unit which only existed in
months without statistics is not counted as one that did not report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import BigInteger, case, cast, func, literal, select, union_all

from ..extensions import db
from ..periods import ReportPeriod
from ..stats.models import Activity, CityStat, UnitStat
from ..stats.queries import Totals, district_totals, level_totals
from ..tickets.models import Category, Ticket
from ..tickets.sla import OnTime, on_time_sums
from ..timeutil import now_local, parse_month
from ..units.models import commune_kinds
from ..units.periods import LevelInfo, Period, PeriodUnits, units_in
from .models import OrgSetting


class ReportError(Exception):
    """The report cannot be built (for example: the period has no statistics)."""


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
    """One unit's figures for the period (its months summed); None means not reported."""

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
    """One level's totals. ``units`` counts the level's units that exist in the period (active, or
    reporting in it)."""

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
    # In a period longer than a month: the level's last day when all its units ended inside the
    # period (districts: 30/6/2025 in the year 2025), its first day when all began inside it.
    until: date | None = None
    since: date | None = None
    # In a period longer than a month: the kinds of the level's units in the month its
    # procedures are counted in (the period's latest reporting them), which name the level in
    # that sentence ("xã, phường, đặc khu" at the end of 2025, not the year's "..., thị trấn, ...").
    procedure_kinds: tuple[str, ...] = ()

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
    """Online payments of a period, all levels together."""

    month: str  # the period's code
    units: int  # units with at least one transaction in the period
    transactions: int | None
    amount: int | None
    fee_transactions: int | None
    fee_amount: int | None


@dataclass(frozen=True)
class PopulationFigures:
    lookups: int | None
    matched: int | None
    as_of: date | None
    month: str | None = None  # the month whose city figures these are


@dataclass(frozen=True)
class CategoryCount:
    phrase: str
    count: int


@dataclass(frozen=True)
class SupportFigures:
    """Tickets of the period from one audience, and the categories that had any (report order)."""

    audience: str
    total: int
    categories: tuple[CategoryCount, ...]


@dataclass(frozen=True)
class MonthFigures:
    """Every figure of a period's report (the name is the month's, from before periods)."""

    month: str  # the period's code: 2023-09, 2026-Q3, 2026-H1, 2026-9M, 2026
    previous_month: str  # the code of the period of equal length before it
    organisation: Organisation
    levels: tuple[LevelFigures, ...]  # the period's levels only, in report order
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
    period: ReportPeriod | None = None
    # The months of the period that have statistics (unit or city figures), in order.
    data_months: tuple[str, ...] = ()
    # The same period of the year before (None when it reports no payments).
    same_period_payment: PaymentFigures | None = None
    # Dossiers received in the period before and in the same period of the year before.
    previous_received: int | None = None
    same_period_received: int | None = None
    # The period's tickets resolved on time or late, and still open (late as of building).
    service_levels: OnTime | None = None

    @property
    def report_period(self) -> ReportPeriod:
        return self.period or ReportPeriod.parse(self.month)

    @property
    def missing_months(self) -> tuple[str, ...]:
        """The period's months without statistics (a period still running, or a gap)."""
        return tuple(m for m in self.report_period.months if m not in self.data_months)

    def level(self, level: str) -> LevelFigures | None:
        """The level's figures, or None when the period has no unit of that level."""
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


def _units(months: tuple[str, ...], period: PeriodUnits) -> tuple[list[UnitFigures], set[int]]:
    """The period's units with their figures summed over its months, in report order, and their
    ids: the units that exist in the period (``units_in``), active or reporting in it (one
    query)."""
    stmt = (
        select(
            UnitStat.unit_id,
            _sum(UnitStat.received),
            _sum(UnitStat.online),
            _sum(UnitStat.signed_results),
        )
        .where(UnitStat.month.in_(months))
        .group_by(UnitStat.unit_id)
    )
    figures = {row[0]: tuple(row[1:]) for row in db.session.execute(stmt)}
    codes = {u.id: u.code for u in period.units if u.level == "district"}
    listed = [u for u in period.units if u.active or u.id in figures]
    return [
        UnitFigures(
            u.code,
            u.level,
            u.kind,
            u.name,
            codes.get(u.parent_id) if u.level == "commune" else None,
            *figures.get(u.id, (None, None, None)),
        )
        for u in listed
    ], {u.id for u in listed}


def _sum(column):
    """SUM as an integer (PostgreSQL sums BIGINT as NUMERIC); NULL when nothing is reported."""
    return cast(func.sum(column), BigInteger)


def _units_with(column):
    """How many units have a figure above zero (in any month of the rows)."""
    return func.count(func.distinct(case((column > 0, UnitStat.unit_id))))


def _level(
    info: LevelInfo,
    totals: Totals,
    span: tuple[date | None, date | None],
    procedure_kinds: tuple[str, ...] = (),
) -> LevelFigures:
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
        until=span[0],
        since=span[1],
        procedure_kinds=procedure_kinds,
    )


def _level_span(
    level: str, period: ReportPeriod, units: PeriodUnits, listed: set[int]
) -> tuple[date | None, date | None]:
    """(until, since) of a level in a period longer than a month: its last day when every listed
    unit of the level ended inside the period, its first day when every one began inside it."""
    if period.is_month:
        return None, None
    mine = [u for u in units.units if u.level == level and u.id in listed]
    ends = [u.valid_to for u in mine]
    starts = [u.valid_from for u in mine]
    until = max(ends) if mine and None not in ends and max(ends) < period.last_day else None
    since = min(starts) if mine and None not in starts and min(starts) > period.first_day else None
    return until, since


def _kinds_in(
    level: str, month: str | None, period: ReportPeriod, units: PeriodUnits, listed: set[int]
) -> tuple[str, ...]:
    """The kinds of the level's listed units that exist in ``month`` (a longer period only)."""
    if period.is_month or month is None:
        return ()
    days = Period.month(month)
    kinds = [
        u.kind
        for u in units.units
        if u.level == level
        and u.id in listed
        and (u.valid_from is None or u.valid_from <= days.last)
        and (u.valid_to is None or u.valid_to >= days.first)
    ]
    return commune_kinds(kinds) if level == "commune" else tuple(dict.fromkeys(kinds))


@dataclass(frozen=True)
class _Span:
    """What the totals are asked for: the period's months, and the days whose units count."""

    months: tuple[str, ...]
    first_day: date
    last_day: date


def _span(period: ReportPeriod, data: tuple[str, ...]) -> _Span:
    """The period's months, over the days from its first month with statistics to its last:
    a unit that existed only in months without statistics (before the first, after the last)
    is not listed as a unit that did not report. When the period's first and last months have
    statistics (a complete period), these are the period's own days."""
    first = ReportPeriod.of_month(data[0]).first_day
    last = ReportPeriod.of_month(data[-1]).last_day
    return _Span(period.months, first, last)


def _levels(
    period: ReportPeriod,
    span: _Span,
    units: PeriodUnits,
    listed: set[int],
    stock_month: str | None,
) -> tuple[LevelFigures, ...]:
    """The period's levels: those with units in it, with the totals of ``level_totals``."""
    totals = level_totals(span)
    return tuple(
        _level(
            info,
            totals[info.level],
            _level_span(info.level, period, units, listed),
            _kinds_in(info.level, stock_month, period, units, listed),
        )
        for info in units.levels
        if info.level in totals
    )


@dataclass(frozen=True)
class _Sums:
    payment: PaymentFigures | None
    received: int | None


def _period_sums(periods: dict[str, ReportPeriod]) -> dict[str, _Sums]:
    """Payments and dossiers received of each period, all levels together: one query (a UNION
    ALL of one aggregate per period, so that overlapping periods are each summed whole)."""
    parts = [
        select(
            literal(key).label("period"),
            _units_with(UnitStat.payment_transactions).label("units"),
            _sum(UnitStat.payment_transactions).label("transactions"),
            _sum(UnitStat.payment_amount).label("amount"),
            _sum(UnitStat.fee_transactions).label("fee_transactions"),
            _sum(UnitStat.fee_amount).label("fee_amount"),
            _sum(UnitStat.received).label("received"),
        ).where(UnitStat.month.in_(p.months))
        for key, p in periods.items()
    ]
    result = {}
    for row in db.session.execute(union_all(*parts)):
        code = periods[row.period].code
        payment = None
        if row.transactions is not None or row.amount is not None:
            payment = PaymentFigures(
                code,
                row.units or 0,
                row.transactions,
                row.amount,
                row.fee_transactions,
                row.fee_amount,
            )
        result[row.period] = _Sums(payment, row.received)
    return result


def _support(months: tuple[str, ...]) -> dict[str, SupportFigures]:
    stmt = (
        select(Ticket.audience, Category.report_phrase, func.count(Ticket.id))
        .join(Category, Category.id == Ticket.category_id)
        .where(Ticket.opened_month.in_(months))
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


def _service_levels(months: tuple[str, ...]) -> OnTime:
    row = db.session.execute(
        select(*on_time_sums(now_local())).where(Ticket.opened_month.in_(months))
    ).one()
    return OnTime(*(int(v or 0) for v in row))


def _activities(months: tuple[str, ...]) -> tuple[str, ...]:
    """The other support work of each month, the months in order."""
    stmt = (
        select(Activity.text)
        .where(Activity.month.in_(months))
        .order_by(Activity.month, Activity.position, Activity.id)
    )
    return tuple(text for text in db.session.scalars(stmt) if text and text.strip())


def _population(months: tuple[str, ...]) -> PopulationFigures | None:
    """The latest population lookups of the period (a running total: never summed)."""
    stmt = (
        select(CityStat)
        .where(CityStat.month.in_(months), CityStat.population_lookups.is_not(None))
        .order_by(CityStat.month.desc())
        .limit(1)
    )
    row = db.session.scalar(stmt)
    if row is None:
        return None
    return PopulationFigures(
        row.population_lookups, row.population_matched, row.population_as_of, row.month
    )


def month_label(month: str) -> str:
    """``2023-09`` -> ``9/2023``, as the report writes months."""
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def _data_months(months: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """Those of the months that have any unit statistics or city figures, in order, and the
    latest of them that reports procedures set up for payment (one query)."""
    reports_procedures = func.max(case((UnitStat.payment_procedures.is_not(None), 1), else_=0))
    stmt = union_all(
        select(UnitStat.month, reports_procedures)
        .where(UnitStat.month.in_(months))
        .group_by(UnitStat.month),
        select(CityStat.month, literal(0)).where(CityStat.month.in_(months)),
    )
    rows = db.session.execute(stmt).all()
    found = {month for month, _ in rows}
    stock = max((month for month, flag in rows if flag), default=None)
    return tuple(m for m in months if m in found), stock


def data_months(months: tuple[str, ...]) -> tuple[str, ...]:
    """Those of the months that have any unit statistics or city figures, in order."""
    return _data_months(months)[0]


def has_statistics(month: str) -> bool:
    """True if the month has any unit statistics or city figures."""
    return bool(data_months((month,)))


def build_month(month: str) -> MonthFigures:
    """Read every figure of ``month``'s report; raise ReportError if it has no statistics."""
    parse_month(month)
    return build_period(ReportPeriod.of_month(month))


def build_period(period: ReportPeriod) -> MonthFigures:
    """Read every figure of the period's report; raise ReportError if it has no statistics.

    A fixed number of queries whatever the number of months and units: 11, or 10 in a period
    without districts (no district sums to read).
    """
    months = period.months
    found, stock_month = _data_months(months)
    if not found:
        raise ReportError(f"{period.title} chưa có số liệu thống kê.")
    previous = period.previous()
    same = period.same_period_last_year()
    compared = {"current": period, "previous": previous}
    if same.months != previous.months:
        compared["same"] = same
    span = _span(period, found)
    units_of = units_in(Period(span.first_day, span.last_day))
    levels_units, listed = _units(months, units_of)
    levels = _levels(period, span, units_of, listed, stock_month)
    sums = _period_sums(compared)
    population = _population(months)
    support = _support(months)
    districts = tuple(u for u in levels_units if u.level == "district")
    communes = tuple(u for u in levels_units if u.level == "commune")
    groups: tuple[DistrictCommunes, ...] = ()
    if districts:
        groups = _district_groups(span, units_of, districts, communes)
    current = sums.get("current")
    before = sums.get("previous")
    last_year = sums.get("same") if "same" in compared else before
    return MonthFigures(
        month=period.code,
        previous_month=previous.code,
        organisation=_org(),
        levels=levels,
        departments=tuple(u for u in levels_units if u.level == "department"),
        districts=districts,
        district_communes=groups,
        payment=current.payment if current else None,
        previous_payment=before.payment if before else None,
        population=population,
        citizen_support=support.get("citizen", SupportFigures("citizen", 0, ())),
        agency_support=support.get("agency", SupportFigures("agency", 0, ())),
        activities=_activities(months),
        communes=communes,
        period=period,
        data_months=found,
        same_period_payment=last_year.payment if last_year else None,
        previous_received=before.received if before else None,
        same_period_received=last_year.received if last_year else None,
        service_levels=_service_levels(months),
    )


def _district_groups(
    span: _Span,
    units_of: PeriodUnits,
    districts: tuple[UnitFigures, ...],
    communes: tuple[UnitFigures, ...],
) -> tuple[DistrictCommunes, ...]:
    """Communes by their district, with the district's commune sums (one query)."""
    sums = district_totals(span)
    ids = {u.code: u.id for u in units_of.units if u.level == "district"}
    by_district: dict[str, list[UnitFigures]] = {}
    for unit in communes:
        if unit.district_code:
            by_district.setdefault(unit.district_code, []).append(unit)
    return tuple(
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


def _received_online(totals: Totals | None) -> tuple[int | None, int | None]:
    if totals is None:
        return None, None
    return totals.received, totals.online
