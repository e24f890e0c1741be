"""The supervisors' dashboard for a period: every figure computed by SQL aggregation.

A period is a month, a quarter, six or nine months or a year (``helpdesk.periods.ReportPeriod``).
``build_period(period, today)`` runs fourteen queries (categories; the period's units,
``units_in``; the tickets by month x audience x category over the trend and both compared
periods, by month x unit, and the levels' lifetimes; the period's small dimensions and operator
names; unit x category; resolution minutes; on-time counts by category, unit and operator;
the unresolved tickets; unit statistics) whatever the number of tickets, units or months, and
returns frozen dataclasses of plain values. Every count reads the counts the database keeps per
month (``tickets.counts``, kept by triggers in each ticket's own transaction), so a period costs
what its months' combinations cost, not its tickets; only what depends on the time of day
(overdue, late, still in time) is counted live, among the period's unresolved tickets, which a
partial index holds (``ix_tickets_unresolved_month``). Nothing here reads the request or loads
a ticket row. ``build_month(month, today)`` is the same for one month.

The period's tickets are those opened in its months; each count is compared with the period of
equal length just before (``ReportPeriod.previous``). Units change over time (departments merged
on 1/3/2025, districts abolished on 1/7/2025): the tables list the units and levels that exist on
some day of the period (a 2025 year has districts, until 6/2025), and the 12-month trend ending
with the period's last month shows each level in the months it existed (a gap, None, in the
others) beside the city total, which continues.

Every count carries ``params``: the GET parameters of the ticket list (``tickets.index``) that
list exactly the counted tickets (``month`` for a month, ``from``/``to`` dates for a longer
period). The template turns them into links; tests check each one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
)

from ..auth.models import User
from ..extensions import db
from ..periods import ReportPeriod
from ..stats.models import CityStat, UnitStat
from ..tickets import sla
from ..tickets.counts import (
    TicketDimensionCount,
    TicketMinuteCount,
    TicketOnTimeCategory,
    TicketOnTimeOperator,
    TicketOnTimeUnit,
    TicketTrendCount,
    TicketUnitCategoryCount,
    TicketUnitCount,
)
from ..tickets.models import (
    AUDIENCE_LABELS,
    AUDIENCES,
    CHANNEL_LABELS,
    CHANNELS,
    STATUS_LABELS,
    STATUSES,
    Category,
    Ticket,
)
from ..tickets.queries import DONE_STATUSES, TicketFilter, moment_of, ticket_conditions
from ..tickets.sla import OnTime
from ..timeutil import parse_month, previous_month
from ..units.models import LEVELS, Unit, commune_phrase, level_label
from ..units.periods import LevelInfo, Period, PeriodUnit, exists_during, units_in
from .format import month_short

DONE = DONE_STATUSES
TREND_MONTHS = 12
TOP_CATEGORIES = 5
TOP_LATE_UNITS = 10
# The category whose complaints the City asks about ("calls about late dossiers"); the app
# setting DASHBOARD_LATE_CATEGORY names another.
LATE_CATEGORY = "late_dossier"
# Tickets without a unit, or whose unit's level the month does not have (imported data).
NO_UNIT_LABEL = "Chưa rõ đơn vị"
# How the trend names a level that no longer exists in the month shown: the district level
# ended on 30/6/2025 ("không tổ chức cấp huyện"), so it is named by its official generic name.
ENDED_LEVEL_NAMES = {"district": "Cấp huyện"}

Params = dict[str, str | list[str]]


# ---------------------------------------------------------------------------------------------
# Result dataclasses: plain values only (the template and the exports receive these).


@dataclass(frozen=True)
class Count:
    """A number of tickets and the ticket-list parameters that list exactly them."""

    value: int
    params: Params | None  # None: the ticket list has no filter for this group


@dataclass(frozen=True)
class CategoryRow:
    code: str
    label: str
    audience: str
    count: Count
    previous: Count

    @property
    def change(self) -> int:
        return self.count.value - self.previous.value


@dataclass(frozen=True)
class AudienceBlock:
    audience: str
    label: str
    rows: tuple[CategoryRow, ...]
    total: Count
    previous_total: Count

    @property
    def change(self) -> int:
        return self.total.value - self.previous_total.value


@dataclass(frozen=True)
class LabelledCount:
    key: str
    label: str
    count: Count


@dataclass(frozen=True)
class SatisfactionRow:
    """How the callers asked felt, for one category, unit or operator (or all of them)."""

    key: str | None
    label: str
    satisfied: int
    neutral: int
    unsatisfied: int

    @property
    def asked(self) -> int:
        return self.satisfied + self.neutral + self.unsatisfied

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.asked if self.asked else None


@dataclass(frozen=True)
class Satisfaction:
    """The period's satisfaction, from the tickets where the caller was asked (no query of its
    own: counted alongside the unit x category and operator groupings)."""

    total: SatisfactionRow
    by_category: tuple[SatisfactionRow, ...]
    by_unit: tuple[SatisfactionRow, ...]
    by_operator: tuple[SatisfactionRow, ...]


@dataclass(frozen=True)
class OnTimeRow:
    """Service-level counts of one category, unit or operator (tickets opened in the period)."""

    key: str | None
    label: str
    counts: OnTime


@dataclass(frozen=True)
class ServiceLevels:
    """On-time resolution of the period's tickets (one query: category x unit x operator).

    The unit is the one the ticket was forwarded to, else the unit concerned: the ranking is of
    the units that had to act. Late open tickets are late as of the moment the page is built.
    """

    total: OnTime
    by_category: tuple[OnTimeRow, ...]
    by_unit: tuple[OnTimeRow, ...]  # ranked: best on-time rate first, then most resolved
    by_operator: tuple[OnTimeRow, ...]


@dataclass(frozen=True)
class DistrictRow:
    unit_id: int
    code: str
    name: str
    count: Count
    late: Count
    received: int | None  # the district and its communes; None if none of them reported
    per_1000: float | None


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    code: str
    name: str
    level: str
    count: Count
    received: int | None
    per_1000: float | None


@dataclass(frozen=True)
class LateUnitRow:
    unit_id: int
    code: str
    name: str
    level: str
    late: Count
    received: int | None
    online: int | None

    @property
    def online_share(self) -> float | None:
        if self.online is None or not self.received:
            return None
        return self.online / self.received


@dataclass(frozen=True)
class Resolution:
    total: Count  # every ticket opened in the period
    done: Count  # resolved or closed
    timed: int  # of those, with a resolution time (resolved_at set)
    same_day: Count
    overdue: Count
    median_minutes: float | None
    p90_minutes: float | None
    median_error: float  # the estimate is within this many minutes of the exact value
    p90_error: float

    @property
    def same_day_share(self) -> float | None:
        return self.same_day.value / self.total.value if self.total.value else None


@dataclass(frozen=True)
class TrendSeries:
    key: str
    label: str
    # One per month of MonthDashboard.trend_months; None: the series has no value that month
    # (a level the month did not have), drawn as a gap, never as 0.
    counts: tuple[Count | None, ...]

    def values(self) -> tuple[int | None, ...]:
        return tuple(None if c is None else c.value for c in self.counts)


@dataclass(frozen=True)
class Dashboard:
    period: ReportPeriod
    previous: ReportPeriod  # the period of equal length just before, compared with
    today: date
    blocks: tuple[AudienceBlock, ...]
    total: Count
    previous_total: Count
    by_channel: tuple[LabelledCount, ...]
    by_status: tuple[LabelledCount, ...]
    by_operator: tuple[LabelledCount, ...]
    by_level: tuple[LabelledCount, ...]
    by_district: tuple[DistrictRow, ...]
    resolution: Resolution
    # Every unit of the period with tickets or a received figure, most tickets first.
    units: tuple[UnitRow, ...]
    late_units: tuple[LateUnitRow, ...]
    late_category: str | None  # label of the late-dossier category, if it exists
    trend_months: tuple[str, ...]
    trend_audience: tuple[TrendSeries, ...]
    trend_categories: tuple[TrendSeries, ...]
    trend_total: TrendSeries  # every ticket, month by month, across the reorganisations
    trend_levels: tuple[TrendSeries, ...]  # tickets per unit level; gaps where it did not exist
    levels: tuple[LevelInfo, ...] = ()  # the period's levels (units_in(period).levels)
    # The period's months that have procedure statistics (any unit_stats row).
    stats_months: tuple[str, ...] = field(default=())
    satisfaction: Satisfaction | None = None
    service_levels: ServiceLevels | None = None
    # The kinds of the communes under the period's districts (``xã, phường, thị trấn``; a 2025
    # year's đặc khu never had a district); empty without districts.
    district_phrase: str = ""

    @property
    def code(self) -> str:
        """The period's code, as in the URL: ``2025-09``, ``2025-Q3``, ``2025``."""
        return self.period.code

    @property
    def stats_reported(self) -> bool:
        return bool(self.stats_months)

    @property
    def missing_stats_months(self) -> tuple[str, ...]:
        """The period's months without procedure statistics (its received figures leave them
        out)."""
        return tuple(m for m in self.period.months if m not in self.stats_months)

    def block(self, audience: str) -> AudienceBlock | None:
        return next((b for b in self.blocks if b.audience == audience), None)

    def level_label(self, level: str) -> str:
        """The level as the period names it (``Cấp xã, phường, đặc khu`` in 2025-08)."""
        info = next((i for i in self.levels if i.level == level), None)
        return info.label if info else level_label(level)

    @property
    def commune_phrase(self) -> str:
        """``xã, phường, thị trấn`` (2023), ``xã, phường, đặc khu`` (2025-08), all four in a
        2025 year."""
        info = next((i for i in self.levels if i.level == "commune"), None)
        return info.phrase if info else ""


