"""The ticket list's filter: one parser, one WHERE builder, shared by the list, exports and the
supervisors' dashboard (which counts with exactly the same conditions).

The URL contract (GET parameters of ``tickets.index``):
``month=YYYY-MM`` or ``from``/``to`` (YYYY-MM-DD, inclusive); ``status`` (repeatable);
``audience``; ``category`` (code); ``unit`` (id: that unit only); ``district`` (id: the district
and its communes); ``level``; ``channel``; ``operator`` (user id who logged it); ``assignee``;
``overdue=1``; ``same_day=1``; ``q``; ``sort``; ``page``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..extensions import db
from ..textutil import nfc
from ..timeutil import month_bounds, now_local, parse_month, today_local
from ..units.models import LEVEL_LABELS, LEVELS, Unit
from ..units.periods import units_in
from .fulltext import word_search, words_of
from .models import AUDIENCES, CHANNELS, STATUSES, Category, Ticket
from .normalize import phone_prefix

OPEN_STATUSES = ("open", "in_progress", "waiting", "forwarded")
DONE_STATUSES = ("resolved", "closed")
SORTS = {
    "opened_at": Ticket.opened_at,
    "ref": Ticket.ref,
    "due_date": Ticket.due_date,
    "status": Ticket.status,
    "requester_name": Ticket.requester_name,
    "updated_at": Ticket.updated_at,
}
DEFAULT_SORT = "-opened_at"
PER_PAGE = 50
# Counting stops here: past it the list says "more than 10,000" instead of scanning everything.
COUNT_CAP = 10_000

_REF = re.compile(r"^HT-\d{0,4}(-\d{0,6})?$", re.IGNORECASE)
_PHONEISH = re.compile(r"^\+?[\d][\d\s.\-()]*$")
_DOSSIERISH = re.compile(r"^\d{3}\.\d{0,2}")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


@dataclass(frozen=True)
class TicketFilter:
    """The parsed list parameters. Invalid values are dropped and explained in ``problems``."""

    month: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] = ()
    audience: str | None = None
    category: str | None = None
    unit: int | None = None
    district: int | None = None
    level: str | None = None
    channel: str | None = None
    operator: int | None = None
    assignee: int | None = None
    overdue: bool = False
    same_day: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> TicketFilter:
        """Parse request args (a MultiDict or a plain dict)."""
        problems: list[str] = []

        def one(name: str) -> str:
            value = args.get(name)
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return "" if value is None else str(value).strip()

        def many(name: str) -> list[str]:
            if hasattr(args, "getlist"):
                values = args.getlist(name)
            else:
                value = args.get(name)
                values = list(value) if isinstance(value, list | tuple) else [value]
            return [str(v).strip() for v in values if v is not None and str(v).strip()]

        def integer(name: str) -> int | None:
            text = one(name)
            if not text:
                return None
            if text.isascii() and text.isdigit() and len(text) < 12:
                return int(text)
            problems.append(f"Bỏ qua {name}={text!r}: không phải số.")
            return None

        def choice(name: str, allowed) -> str | None:
            text = one(name)
            if not text:
                return None
            if text in allowed:
                return text
            problems.append(f"Bỏ qua {name}={text!r}: giá trị không hợp lệ.")
            return None

        def day(name: str) -> date | None:
            text = one(name)
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(f"Bỏ qua {name}={text!r}: ngày phải có dạng YYYY-MM-DD.")
                return None

        month = one("month") or None
        if month:
            try:
                parse_month(month)
            except ValueError:
                problems.append(f"Bỏ qua month={month!r}: tháng phải có dạng YYYY-MM.")
                month = None
        statuses = []
        for status in many("status"):
            if status in STATUSES and status not in statuses:
                statuses.append(status)
            elif status not in STATUSES:
                problems.append(f"Bỏ qua status={status!r}: giá trị không hợp lệ.")
        sort = one("sort") or DEFAULT_SORT
        if sort.lstrip("-") not in SORTS:
            problems.append(f"Bỏ qua sort={sort!r}.")
            sort = DEFAULT_SORT
        page = integer("page") or 1
        category = one("category")[:64] or None
        return cls(
            month=month,
            date_from=day("from"),
            date_to=day("to"),
            statuses=tuple(statuses),
            audience=choice("audience", AUDIENCES),
            category=category,
            unit=integer("unit"),
            district=integer("district"),
            level=choice("level", LEVELS),
            channel=choice("channel", CHANNELS),
            operator=integer("operator"),
            assignee=integer("assignee"),
            overdue=one("overdue") in ("1", "true", "on"),
            same_day=one("same_day") in ("1", "true", "on"),
            q=(nfc(one("q")) or "")[:100],
            sort=sort,
            page=max(1, min(page, 100_000)),
            problems=tuple(problems),
        )

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """The URL parameters that rebuild this filter (defaults left out), for url_for()."""
        flt = replace(self, **changes) if changes else self
        out: dict[str, Any] = {}
        names = {
            "date_from": "from",
            "date_to": "to",
            "statuses": "status",
        }
        for f in fields(flt):
            if f.name == "problems":
                continue
            value = getattr(flt, f.name)
            if value in (None, "", (), False) or (f.name == "page" and value == 1):
                continue
            if f.name == "sort" and value == DEFAULT_SORT:
                continue
            key = names.get(f.name, f.name)
            if isinstance(value, bool):
                out[key] = "1"
            elif isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, date):
                out[key] = value.isoformat()
            else:
                out[key] = value
        return out

    @property
    def is_filtered(self) -> bool:
        return bool(self.to_args(sort=DEFAULT_SORT, page=1))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


PHONE_TAIL_MIN = 6  # digits: fewer would match too many callers


def phone_tail_match(digits: str) -> ColumnElement[bool]:
    """The phone ends with ``digits`` (a LIKE with a leading wildcard: it reads the phones of
    the rows the other conditions leave, no index serves it)."""
    return Ticket.requester_phone.like("%" + _escape_like(digits), escape="\\")


def prefix_match(column, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, written so a plain B-tree index serves it.

    The range lets the index seek (LIKE alone needs a C collation or text_pattern_ops on
    PostgreSQL); the LIKE keeps the result exact whatever the collation.
    """
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(
        column >= prefix, column < upper, column.like(_escape_like(prefix) + "%", escape="\\")
    )


