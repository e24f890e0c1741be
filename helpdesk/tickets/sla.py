"""Service levels: when a ticket is due, whether it is late, and the clock's pauses.

A ticket is due its category's working days after it came in (``due_days`` x the working
minutes of a day), and answered first within ``response_minutes`` when the category sets it.
Waiting for the caller (status ``waiting``) stops the clock: the working minutes of the wait
are added to ``paused_minutes`` when it ends, and the due time moves by as much. A ticket is
late once its due time has passed unresolved (while waiting: if it was already late when the
wait began), or when it was resolved after it. To keep working a late ticket, a promised date
and a progress note are needed (``needs_promise``); resolving or closing it is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from ..workcal.services import current_calendar
from ..workcal.worktime import WorkCalendar
from .models import Category, Ticket

UNRESOLVED = ("open", "in_progress", "waiting", "forwarded")


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def due_after(
    opened_at: datetime, category: Category, calendar: WorkCalendar, paused_minutes: int = 0
) -> datetime:
    """The category's working days after ``opened_at``, plus the working time spent waiting.
    At least one day: a category saved with 0 before 0011 would make every ticket late at once."""
    days = max(category.due_days or 0, 1)
    return calendar.add(opened_at, days * calendar.minutes_per_day + paused_minutes)


def unit_due_after(forwarded_at: datetime, calendar: WorkCalendar) -> datetime:
    """A unit's own due time: UNIT_DUE_DAYS working days after the request reached it."""
    return calendar.add(forwarded_at, _setting("UNIT_DUE_DAYS", 5) * calendar.minutes_per_day)


def set_due_times(ticket: Ticket, calendar: WorkCalendar | None = None) -> None:
    """Work out ``due_at`` (and the first-response due time) from the opening time, the
    category's targets and the time already spent waiting."""
    calendar = calendar or current_calendar()
    ticket.due_at = due_after(
        ticket.opened_at, ticket.category, calendar, ticket.paused_minutes or 0
    )
    ticket.due_date = ticket.due_at.date()
    minutes = ticket.category.response_minutes
    ticket.response_due_at = calendar.add(ticket.opened_at, minutes) if minutes else None


def mark_responded(ticket: Ticket, now: datetime) -> None:
    if ticket.responded_at is None:
        ticket.responded_at = max(now, ticket.opened_at)


def start_waiting(ticket: Ticket, now: datetime) -> None:
    ticket.paused_at = now


def stop_waiting(ticket: Ticket, now: datetime, calendar: WorkCalendar | None = None) -> int:
    """End a wait: its working minutes move the due times on. Returns those minutes."""
    if ticket.paused_at is None:
        return 0
    calendar = calendar or current_calendar()
    minutes = calendar.between(ticket.paused_at, now)
    ticket.paused_minutes = (ticket.paused_minutes or 0) + minutes
    ticket.paused_at = None
    set_due_times(ticket, calendar)
    if ticket.unit_due_at is not None and minutes:
        ticket.unit_due_at = calendar.add(ticket.unit_due_at, minutes)
    return minutes


def set_unit_due(ticket: Ticket, now: datetime, calendar: WorkCalendar | None = None) -> None:
    """Forwarded now: the unit's own due time runs from this moment."""
    calendar = calendar or current_calendar()
    ticket.forwarded_at = now
    ticket.unit_due_at = unit_due_after(now, calendar)


def _clock_end(ticket: Ticket, now: datetime) -> datetime:
    if ticket.resolved_at is not None:
        return ticket.resolved_at
    if ticket.status == "waiting" and ticket.paused_at is not None:
        return ticket.paused_at
    return now


def is_late(ticket: Ticket, now: datetime) -> bool:
    """Past its due time unresolved, or resolved after it. A merged duplicate never is, nor a
    ticket closed without a resolution time (an imported one): on_time_sums counts neither."""
    if ticket.due_at is None or ticket.merged_into_id is not None:
        return False
    if ticket.status not in UNRESOLVED and ticket.resolved_at is None:
        return False
    return _clock_end(ticket, now) > ticket.due_at


def is_unit_late(ticket: Ticket, now: datetime) -> bool:
    return (
        ticket.status == "forwarded" and ticket.unit_due_at is not None and now > ticket.unit_due_at
    )


def needs_promise(ticket: Ticket, now: datetime) -> bool:
    """Late and unresolved, with no promised date still ahead."""
    return (
        ticket.status in UNRESOLVED
        and is_late(ticket, now)
        and (ticket.promised_at is None or ticket.promised_at <= now)
    )


@dataclass(frozen=True)
class DueState:
    """What lists and pages show of a ticket's due time."""

    state: str  # ok, soon, late, paused, done, done_late, none
    label: str  # "còn 2 ngày 3 giờ", "quá hạn 4 giờ", "tạm dừng", ...
    minutes: int | None = None  # working minutes left (negative: late by)


def duration_words(minutes: int, calendar: WorkCalendar) -> str:
    """Working minutes as working days, hours and minutes: ``1 ngày 2 giờ``, ``45 phút``."""
    per_day = calendar.minutes_per_day
    days, rest = divmod(abs(minutes), per_day)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} ngày")
    if hours:
        parts.append(f"{hours} giờ")
    if mins and not days:
        parts.append(f"{mins} phút")
    return " ".join(parts) or "0 phút"