# ---------------------------------------------------------------------------------------------
# Resolution time: a histogram in SQL, percentiles from its cumulative counts.
#
# SQLite has no percentile_cont, so both databases group the month's resolution times into
# buckets (GROUP BY the bucket's lower bound, in minutes) and Python walks the cumulative counts
# over at most ~2,200 buckets (in practice a few hundred). Widths, and so the precision:
#   under 1 hour: 1 minute (exact for times recorded to the minute)
#   under 1 day: 5 minutes; under 10 days: 30 minutes; under 365 days: 6 hours;
#   365 days or more: one open bucket (reported as 365 days).
# The reported value is the nearest-rank percentile (the ceil(p*n)-th smallest time); inside a
# wider bucket it is interpolated linearly, so it is off by less than the bucket's width.

_BUCKETS = ((60, 1), (1440, 5), (14400, 30), (525600, 360))
_OVERFLOW = 525600


def bucket_width(lower: int) -> int:
    for limit, width in _BUCKETS:
        if lower < limit:
            return width
    return 0


def percentile(buckets: list[tuple[int, int]], p: float) -> tuple[float | None, float]:
    """Nearest-rank percentile from sorted (lower bound, count) buckets, and its error bound."""
    n = sum(c for _lo, c in buckets)
    if not n:
        return None, 0.0
    rank = max(1, math.ceil(p * n))
    seen = 0
    for lower, count in buckets:
        if seen + count >= rank:
            width = bucket_width(lower)
            if width <= 1:
                return float(lower), float(width)
            inside = (rank - seen - 0.5) / count
            return lower + width * inside, float(width)
        seen += count
    raise AssertionError("unreachable: rank <= n")


# ---------------------------------------------------------------------------------------------
# Conditions shared by the counts and their drill-down parameters.