def words_match(text: str) -> ColumnElement[bool] | None:
    """Every word of ``text`` is a word of the ticket's folded name + summary.

    The one place word search is written; an index serves it on both databases (see fulltext).
    """
    words = words_of(text)
    if not words:
        return None
    return word_search(words, COUNT_CAP).condition


def _coded_match(query: str) -> ColumnElement[bool] | None:
    """A reference, a phone number (prefix) or a dossier code (prefix); None for words."""
    compact = re.sub(r"\s+", "", _DASHES.sub("-", query)).upper()
    if _REF.match(compact):
        return prefix_match(Ticket.ref, compact)
    phone = None
    if _PHONEISH.match(query):
        digits = phone_prefix(query)
        if digits and len(digits) >= 3:
            phone = prefix_match(Ticket.requester_phone, digits)
            if PHONE_TAIL_MIN <= len(digits) < 10:
                # The last digits a caller reads out ("...345 678"): a suffix match. A stored
                # number starts with 0, so digits that do not can only be its end.
                tail = phone_tail_match(digits)
                phone = tail if not digits.startswith("0") else or_(phone, tail)
    if _DOSSIERISH.match(compact):
        dossier = prefix_match(Ticket.dossier_code, compact)
        # "091.234..." could be either: a phone written with dots or the start of a dossier code.
        return dossier if phone is None else or_(dossier, phone)
    return phone


def search_condition(text: str) -> ColumnElement[bool] | None:
    """Match a reference, a phone number (prefix), a dossier code (prefix) or words."""
    query = (nfc(text) or "").strip()
    if not query:
        return None
    coded = _coded_match(query)
    return coded if coded is not None else words_match(query)


