"""The supervisors' month dashboard: every figure computed by SQL aggregation.

``build_month(month, today)`` runs a fixed number of GROUP BY queries (categories, units,
a 12-month trend, the month's small dimensions, unit x category, resolution-time buckets, unit
statistics, operator names) whatever the number of tickets or units, and returns frozen
dataclasses of plain values. Nothing here reads the request or loads a ticket row.

Every count carries ``params``: the GET parameters of the ticket list (``tickets.index``) that
list exactly the counted tickets. The template turns them into links; tests check each one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal_column, select

from ..auth.models import User
from ..extensions import db
from ..stats.models import UnitStat
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
from ..tickets.queries import DONE_STATUSES, TicketFilter, ticket_conditions
from ..timeutil import parse_month, previous_month
from ..units.models import LEVEL_LABELS, LEVELS, Unit

DONE = DONE_STATUSES
TREND_MONTHS = 12
TOP_CATEGORIES = 5
TOP_LATE_UNITS = 10
# The category whose complaints the City asks about ("calls about late dossiers"); the app
# setting DASHBOARD_LATE_CATEGORY names another.
LATE_CATEGORY = "late_dossier"

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
    total: Count  # every ticket opened in the month
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
    counts: tuple[Count, ...]  # one per month of MonthDashboard.trend_months


@dataclass(frozen=True)
class MonthDashboard:
    month: str
    previous: str
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
    # Every unit with tickets or a received figure this month, most tickets first.
    units: tuple[UnitRow, ...]
    late_units: tuple[LateUnitRow, ...]
    late_category: str | None  # label of the late-dossier category, if it exists
    trend_months: tuple[str, ...]
    trend_audience: tuple[TrendSeries, ...]
    trend_categories: tuple[TrendSeries, ...]
    stats_reported: bool = field(default=False)  # any unit_stats row for the month

    def block(self, audience: str) -> AudienceBlock | None:
        return next((b for b in self.blocks if b.audience == audience), None)


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


def _minutes_expr():
    """Whole minutes from opening to resolution, on SQLite and PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        seconds = (func.julianday(Ticket.resolved_at) - func.julianday(Ticket.opened_at)) * 86400
        return cast(cast(seconds + 0.5, Integer) / 60, Integer)
    # date_part gives a double; EXTRACT gives a numeric since PostgreSQL 14 (twice as slow here).
    seconds = func.date_part("epoch", Ticket.resolved_at - Ticket.opened_at)
    return cast(func.floor(seconds / 60), Integer)


def _bucket_expr(minutes):
    whens = []
    for limit, width in _BUCKETS:
        whens.append((minutes < limit, minutes if width == 1 else (minutes / width) * width))
    return case(*whens, else_=literal_column(str(_OVERFLOW)))


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


# ---------------------------------------------------------------------------------------------