def _where(today: date, **fields) -> ColumnElement[bool]:
    """The ticket list's own WHERE for these filter fields: counts and links cannot disagree."""
    return and_(*ticket_conditions(TicketFilter(**fields), today))


def trend_window(month: str) -> tuple[str, ...]:
    months = [month]
    for _ in range(TREND_MONTHS - 1):
        months.append(previous_month(months[-1]))
    return tuple(reversed(months))


def _count(value: int, params: Params | None) -> Count:
    return Count(int(value or 0), params)


def period_params(period: ReportPeriod) -> Params:
    """The ticket list's parameters for the tickets opened in ``period``: ``month`` for a month,
    ``from``/``to`` (its first and last day) for a longer period."""
    if len(period.months) == 1:
        return {"month": period.months[0]}
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}


def as_report_period(value: str | ReportPeriod) -> ReportPeriod:
    """A period from its code (``2025-09``, ``2025-Q3``, ``2025``); PeriodError if it is none."""
    return value if isinstance(value, ReportPeriod) else ReportPeriod.parse(value)


# ---------------------------------------------------------------------------------------------
# The dashboard: the queries first (each run once), then one function per figure group.


def build_month(month: str, today: date, late_category: str = LATE_CATEGORY) -> Dashboard:
    """Every figure of the dashboard for ``month`` (``YYYY-MM``; ValueError otherwise)."""
    return build_period(ReportPeriod.of_month(month), today, late_category)


def build_period(
    period: ReportPeriod | str, today: date, late_category: str = LATE_CATEGORY
) -> Dashboard:
    """Compute every figure of the dashboard for ``period``, overdue as of today (fourteen
    queries, whatever the period's length).

    ``late_category`` is the code of the category counted as late-dossier complaints.
    """
    period = as_report_period(period)
    prev = period.previous()
    base = period_params(period)
    last = period.months[-1]

    categories = _categories()
    units = units_in(Period(period.first_day, period.last_day))
    trend = _trend(trend_window(last), categories, counted=period.months + prev.months)
    live = _unresolved(period, today)
    dims = _period_dimensions(period, live)
    unit_counts = _unit_category_counts(period)
    buckets = _resolution_buckets(period, today)
    stats = _unit_stats(period)

    late = _late_category(categories, late_category)
    tally = _tally_units(unit_counts.rows, units, late)
    by_channel, by_status, by_operator = _small_dimensions(base, dims)
    total = _count(trend.months_total(period.months), dict(base))
    return Dashboard(
        period=period,
        previous=prev,
        today=today,
        blocks=_audience_blocks(period, prev, categories, trend),
        total=total,
        previous_total=_count(trend.months_total(prev.months), period_params(prev)),
        by_channel=by_channel,
        by_status=by_status,
        by_operator=by_operator,
        by_level=_by_level(base, units.levels, tally),
        by_district=_by_district(base, units.units, tally, stats, late),
        resolution=_resolution(base, total, dims, buckets),
        units=_unit_rows(base, units.units, tally, stats),
        late_units=_late_units(base, units.units, tally, stats, late),
        late_category=late.label,
        trend_months=trend.months,
        trend_audience=trend.audience,
        trend_categories=trend.categories,
        trend_total=trend.total,
        trend_levels=trend.levels,
        levels=units.levels,
        stats_months=stats.months,
        district_phrase=_district_phrase(units.units),
        satisfaction=_satisfaction(unit_counts, categories, units.units, dims),
        service_levels=_service_levels(period, live, categories, units.units, dims),
    )


def latest_month(upto: str) -> str | None:
    """The newest month, not after ``upto``, that has tickets or statistics (one query)."""
    newest = union_all(
        select(func.max(Ticket.opened_month).label("month")).where(Ticket.opened_month <= upto),
        select(func.max(UnitStat.month)).where(UnitStat.month <= upto),
        select(func.max(CityStat.month)).where(CityStat.month <= upto),
    ).subquery()
    return db.session.scalar(select(func.max(newest.c.month)))


# -- the period's queries ---------------------------------------------------------------------
#
# The list's month filter is opened_month = m AND an opened_at range (for its sorted pages); its
# from/to filter is an opened_at range. Each says the same as the month column (opened_month is
# the month of opened_at), and the range alone leads SQLite's planner to the opened_at indexes
# and a lookup per ticket. The counts use the column the covering index leads with (one month,
# or a range of months); tests check every count against the list's own filter.


def _in_period(period: ReportPeriod) -> ColumnElement[bool]:
    """The period's months. A list, not a range: SQLite plans ``IN`` as one index seek per
    month and keeps to the covering index, where a range of months (estimated as a large part
    of the table) leads it to ix_tickets_status_opened and a lookup per ticket."""
    if len(period.months) == 1:
        return Ticket.opened_month == period.months[0]
    return Ticket.opened_month.in_(period.months)


# The unresolved statuses as literal SQL: the planner can then use the partial index
# ix_tickets_unresolved_month (0013), which holds those tickets only.
_UNRESOLVED = text("tickets.status IN (" + ", ".join(f"'{s}'" for s in sla.UNRESOLVED) + ")")


@dataclass(frozen=True)
class _Dimensions:
    """The period's tickets by channel, status and operator, and two flags counted alongside."""

    channel: dict[str, int]
    status: dict[str, int]
    operator: dict[int | None, int]
    operator_names: dict[int, str]
    same_day: int
    overdue: int
    # Operator -> satisfaction -> tickets, for the tickets where the caller was asked.
    operator_satisfaction: dict[int | None, dict[str, int]] = field(default_factory=dict)