def ticket_conditions(flt: TicketFilter, today: date | None = None) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter (no search-order or paging)."""
    today = today or today_local()
    where: list[ColumnElement[bool]] = []
    if flt.month:
        # Both forms: the range lets the opened_at index serve a sorted page, the month column
        # lets the (opened_month, audience, category) index serve the dashboard's counts.
        start, end = month_bounds(flt.month)
        where += [
            Ticket.opened_month == flt.month,
            Ticket.opened_at >= start,
            Ticket.opened_at < end,
        ]
    if flt.date_from:
        where.append(Ticket.opened_at >= datetime.combine(flt.date_from, datetime.min.time()))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), datetime.min.time())
        where.append(Ticket.opened_at < end)
    if flt.statuses:
        where.append(Ticket.status.in_(flt.statuses))
    if flt.audience:
        where.append(Ticket.audience == flt.audience)
    if flt.category:
        where.append(
            Ticket.category_id.in_(select(Category.id).where(Category.code == flt.category))
        )
    if flt.unit is not None:
        where.append(Ticket.unit_id == flt.unit)
    if flt.district is not None:
        where.append(_unit_in(or_(Unit.id == flt.district, Unit.parent_id == flt.district)))
    if flt.level:
        where.append(_unit_in(Unit.level == flt.level))
    if flt.channel:
        where.append(Ticket.channel == flt.channel)
    if flt.operator is not None:
        where.append(Ticket.operator_id == flt.operator)
    if flt.assignee is not None:
        where.append(Ticket.assignee_id == flt.assignee)
    if flt.overdue:
        where.append(overdue_condition(today))
    if flt.same_day:
        where.append(
            and_(
                Ticket.resolved_at.is_not(None),
                func.date(Ticket.resolved_at) == func.date(Ticket.opened_at),
            )
        )
    if flt.q:
        condition = search_condition(flt.q)
        where.append(condition if condition is not None else false())
    return where


def _unit_in(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``unit_id IN (ids)`` with the ids looked up first (one small query).

    Literal ids give the planner real statistics: an empty or rare set uses the
    (unit_id, opened_at) index instead of walking every ticket in date order.
    """
    ids = list(db.session.scalars(select(Unit.id).where(condition)))
    return Ticket.unit_id.in_(ids) if ids else false()


def moment_of(today: date | None) -> datetime:
    """ "Now" for a list as of ``today``: this very minute today, the start of another day."""
    if today is None or today == today_local():
        return now_local()
    return datetime.combine(today, time())


def overdue_condition(today: date | None) -> ColumnElement[bool]:
    """Past its due time and not yet resolved (waiting: already late when the wait began)."""
    from .sla import late_open_condition

    return late_open_condition(moment_of(today))


def filtered_tickets(params: TicketFilter | Mapping[str, Any], today: date | None = None) -> Select:
    """``SELECT tickets`` matching the list parameters (unordered: add sorted() or count it)."""
    flt = params if isinstance(params, TicketFilter) else TicketFilter.from_args(params)
    return select(Ticket).where(*ticket_conditions(flt, today))


def sorted_tickets(stmt: Select, sort: str) -> Select:
    """Order by a whitelisted column, ties broken by id in the same direction.

    No NULLS LAST on descending sorts: PostgreSQL can then walk the column's B-tree index
    backwards (``DESC NULLS LAST`` would force a sort of every matching row).
    """
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"), Ticket.opened_at)
    if descending:
        return stmt.order_by(column.desc(), Ticket.id.desc())
    return stmt.order_by(column.asc(), Ticket.id.asc())


def with_list_relations(stmt: Select) -> Select:
    """Load what a list row shows in the same query (no N+1): a commune's district too (its
    name is part of the unit's display)."""
    return stmt.options(
        joinedload(Ticket.unit).joinedload(Unit.parent),
        joinedload(Ticket.assignee),
        joinedload(Ticket.operator),
    )


def count_capped(stmt: Select, cap: int = COUNT_CAP) -> int:
    """Count the rows of ``stmt`` but stop at ``cap + 1``: cheap on a huge table."""
    inner = stmt.with_only_columns(Ticket.id).order_by(None).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(inner)) or 0


@dataclass
class TicketPage:
    items: list[Ticket]
    page: int
    per_page: int
    # How many tickets match (at most COUNT_CAP); None when not counted: a word search on
    # PostgreSQL whose matches do not fit on one page (see _page_base).
    total: int | None
    capped: bool
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def pages(self) -> int | None:
        """Number of pages when the count is exact, else None."""
        if self.capped or self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))


def _page_base(flt: TicketFilter, today: date | None) -> tuple[Select, int | None, bool]:
    """The list's SELECT; its row count when a word search alone already counted it; whether
    it may be counted at all.

    A word search on PostgreSQL is not counted past its page. Its page is read in list order
    and stops after a page of matches (a few milliseconds), but a count up to COUNT_CAP builds
    the GIN index's bitmap of every ticket holding each word: 0,1-0,25 s for common words at
    ten million tickets. The list then says "nhiều" (many) and pages on, as a mail search does.
    (SQLite's FTS index counts its matches cheaply, capped: they are shown.)
    """
    rest, extra = flt, []
    if flt.month:
        # The month as an opened_at range only: with the month column as well, PostgreSQL takes
        # the two for independent conditions, expects a few dozen rows and sorts the whole month
        # instead of walking (status, opened_at). The dashboard's counts keep both forms.
        start, end = month_bounds(flt.month)
        rest, extra = replace(flt, month=None), [Ticket.opened_at >= start, Ticket.opened_at < end]
    query = (nfc(flt.q) or "").strip()
    if not query or _coded_match(query) is not None:
        return select(Ticket).where(*ticket_conditions(rest, today), *extra), None, True
    rest = replace(rest, q="")
    words = words_of(query)
    found = word_search(words, COUNT_CAP) if words else None
    where = [*ticket_conditions(rest, today), *extra]
    where.append(found.condition if found is not None else false())
    alone = not rest.is_filtered and not extra
    known = found.matches if found and alone else None
    return select(Ticket).where(*where), known, found is None or found.matches is not None