def build_month(month: str, today: date, late_category: str = LATE_CATEGORY) -> MonthDashboard:
    """Compute every figure of the dashboard for ``month`` (``YYYY-MM``), overdue as of today.

    ``late_category`` is the code of the category counted as late-dossier complaints.
    """
    parse_month(month)
    prev = previous_month(month)
    months = trend_window(month)
    base: Params = {"month": month}

    categories = _categories()
    units = db.session.execute(
        select(Unit.id, Unit.code, Unit.level, Unit.kind, Unit.name, Unit.parent_id).order_by(
            Unit.position, Unit.id
        )
    ).all()
    unit_by_id = {u.id: u for u in units}
    trend = _trend(months, categories)
    by_month_cat, by_month_aud, by_month = trend.by_month_cat, trend.by_month_aud, trend.by_month

    # The list's month filter is opened_month = m AND an opened_at range (for its sorted pages);
    # the two say the same thing, and the range alone leads SQLite's planner to the opened_at
    # indexes and a lookup per ticket. The counts use the column the covering index leads with;
    # tests check every count against the list's own filter.
    in_month = Ticket.opened_month == month

    # 2. The month's small dimensions in one pass: channel x status x operator.
    same_day = _where(today, same_day=True)
    overdue = _where(today, overdue=True)
    dim_rows = db.session.execute(
        select(
            Ticket.channel,
            Ticket.status,
            Ticket.operator_id,
            func.count(),
            func.sum(case((same_day, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((Ticket.resolved_at.is_not(None), 1), else_=0)),
        )
        .where(in_month)
        .group_by(Ticket.channel, Ticket.status, Ticket.operator_id)
    ).all()
    channel_n: dict[str, int] = defaultdict(int)
    status_n: dict[str, int] = defaultdict(int)
    operator_n: dict[int | None, int] = defaultdict(int)
    same_day_n = overdue_n = 0
    for channel, status, operator_id, n, sd, od, _timed in dim_rows:
        channel_n[channel] += n
        status_n[status] += n
        operator_n[operator_id] += n
        same_day_n += int(sd or 0)
        overdue_n += int(od or 0)

    # 3. Unit x category: the level, district, per-unit and late-dossier tables.
    unit_rows = db.session.execute(
        select(Ticket.unit_id, Ticket.category_id, func.count())
        .where(in_month)
        .group_by(Ticket.unit_id, Ticket.category_id)
    ).all()

    # 4. Resolution-time histogram of the month's resolved and closed tickets.
    # Grouping by the exact minute first computes each duration once (SQLite would otherwise
    # evaluate it again in every branch of the bucket CASE); the outer query then buckets a few
    # thousand (minute, count) rows at most.
    minutes = _minutes_expr()
    by_minute = (
        select(minutes.label("minutes"), func.count().label("n"))
        .where(in_month, _where(today, statuses=DONE), Ticket.resolved_at.is_not(None))
        .group_by(minutes)
        .subquery()
    )
    bucket = _bucket_expr(by_minute.c.minutes).label("bucket")
    buckets = [
        (int(lo), int(n))
        for lo, n in db.session.execute(
            select(bucket, func.sum(by_minute.c.n)).group_by(bucket).order_by(bucket)
        ).all()
    ]

    # 5. The procedure statistics of the month.
    stat_rows = db.session.execute(
        select(UnitStat.unit_id, UnitStat.received, UnitStat.online).where(UnitStat.month == month)
    ).all()
    received = {r.unit_id: r.received for r in stat_rows}
    online = {r.unit_id: r.online for r in stat_rows}

    # 6. Operator names (one query, whatever the number of operators).
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

    # --- Audience x category, with the previous month.
    blocks = []
    for audience in AUDIENCES:
        rows = []
        for c in categories:
            if c.audience != audience:
                continue
            now_n, prev_n = by_month_cat[month, c.id], by_month_cat[prev, c.id]
            if not c.active and not now_n and not prev_n:
                continue
            params = {"audience": audience, "category": c.code}
            rows.append(
                CategoryRow(
                    c.code,
                    c.label,
                    audience,
                    _count(now_n, base | params),
                    _count(prev_n, {"month": prev} | params),
                )
            )
        blocks.append(
            AudienceBlock(
                audience,
                AUDIENCE_LABELS[audience],
                tuple(rows),
                _count(by_month_aud[month, audience], base | {"audience": audience}),
                _count(by_month_aud[prev, audience], {"month": prev, "audience": audience}),
            )
        )

    # --- Small dimensions.
    by_channel = tuple(
        LabelledCount(ch, CHANNEL_LABELS[ch], _count(channel_n[ch], base | {"channel": ch}))
        for ch in CHANNELS
    )
    by_status = tuple(
        LabelledCount(st, STATUS_LABELS[st], _count(status_n[st], base | {"status": st}))
        for st in STATUSES
    )
    operators = sorted(
        (i for i in operator_n if i is not None),
        key=lambda i: (-operator_n[i], names.get(i, "")),
    )
    by_operator = [
        LabelledCount(
            str(i), names.get(i, f"#{i}"), _count(operator_n[i], base | {"operator": str(i)})
        )
        for i in operators
    ]
    if operator_n.get(None):
        nobody = _count(operator_n[None], None)
        by_operator.append(LabelledCount("", "Chưa ghi người tiếp nhận", nobody))

    # --- Units, levels, districts.
    unit_total: dict[int | None, int] = defaultdict(int)
    unit_late: dict[int | None, int] = defaultdict(int)
    late_ids = {c.id for c in categories if c.code == late_category}
    for unit_id, category_id, n in unit_rows:
        unit_total[unit_id] += n
        if category_id in late_ids:
            unit_late[unit_id] += n

    level_n: dict[str | None, int] = defaultdict(int)
    district_n: dict[int, int] = defaultdict(int)
    district_late: dict[int, int] = defaultdict(int)
    district_received: dict[int, int] = defaultdict(int)
    district_reported: set[int] = set()

    def district_of(u) -> int | None:
        if u.level == "district":
            return u.id
        if u.level == "commune":
            return u.parent_id
        return None

    for unit_id, n in unit_total.items():
        u = unit_by_id.get(unit_id) if unit_id is not None else None
        level_n[u.level if u else None] += n
        d = district_of(u) if u else None
        if d is not None:
            district_n[d] += n
            district_late[d] += unit_late[unit_id]
    for unit_id, value in received.items():
        u = unit_by_id.get(unit_id)
        d = district_of(u) if u else None
        if d is not None and value is not None:
            district_received[d] += value
            district_reported.add(d)

    by_level = [
        LabelledCount(lv, LEVEL_LABELS[lv], _count(level_n[lv], base | {"level": lv}))
        for lv in LEVELS
    ]
    if level_n.get(None):
        by_level.append(LabelledCount("", "Chưa rõ đơn vị", _count(level_n[None], None)))

    late_code = next((c.code for c in categories if c.id in late_ids), None)
    late_label = next((c.label for c in categories if c.id in late_ids), None)

    def late_params(extra: Params) -> Params | None:
        return base | extra | {"category": late_code} if late_code else None

    by_district = tuple(
        DistrictRow(
            u.id,
            u.code,
            f"{u.kind} {u.name}",
            _count(district_n[u.id], base | {"district": str(u.id)}),
            _count(district_late[u.id], late_params({"district": str(u.id)})),
            district_received[u.id] if u.id in district_reported else None,
            _per_1000(
                district_n[u.id], district_received[u.id] if u.id in district_reported else None
            ),
        )
        for u in units
        if u.level == "district"
    )

    level_rank = {lv: i for i, lv in enumerate(LEVELS)}
    unit_rows_out = []
    for u in units:
        n = unit_total.get(u.id, 0)
        rec = received.get(u.id)
        if not n and rec is None:
            continue
        unit_rows_out.append(
            UnitRow(
                u.id,
                u.code,
                _unit_name(u, unit_by_id),
                u.level,
                _count(n, base | {"unit": str(u.id)}),
                rec,
                _per_1000(n, rec),
            )
        )
    unit_rows_out.sort(key=lambda r: (-r.count.value, level_rank[r.level], r.name))

    late_units = sorted(
        (uid for uid, n in unit_late.items() if uid is not None and n and uid in unit_by_id),
        key=lambda uid: (-unit_late[uid], level_rank[unit_by_id[uid].level], uid),
    )[:TOP_LATE_UNITS]
    late_rows = tuple(
        LateUnitRow(
            uid,
            unit_by_id[uid].code,
            _unit_name(unit_by_id[uid], unit_by_id),
            unit_by_id[uid].level,
            _count(unit_late[uid], late_params({"unit": str(uid)})),
            received.get(uid),
            online.get(uid),
        )
        for uid in late_units
    )

    # --- Resolution.
    done_n = sum(status_n[s] for s in DONE)
    median, median_err = percentile(buckets, 0.5)
    p90, p90_err = percentile(buckets, 0.9)
    resolution = Resolution(
        total=_count(by_month[month], dict(base)),
        done=_count(done_n, base | {"status": list(DONE)}),
        timed=sum(n for _lo, n in buckets),
        same_day=_count(same_day_n, base | {"same_day": "1"}),
        overdue=_count(overdue_n, base | {"overdue": "1"}),
        median_minutes=median,
        p90_minutes=p90,
        median_error=median_err,
        p90_error=p90_err,
    )

    return MonthDashboard(
        month=month,
        previous=prev,
        today=today,
        blocks=tuple(blocks),
        total=_count(by_month[month], dict(base)),
        previous_total=_count(by_month[prev], {"month": prev}),
        by_channel=by_channel,
        by_status=by_status,
        by_operator=tuple(by_operator),
        by_level=tuple(by_level),
        by_district=by_district,
        resolution=resolution,
        units=tuple(unit_rows_out),
        late_units=late_rows,
        late_category=late_label,
        trend_months=months,
        trend_audience=trend.audience,
        trend_categories=trend.categories,
        stats_reported=bool(stat_rows),
    )


def _per_1000(tickets: int, received: int | None) -> float | None:
    if not received:
        return None
    return tickets * 1000 / received


def _unit_name(u, unit_by_id) -> str:
    name = f"{u.kind} {u.name}"
    if u.level == "commune" and u.parent_id in unit_by_id:
        parent = unit_by_id[u.parent_id]
        return f"{name} ({parent.kind} {parent.name})"
    return name


@dataclass(frozen=True)
class Trend:
    months: tuple[str, ...]
    audience: tuple[TrendSeries, ...]
    categories: tuple[TrendSeries, ...]
    by_month_cat: dict
    by_month_aud: dict
    by_month: dict


def build_trend(month: str) -> Trend:
    """The 12-month series ending with ``month`` (two queries): what the charts draw."""
    parse_month(month)
    return _trend(trend_window(month), _categories())


def _categories():
    return db.session.execute(
        select(
            Category.id, Category.code, Category.label, Category.audience, Category.active
        ).order_by(Category.position, Category.id)
    ).all()


def _trend(months: tuple[str, ...], categories) -> Trend:
    # Twelve months by audience x category: an index-only scan of
    # ix_tickets_month_audience_category.
    rows = db.session.execute(
        select(Ticket.opened_month, Ticket.audience, Ticket.category_id, func.count())
        .where(Ticket.opened_month.in_(months))
        .group_by(Ticket.opened_month, Ticket.audience, Ticket.category_id)
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
    for (_m, category_id), n in by_month_cat.items():
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
    return Trend(months, audience, series, by_month_cat, by_month_aud, by_month)