def _unresolved(period: ReportPeriod, today: date) -> list:
    """The period's unresolved tickets by category, by unit and by operator: still in time,
    late (the service-level counts: not merged, with a due time, not resolved before) and
    overdue (the list's ``overdue`` filter), as of now (one query, over
    ix_tickets_unresolved_month).

    Rows ``(kind, key, in time, late, overdue)``, kind "c" (category), "u" (unit: the unit
    forwarded to, else the unit concerned) or "o" (operator). The database adds them up by
    each key on its own (PostgreSQL: GROUPING SETS, one pass; SQLite: three GROUP BYs): the
    newest month at ten million tickets has 12.000 category x unit x operator groups, which
    Python had to add up itself.
    """
    now = moment_of(today)
    late = sla.late_open_condition(now)
    counted = and_(
        Ticket.resolved_at.is_(None),
        Ticket.merged_into_id.is_(None),
        Ticket.due_at.is_not(None),
    )
    unit_id = func.coalesce(Ticket.forwarded_unit_id, Ticket.unit_id)
    sums = (
        func.sum(case((and_(counted, ~late), 1), else_=0)),
        func.sum(case((and_(counted, late), 1), else_=0)),
        func.sum(case((_where(today, overdue=True), 1), else_=0)),
    )
    where = (_in_period(period), _UNRESOLVED)
    if db.session.get_bind().dialect.name == "postgresql":
        # grouping(...) tells the sets apart (a null unit or operator is a key of its own):
        # a bit is set for each column the row's set does not group by.
        which = func.grouping(Ticket.category_id, unit_id, Ticket.operator_id)
        sets = func.grouping_sets(
            tuple_(Ticket.category_id), tuple_(unit_id), tuple_(Ticket.operator_id)
        )
        rows = db.session.execute(
            select(which, Ticket.category_id, unit_id, Ticket.operator_id, *sums)
            .where(*where)
            .group_by(sets)
        ).all()
        # grouping bits -> the kind, and which of the three key columns holds its key
        kind_of = {0b011: ("c", 0), 0b101: ("u", 1), 0b110: ("o", 2)}
        live = []
        for bits, *row in rows:
            kind, column = kind_of[bits]
            live.append((kind, row[column], *row[3:]))
        return live
    by_key = [("c", Ticket.category_id), ("u", unit_id), ("o", Ticket.operator_id)]
    parts = [
        select(literal_column(f"'{kind}'"), key, *sums).where(*where).group_by(key)
        for kind, key in by_key
    ]
    return list(db.session.execute(union_all(*parts)).all())


def _period_dimensions(period: ReportPeriod, live: list) -> _Dimensions:
    """Channel x status x operator x satisfaction from the kept counts, the overdue ones from
    the live count of the unresolved (``_unresolved``), then the operators' names (two
    queries)."""
    kept = TicketDimensionCount
    rows = db.session.execute(
        select(
            kept.channel,
            kept.status,
            kept.operator_key,
            kept.satisfaction_key,
            func.sum(kept.n),
            func.sum(kept.same_day),
        )
        .where(kept.month.in_(period.months))
        .group_by(kept.channel, kept.status, kept.operator_key, kept.satisfaction_key)
    ).all()
    overdue_n = sum(int(row[4] or 0) for row in live if row[0] == "c")
    channel_n: dict[str, int] = defaultdict(int)
    status_n: dict[str, int] = defaultdict(int)
    operator_n: dict[int | None, int] = defaultdict(int)
    operator_sat: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    same_day_n = 0
    for channel, status, operator_key, satisfaction, n, sd in rows:
        n = int(n or 0)
        if not n:
            continue
        operator_id = operator_key or None
        channel_n[channel] += n
        status_n[status] += n
        operator_n[operator_id] += n
        if satisfaction:
            operator_sat[operator_id][satisfaction] += n
        same_day_n += int(sd or 0)
    operator_ids = [i for i in operator_n if i is not None]
    names = (
        dict(
            db.session.execute(
                select(User.id, User.full_name).where(User.id.in_(operator_ids))
            ).all()
        )
        if operator_ids
        else {}
    )
    return _Dimensions(
        channel_n, status_n, operator_n, names, same_day_n, int(overdue_n or 0), dict(operator_sat)
    )


@dataclass(frozen=True)
class _UnitCategoryCounts:
    """The period's tickets by unit x category (with each unit's level and parent), and the
    satisfaction answers by unit and by category."""

    # (unit id or None, level, parent id, category id, tickets)
    rows: list[tuple[int | None, str | None, int | None, int, int]]
    # unit id or None -> satisfaction -> tickets; category id -> satisfaction -> tickets
    satisfaction_by_unit: dict[int | None, dict[str, int]]
    satisfaction_by_category: dict[int, dict[str, int]]