def ticket_page(
    flt: TicketFilter, per_page: int = PER_PAGE, today: date | None = None
) -> TicketPage:
    """One page of the filtered, sorted list with its rows' relations: two queries at most.

    Paging stops after the first COUNT_CAP rows (no OFFSET of a million rows): past that the
    person narrows the filter or turns the sort around.
    """
    base, known_total, countable = _page_base(flt, today)
    stmt = with_list_relations(sorted_tickets(base, flt.sort))
    last_page = max(1, COUNT_CAP // per_page)
    page = min(flt.page, last_page)
    offset = (page - 1) * per_page
    rows = list(db.session.scalars(stmt.offset(offset).limit(per_page + 1)).unique())
    has_next = len(rows) > per_page and page < last_page
    items = rows[:per_page]
    if page == 1 and len(rows) <= per_page:
        total, capped = len(items), False  # the whole result is on this page: no count needed
    elif not countable:
        total, capped = None, False
    else:
        total = known_total if known_total is not None else count_capped(base)
        capped = total > COUNT_CAP
    total = min(total, COUNT_CAP) if total is not None else None
    return TicketPage(items, page, per_page, total, capped, has_next)


@dataclass(frozen=True)
class UnitChoice:
    """One option of the list's district or level filter."""

    value: int | str
    label: str
    ended: bool = False


def filter_choices(
    month: str | None = None, district: int | None = None, level: str | None = None
) -> dict[str, Any]:
    """What the filter form offers: categories, levels, districts, staff (three small queries).

    With a month, the districts and levels that exist in that month (none: no district filter);
    without one, every level and the districts that exist today, then those that ended
    (marked). A chosen district or level the month does not have is still offered, so the
    form shows the filter that is applied (one more query, only then).
    """
    from ..units.services import LEVEL_ORDER

    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    if month:
        period = units_in(month)
        levels = [UnitChoice(info.level, info.label) for info in period.levels]
        districts = [UnitChoice(u.id, u.full_name) for u in period.of_level("district")]
        outside = " (không có trong tháng này)"
    else:
        today = today_local()
        stmt = select(Unit).where(Unit.level == "district").order_by(LEVEL_ORDER, Unit.position)
        found = list(db.session.scalars(stmt))
        districts = [UnitChoice(u.id, u.full_name) for u in found if u.exists_on(today)]
        districts += [
            UnitChoice(u.id, _with_lifetime(u, today), ended=True)
            for u in sorted(found, key=lambda u: (u.valid_to is None, u.valid_to), reverse=True)
            if not u.exists_on(today)
        ]
        # Every level, but the district level only where the city ever had districts.
        levels = [
            UnitChoice(lvl, LEVEL_LABELS[lvl]) for lvl in LEVELS if lvl != "district" or found
        ]
        outside = ""
    if level and level not in {c.value for c in levels}:
        levels.append(UnitChoice(level, LEVEL_LABELS[level] + outside, ended=True))
    if district is not None and district not in {c.value for c in districts}:
        unit = db.session.get(Unit, district)
        if unit is not None:
            label = _with_lifetime(unit, today_local()) if not outside else unit.full_name + outside
            districts.append(UnitChoice(unit.id, label, ended=True))
    staff = list(db.session.scalars(select(User).order_by(User.active.desc(), User.full_name)))
    return {"categories": categories, "levels": levels, "districts": districts, "staff": staff}


def _with_lifetime(unit: Unit, today: date) -> str:
    """``quận Hồng Bàng (đã kết thúc 30/6/2025)`` for a unit that does not exist today."""
    if unit.exists_on(today):
        return unit.full_name
    if unit.valid_to is not None and unit.valid_to < today:
        return f"{unit.full_name} ({unit.ended_label})"
    return f"{unit.full_name} ({unit.lifetime})"


def list_base(flt: TicketFilter, today: date | None = None) -> Select:
    """The list's SELECT for a filter (unordered, unpaged): what the API pages with cursors."""
    return _page_base(flt, today)[0]