def due_state(ticket: Ticket, now: datetime, calendar: WorkCalendar | None = None) -> DueState:
    if ticket.due_at is None:
        return DueState("none", "")
    if ticket.merged_into_id is not None:
        return DueState("done", "đã gộp")
    calendar = calendar or current_calendar()
    if ticket.resolved_at is not None or ticket.status not in UNRESOLVED:
        late = is_late(ticket, now)
        return DueState("done_late" if late else "done", "trễ hạn" if late else "đúng hạn")
    end = _clock_end(ticket, now)
    left = calendar.signed_between(end, ticket.due_at)
    if ticket.status == "waiting":
        words = duration_words(left, calendar)
        return DueState("paused", f"tạm dừng, {'còn' if left > 0 else 'quá hạn'} {words}", left)
    if left <= 0 and end > ticket.due_at:
        return DueState("late", f"quá hạn {duration_words(left, calendar)}", left)
    if left <= _setting("DUE_SOON_MINUTES", 240):
        return DueState("soon", f"còn {duration_words(left, calendar)}", left)
    return DueState("ok", f"còn {duration_words(left, calendar)}", left)


def unit_due_state(ticket: Ticket, now: datetime, calendar: WorkCalendar | None = None) -> DueState:
    """The unit's own due time, while the request waits for the unit's answer."""
    if ticket.status != "forwarded" or ticket.unit_due_at is None:
        return DueState("none", "")
    calendar = calendar or current_calendar()
    left = calendar.signed_between(now, ticket.unit_due_at)
    if now > ticket.unit_due_at:
        return DueState("late", f"quá hạn {duration_words(left, calendar)}", left)
    state = "soon" if left <= _setting("DUE_SOON_MINUTES", 240) else "ok"
    return DueState(state, f"còn {duration_words(left, calendar)}", left)


# -- the same rules in SQL (lists, queues, counts) ----------------------------------------------


def late_open_condition(now: datetime) -> ColumnElement[bool]:
    """Unresolved and past due (a waiting ticket: already past due when the wait began).
    A merged duplicate is closed, so never counted here."""
    return and_(
        Ticket.status.in_(UNRESOLVED),
        or_(
            and_(Ticket.status != "waiting", Ticket.due_at < now),
            and_(Ticket.status == "waiting", Ticket.due_at < Ticket.paused_at),
        ),
    )


def due_soon_condition(now: datetime, calendar: WorkCalendar | None = None) -> ColumnElement[bool]:
    """Unresolved, not waiting, due within DUE_SOON_MINUTES working minutes."""
    calendar = calendar or current_calendar()
    cutoff = calendar.add(now, _setting("DUE_SOON_MINUTES", 240))
    return and_(
        Ticket.status.in_(("open", "in_progress", "forwarded")),
        Ticket.due_at >= now,
        Ticket.due_at <= cutoff,
    )


def resolved_late_condition() -> ColumnElement[bool]:
    return and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.due_at)


def on_time_sums(now: datetime) -> list:
    """Four labelled sums for a SELECT over tickets: resolved by their due time (``on_time``),
    resolved after it (``late``), unresolved and not yet late (``open_in_time``), unresolved
    and late (``open_late``). Merged duplicates and tickets without a due time count nowhere."""
    from sqlalchemy import case, func

    counted = and_(Ticket.merged_into_id.is_(None), Ticket.due_at.is_not(None))
    resolved = and_(counted, Ticket.resolved_at.is_not(None))
    unresolved = and_(counted, Ticket.resolved_at.is_(None), Ticket.status.in_(UNRESOLVED))
    open_late = late_open_condition(now)

    def total(condition, name: str):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

    return [
        total(and_(resolved, Ticket.resolved_at <= Ticket.due_at), "on_time"),
        total(and_(resolved, Ticket.resolved_at > Ticket.due_at), "late"),
        total(and_(unresolved, ~open_late), "open_in_time"),
        total(and_(unresolved, open_late), "open_late"),
    ]


@dataclass(frozen=True)
class OnTime:
    """Service-level counts of a set of tickets (a period, a category, a unit, an operator)."""

    on_time: int = 0
    late: int = 0
    open_in_time: int = 0
    open_late: int = 0

    @property
    def resolved(self) -> int:
        return self.on_time + self.late

    @property
    def unresolved(self) -> int:
        return self.open_in_time + self.open_late

    @property
    def rate(self) -> float | None:
        """On-time share of the resolved ones (the 1022 hotlines' "đúng hạn đạt ...%")."""
        return self.on_time / self.resolved if self.resolved else None

    def __add__(self, other: OnTime) -> OnTime:
        return OnTime(
            self.on_time + other.on_time,
            self.late + other.late,
            self.open_in_time + other.open_in_time,
            self.open_late + other.open_late,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "on_time": self.on_time,
            "late": self.late,
            "open_in_time": self.open_in_time,
            "open_late": self.open_late,
        }