def _unit_category_counts(period: ReportPeriod) -> _UnitCategoryCounts:
    """The period's tickets by unit x category, and the satisfaction answers by unit and by
    category, from the kept counts (one query: three groupings of the same rows).

    The kept table's grain is unit x category x satisfaction (about 10.000 rows a month at ten
    million tickets); the database adds them up to what the page shows, a third of that, so
    far fewer rows cross into Python.

    The level and parent come from the unit itself, not from the period's units: a ticket filed
    against a unit that does not exist in the period (imported data) is still counted as the
    ticket list's ``level`` and ``district`` filters count it.
    """
    kept = TicketUnitCategoryCount
    in_period = kept.month.in_(period.months)
    answered = and_(in_period, kept.satisfaction_key != "")
    # Constants as SQL text: a bound parameter in a UNION has no type PostgreSQL can settle.
    no_key = literal_column("CAST(NULL AS INTEGER)", Integer)
    grouped = union_all(
        select(literal_column("'uc'").label("kind"), kept.unit_key.label("unit_key"),
               kept.category_id.label("category_id"), literal_column("''").label("answer"),
               func.sum(kept.n).label("n"))
        .where(in_period).group_by(kept.unit_key, kept.category_id),
        select(literal_column("'u'"), kept.unit_key, no_key, kept.satisfaction_key,
               func.sum(kept.n))
        .where(answered).group_by(kept.unit_key, kept.satisfaction_key),
        select(literal_column("'c'"), no_key, kept.category_id, kept.satisfaction_key,
               func.sum(kept.n))
        .where(answered).group_by(kept.category_id, kept.satisfaction_key),
    ).subquery()  # fmt: skip
    rows = db.session.execute(
        select(
            grouped.c.kind,
            grouped.c.unit_key,
            Unit.level,
            Unit.parent_id,
            grouped.c.category_id,
            grouped.c.answer,
            grouped.c.n,
        )
        .select_from(grouped)
        .outerjoin(Unit, and_(grouped.c.kind == "uc", Unit.id == grouped.c.unit_key))
        .where(grouped.c.n != 0)
    ).all()
    counts: list = []
    by_unit: dict = defaultdict(lambda: defaultdict(int))
    by_category: dict = defaultdict(lambda: defaultdict(int))
    for kind, unit_key, level, parent_id, category_id, answer, n in rows:
        if kind == "uc":
            counts.append((unit_key or None, level, parent_id, category_id, int(n)))
        elif kind == "u":
            by_unit[unit_key or None][answer] += int(n)
        else:
            by_category[category_id][answer] += int(n)
    return _UnitCategoryCounts(counts, by_unit, by_category)


def _resolution_buckets(period: ReportPeriod, today: date) -> list[tuple[int, int]]:
    """Resolution-time histogram of the period's resolved and closed tickets (one query over
    the kept counts by whole minute; bucketed here, each bucket starting at a multiple of its
    width)."""
    kept = TicketMinuteCount
    bucket = _bucket_expression(kept.minutes)
    rows = db.session.execute(
        select(bucket, func.sum(kept.n))
        .where(kept.month.in_(period.months))
        .group_by(bucket)
        .having(func.sum(kept.n) != 0)
        .order_by(bucket)
    ).all()
    return [(int(lower), int(n)) for lower, n in rows]


def _bucket_expression(minutes):
    """The lower bound of the histogram bucket that holds ``minutes`` (see _BUCKETS), in SQL:
    the database adds the minutes up by bucket (a few hundred rows back instead of ten thousand
    for a quarter at ten million tickets). A bucket wider than one minute only holds minutes of
    60 and more, so the integer division never meets a negative number (where SQL truncates
    and Python floors)."""
    whens = []
    for limit, width in _BUCKETS:
        whens.append((minutes < limit, minutes if width == 1 else (minutes // width) * width))
    return case(*whens, else_=literal(_OVERFLOW, Integer))


@dataclass(frozen=True)
class _Stats:
    """The period's procedure statistics by unit id: each figure summed over the months that
    report it (None: no month of the period reports it for that unit)."""

    received: dict[int, int | None]
    online: dict[int, int | None]
    months: tuple[str, ...]  # the period's months with any unit_stats row


def _unit_stats(period: ReportPeriod) -> _Stats:
    first, last = period.months[0], period.months[-1]
    rows = db.session.execute(
        select(UnitStat.month, UnitStat.unit_id, UnitStat.received, UnitStat.online).where(
            UnitStat.month >= first, UnitStat.month <= last
        )
    ).all()
    received: dict[int, int | None] = {}
    online: dict[int, int | None] = {}
    for _month, unit_id, rec, onl in rows:
        received[unit_id] = _add(received.get(unit_id), rec)
        online[unit_id] = _add(online.get(unit_id), onl)
    months = tuple(sorted({r.month for r in rows}))
    return _Stats(received, online, months)


def _add(total: int | None, value: int | None) -> int | None:
    """A sum in which a missing figure is left out, and None while every one is missing."""
    if value is None:
        return total
    return value if total is None else total + value


# -- figure groups ----------------------------------------------------------------------------


def _audience_blocks(
    period: ReportPeriod, prev: ReportPeriod, categories, trend: Trend
) -> tuple[AudienceBlock, ...]:
    """Audience x category, each against the previous period of equal length."""
    now_base, prev_base = period_params(period), period_params(prev)
    blocks = []
    for audience in AUDIENCES:
        rows = []
        for c in categories:
            if c.audience != audience:
                continue
            now_n = trend.category_total(period.months, c.id)
            prev_n = trend.category_total(prev.months, c.id)
            if not c.active and not now_n and not prev_n:
                continue
            params = {"audience": audience, "category": c.code}
            rows.append(
                CategoryRow(
                    c.code,
                    c.label,
                    audience,
                    _count(now_n, now_base | params),
                    _count(prev_n, prev_base | params),
                )
            )
        blocks.append(
            AudienceBlock(
                audience,
                AUDIENCE_LABELS[audience],
                tuple(rows),
                _count(
                    trend.audience_total(period.months, audience),
                    now_base | {"audience": audience},
                ),
                _count(
                    trend.audience_total(prev.months, audience),
                    prev_base | {"audience": audience},
                ),
            )
        )
    return tuple(blocks)


def _small_dimensions(base: Params, dims: _Dimensions) -> tuple[tuple[LabelledCount, ...], ...]:
    """By channel, by status, by operator (most tickets first, then those without one)."""
    by_channel = tuple(
        LabelledCount(ch, CHANNEL_LABELS[ch], _count(dims.channel[ch], base | {"channel": ch}))
        for ch in CHANNELS
    )
    by_status = tuple(
        LabelledCount(st, STATUS_LABELS[st], _count(dims.status[st], base | {"status": st}))
        for st in STATUSES
    )
    names = dims.operator_names
    operators = sorted(
        (i for i in dims.operator if i is not None),
        key=lambda i: (-dims.operator[i], names.get(i, "")),
    )
    by_operator = [
        LabelledCount(
            str(i), names.get(i, f"#{i}"), _count(dims.operator[i], base | {"operator": str(i)})
        )
        for i in operators
    ]
    if dims.operator.get(None):
        nobody = _count(dims.operator[None], None)
        by_operator.append(LabelledCount("", "Chưa ghi người tiếp nhận", nobody))
    return by_channel, by_status, tuple(by_operator)


@dataclass(frozen=True)
class _Late:
    """The late-dossier category: the ids counted, and the list filter that shows them."""

    ids: frozenset[int]
    code: str | None
    label: str | None

    def params(self, base: Params, extra: Params) -> Params | None:
        return base | extra | {"category": self.code} if self.code else None


def _late_category(categories, code: str) -> _Late:
    found = [c for c in categories if c.code == code]
    return _Late(
        frozenset(c.id for c in found),
        found[0].code if found else None,
        found[0].label if found else None,
    )


@dataclass(frozen=True)
class _UnitTally:
    """The period's tickets added up by unit, by level and by district."""

    unit: dict[int, int]
    unit_late: dict[int, int]
    level: dict[str | None, int]  # None: no unit, or a level the period does not have
    district: dict[int, int]  # the district and its communes
    district_late: dict[int, int]


def _satisfaction_rows(counted: dict, labels: dict, missing: str) -> tuple[SatisfactionRow, ...]:
    rows = [
        SatisfactionRow(
            *labels.get(key, (None, missing)),
            by.get("satisfied", 0),
            by.get("neutral", 0),
            by.get("unsatisfied", 0),
        )
        for key, by in counted.items()
    ]
    rows.sort(key=lambda r: (-r.asked, r.label))
    return tuple(rows)


def _satisfaction(
    counted: _UnitCategoryCounts, categories, units, dims: _Dimensions
) -> Satisfaction:
    by_category = counted.satisfaction_by_category
    by_unit = counted.satisfaction_by_unit
    total: dict[str, int] = defaultdict(int)
    for answers in by_category.values():
        for answer, n in answers.items():
            total[answer] += n
    category_labels = {c.id: (c.code, c.label) for c in categories}
    unit_labels = {u.id: (u.code, u.full_name) for u in units}
    operator_labels = {i: (None, name) for i, name in dims.operator_names.items()}
    return Satisfaction(
        SatisfactionRow(None, "Tất cả", total["satisfied"], total["neutral"], total["unsatisfied"]),
        _satisfaction_rows(by_category, category_labels, "Nhóm khác"),
        _satisfaction_rows(by_unit, unit_labels, "Không xác định đơn vị"),
        _satisfaction_rows(dims.operator_satisfaction, operator_labels, "Không rõ người ghi nhận"),
    )


def _service_levels(period: ReportPeriod, live: list, categories, units, dims) -> ServiceLevels:
    """On-time counts by category x unit x operator: the resolved ones from the kept counts,
    the unresolved ones (late or not, as of now) from the live count (three queries)."""
    # The resolved: by category, by unit and by operator from their kept counts (a few dozen
    # or hundred rows a month each); [on time, late, open in time, open late] per key.
    sums_by: dict[str, dict] = {"category": {}, "unit": {}, "operator": {}}
    for name, model, key in (
        ("category", TicketOnTimeCategory, TicketOnTimeCategory.category_id),
        ("unit", TicketOnTimeUnit, TicketOnTimeUnit.unit_key),
        ("operator", TicketOnTimeOperator, TicketOnTimeOperator.operator_key),
    ):
        counted = db.session.execute(
            select(key, func.sum(model.on_time), func.sum(model.late))
            .where(model.month.in_(period.months))
            .group_by(key)
        ).all()
        sums_by[name] = {
            (k if name == "category" else k or None): [int(on or 0), int(late or 0), 0, 0]
            for k, on, late in counted
        }
    grand = [sum(v[0] for v in sums_by["category"].values()),
             sum(v[1] for v in sums_by["category"].values()), 0, 0]  # fmt: skip
    # The unresolved, as of now, from the live count (by category, by unit, by operator).
    names = {"c": "category", "u": "unit", "o": "operator"}
    for kind, key, in_time, late, _overdue in live:
        kept = sums_by[names[kind]].setdefault(key, [0, 0, 0, 0])
        kept[2] += int(in_time or 0)
        kept[3] += int(late or 0)
        if kind == "c":
            grand[2] += int(in_time or 0)
            grand[3] += int(late or 0)
    total = OnTime(*grand)
    by = {name: {k: OnTime(*v) for k, v in kept.items()} for name, kept in sums_by.items()}

    def labelled(counted: dict, labels: dict, missing: str) -> list[OnTimeRow]:
        return [
            OnTimeRow(*labels.get(key, (None, missing)), counts)
            for key, counts in counted.items()
            if counts.resolved or counts.unresolved
        ]

    category_rows = labelled(
        by["category"], {c.id: (c.code, c.label) for c in categories}, "Nhóm khác"
    )
    category_rows.sort(key=lambda r: (-(r.counts.resolved + r.counts.unresolved), r.label))
    unit_rows = [
        r
        for r in labelled(by["unit"], {u.id: (u.code, u.full_name) for u in units}, "")
        if r.key is not None
    ]
    unit_rows.sort(key=lambda r: (-(r.counts.rate or 0), -r.counts.resolved, r.label))
    operator_rows = labelled(
        by["operator"],
        {i: (None, name) for i, name in dims.operator_names.items()},
        "Không rõ người ghi nhận",
    )
    operator_rows.sort(key=lambda r: (-r.counts.resolved, r.label))
    return ServiceLevels(total, tuple(category_rows), tuple(unit_rows), tuple(operator_rows))


def _tally_units(rows, units, late: _Late) -> _UnitTally:
    """Add the unit x category counts up. Levels and districts are the period's: a ticket whose
    unit's level the period does not have goes to "no unit"; a district counts the tickets of
    every unit that is it or under it, as the list's ``district`` filter does."""
    month_levels = set(units.level_names)
    district_ids = {u.id for u in units.of_level("district")}
    unit_n: dict[int, int] = defaultdict(int)
    unit_late: dict[int, int] = defaultdict(int)
    level_n: dict[str | None, int] = defaultdict(int)
    district_n: dict[int, int] = defaultdict(int)
    district_late: dict[int, int] = defaultdict(int)
    for unit_id, level, parent_id, category_id, n in rows:
        is_late = category_id in late.ids
        if unit_id is not None:
            unit_n[unit_id] += n
            if is_late:
                unit_late[unit_id] += n
        level_n[level if level in month_levels else None] += n
        district = _district_of(unit_id, parent_id, district_ids)
        if district is not None:
            district_n[district] += n
            if is_late:
                district_late[district] += n
    return _UnitTally(unit_n, unit_late, level_n, district_n, district_late)


def _district_of(unit_id: int | None, parent_id: int | None, district_ids: set[int]) -> int | None:
    if unit_id in district_ids:
        return unit_id
    if parent_id in district_ids:
        return parent_id
    return None


def _by_level(base: Params, levels: tuple[LevelInfo, ...], tally: _UnitTally):
    """The period's levels only, named as the period names them; then tickets with no unit."""
    rows = [
        LabelledCount(
            info.level, info.label, _count(tally.level[info.level], base | {"level": info.level})
        )
        for info in levels
    ]
    if tally.level.get(None):
        rows.append(LabelledCount("", NO_UNIT_LABEL, _count(tally.level[None], None)))
    return tuple(rows)


def _by_district(
    base: Params, units: tuple[PeriodUnit, ...], tally: _UnitTally, stats: _Stats, late: _Late
) -> tuple[DistrictRow, ...]:
    """Each of the period's districts with its communes; empty for a period without districts
    (any since 7/2025)."""
    district_ids = {u.id for u in units if u.level == "district"}
    if not district_ids:
        return ()
    received: dict[int, int] = defaultdict(int)
    reported: set[int] = set()
    for u in units:
        district = _district_of(u.id, u.parent_id, district_ids)
        value = stats.received.get(u.id)
        if district is not None and value is not None:
            received[district] += value
            reported.add(district)
    rows = []
    for u in units:
        if u.id not in district_ids:
            continue
        rec = received[u.id] if u.id in reported else None
        rows.append(
            DistrictRow(
                u.id,
                u.code,
                u.full_name,
                _count(tally.district[u.id], base | {"district": str(u.id)}),
                _count(tally.district_late[u.id], late.params(base, {"district": str(u.id)})),
                rec,
                _per_1000(tally.district[u.id], rec),
            )
        )
    return tuple(rows)


def _district_phrase(units: tuple[PeriodUnit, ...]) -> str:
    district_ids = {u.id for u in units if u.level == "district"}
    kinds = {u.kind for u in units if u.level == "commune" and u.parent_id in district_ids}
    return commune_phrase(kinds) if kinds else ""


_LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}


def _unit_rows(
    base: Params, units: tuple[PeriodUnit, ...], tally: _UnitTally, stats: _Stats
) -> tuple[UnitRow, ...]:
    """Every unit of the period with tickets or a received figure, most tickets first."""
    by_id = {u.id: u for u in units}
    rows = []
    for u in units:
        n = tally.unit.get(u.id, 0)
        rec = stats.received.get(u.id)
        if not n and rec is None:
            continue
        rows.append(
            UnitRow(
                u.id,
                u.code,
                _unit_name(u, by_id),
                u.level,
                _count(n, base | {"unit": str(u.id)}),
                rec,
                _per_1000(n, rec),
            )
        )
    rows.sort(key=lambda r: (-r.count.value, _LEVEL_RANK[r.level], r.name))
    return tuple(rows)


def _late_units(
    base: Params, units: tuple[PeriodUnit, ...], tally: _UnitTally, stats: _Stats, late: _Late
) -> tuple[LateUnitRow, ...]:
    """The period's units with the most late-dossier complaints."""
    by_id = {u.id: u for u in units}
    top = sorted(
        (uid for uid, n in tally.unit_late.items() if n and uid in by_id),
        key=lambda uid: (-tally.unit_late[uid], _LEVEL_RANK[by_id[uid].level], uid),
    )[:TOP_LATE_UNITS]
    return tuple(
        LateUnitRow(
            uid,
            by_id[uid].code,
            _unit_name(by_id[uid], by_id),
            by_id[uid].level,
            _count(tally.unit_late[uid], late.params(base, {"unit": str(uid)})),
            stats.received.get(uid),
            stats.online.get(uid),
        )
        for uid in top
    )


def _resolution(
    base: Params, total: Count, dims: _Dimensions, buckets: list[tuple[int, int]]
) -> Resolution:
    median, median_err = percentile(buckets, 0.5)
    p90, p90_err = percentile(buckets, 0.9)
    return Resolution(
        total=total,
        done=_count(sum(dims.status[s] for s in DONE), base | {"status": list(DONE)}),
        timed=sum(n for _lo, n in buckets),
        same_day=_count(dims.same_day, base | {"same_day": "1"}),
        overdue=_count(dims.overdue, base | {"overdue": "1"}),
        median_minutes=median,
        p90_minutes=p90,
        median_error=median_err,
        p90_error=p90_err,
    )


def _per_1000(tickets: int, received: int | None) -> float | None:
    if not received:
        return None
    return tickets * 1000 / received


def _unit_name(u: PeriodUnit, by_id: dict[int, PeriodUnit]) -> str:
    """``xã Hòa Bình (huyện Thủy Nguyên)``; a commune without a district has no suffix."""
    if u.level == "commune" and u.parent_id in by_id:
        return f"{u.full_name} ({by_id[u.parent_id].full_name})"
    return u.full_name


# -- the 12-month trend -----------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    months: tuple[str, ...]
    audience: tuple[TrendSeries, ...]
    categories: tuple[TrendSeries, ...]
    total: TrendSeries
    levels: tuple[TrendSeries, ...]
    # Counts by month (of the window and of the months counted besides): what the period's
    # totals and comparisons add up.
    by_month_cat: dict
    by_month_aud: dict
    by_month: dict

    def months_total(self, months) -> int:
        return sum(self.by_month.get(m, 0) for m in months)

    def audience_total(self, months, audience: str) -> int:
        return sum(self.by_month_aud.get((m, audience), 0) for m in months)

    def category_total(self, months, category_id: int) -> int:
        return sum(self.by_month_cat.get((m, category_id), 0) for m in months)


def build_trend(month: str) -> Trend:
    """The 12-month series ending with ``month`` (four queries): what the charts draw."""
    parse_month(month)
    return _trend(trend_window(month), _categories())


def _categories():
    return db.session.execute(
        select(
            Category.id, Category.code, Category.label, Category.audience, Category.active
        ).order_by(Category.position, Category.id)
    ).all()


def _trend(months: tuple[str, ...], categories, counted: tuple[str, ...] = ()) -> Trend:
    """Audience, top categories, the total and the levels over ``months`` (three queries).

    The months of ``counted`` (a period and the one before it, up to 24 months) are read by the
    same first query, so the period's totals need no query of their own.
    """
    # The months by audience x category, from the kept counts (tickets.counts): a few dozen
    # rows a month, never the tickets themselves.
    read = sorted(set(months) | set(counted))
    kept = TicketTrendCount
    rows = db.session.execute(
        select(kept.month, kept.audience, kept.category_id, kept.n).where(
            kept.month.in_(read), kept.n != 0
        )
    ).all()
    by_month_cat: dict[tuple[str, int], int] = defaultdict(int)
    by_month_aud: dict[tuple[str, str], int] = defaultdict(int)
    by_month: dict[str, int] = defaultdict(int)
    for m, audience, category_id, n in rows:
        by_month_cat[m, category_id] += n
        by_month_aud[m, audience] += n
        by_month[m] += n

    audience = tuple(
        TrendSeries(
            a,
            AUDIENCE_LABELS[a],
            tuple(_count(by_month_aud[m, a], {"month": m, "audience": a}) for m in months),
        )
        for a in AUDIENCES
    )
    totals: dict[int, int] = defaultdict(int)
    window = set(months)
    for (m, category_id), n in by_month_cat.items():
        if m in window:
            totals[category_id] += n
    position = {c.id: i for i, c in enumerate(categories)}
    top = sorted(
        (c for c in categories if totals[c.id]),
        key=lambda c: (-totals[c.id], position[c.id]),
    )[:TOP_CATEGORIES]
    series = tuple(
        TrendSeries(
            c.code,
            c.label,
            tuple(_count(by_month_cat[m, c.id], {"month": m, "category": c.code}) for m in months),
        )
        for c in top
    )
    total = TrendSeries(
        "total", "Tổng số yêu cầu", tuple(_count(by_month[m], {"month": m}) for m in months)
    )
    levels = _level_series(months, _level_counts(months), _levels_by_month(months))
    return Trend(months, audience, series, total, levels, by_month_cat, by_month_aud, by_month)


def _level_counts(months: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """Tickets per month x unit level (one query over the kept counts of the months).

    A ticket is counted under its unit's level, what the list's ``level`` filter does; tickets
    without a unit (``unit_key`` 0) are in no level.
    """
    kept = TicketUnitCount
    rows = db.session.execute(
        select(kept.month, Unit.level, func.sum(kept.n))
        .join(Unit, Unit.id == kept.unit_key)
        .where(kept.month.in_(months))
        .group_by(kept.month, Unit.level)
    ).all()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for m, level, n in rows:
        counts[m, level] = int(n or 0)
    return counts


def _levels_by_month(months: tuple[str, ...]) -> dict[str, dict[str, set[str]]]:
    """For each level, the months of the window it has units in, with their kinds (one query
    over the distinct lifetimes: a handful of rows). A level exists in a month as in
    ``units_in``: some unit of it exists on at least one day of the month."""
    window = Period(Period.month(months[0]).first, Period.month(months[-1]).last)
    lifetimes = db.session.execute(
        select(Unit.level, Unit.kind, Unit.valid_from, Unit.valid_to)
        .where(exists_during(window))
        .distinct()
    ).all()
    present: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for m in months:
        period = Period.month(m)
        for level, kind, start, end in lifetimes:
            if (start is None or start <= period.last) and (end is None or period.first <= end):
                present[level].setdefault(m, set()).add(kind)
    return present


def _level_series(
    months: tuple[str, ...],
    counts: dict[tuple[str, str], int],
    present: dict[str, dict[str, set[str]]],
) -> tuple[TrendSeries, ...]:
    """One series per level the window had; a month without the level has no point (None).

    A level the last month has is named as that month names it; one that ended before is named
    with the month it ended (``Cấp huyện (đến tháng 6/2025)``).
    """
    last = months[-1]
    series = []
    for level in LEVELS:
        kinds_by_month = present.get(level)
        if not kinds_by_month:
            continue
        if last in kinds_by_month:
            label = level_label(level, kinds_by_month[last])
        else:
            ended = max(kinds_by_month)
            name = ENDED_LEVEL_NAMES.get(level) or level_label(level, kinds_by_month[ended])
            label = f"{name} (đến tháng {month_short(ended)})"
        values = tuple(
            _count(counts[m, level], {"month": m, "level": level}) if m in kinds_by_month else None
            for m in months
        )
        series.append(TrendSeries(level, label, values))
    return tuple(series)
