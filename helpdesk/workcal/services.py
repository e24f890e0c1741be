"""The calendar in use (settings + the admins' table) and the table's checks."""

from __future__ import annotations

from datetime import date

from flask import current_app, g, has_app_context
from sqlalchemy import select

from ..extensions import db
from ..textutil import nfc
from .models import KINDS, CalendarChange
from .worktime import DEFAULT_WORK_HOURS, WorkCalendar, expand_days, parse_work_hours


class CalendarError(ValueError):
    """A day-off range was refused; ``field`` says where to show the message."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def work_hours() -> tuple[tuple[int, int], ...]:
    text = DEFAULT_WORK_HOURS
    if has_app_context():
        text = current_app.config.get("WORK_HOURS") or DEFAULT_WORK_HOURS
    return parse_work_hours(text)


def load_calendar() -> WorkCalendar:
    """The calendar from the settings and the table, read now (one small query)."""
    rows = db.session.execute(
        select(CalendarChange.start_date, CalendarChange.end_date, CalendarChange.kind)
    ).all()
    off, work = expand_days(rows)
    return WorkCalendar(periods=work_hours(), days_off=off, work_days=work)


def current_calendar() -> WorkCalendar:
    """The calendar, read once per request (``g``) so a list of tickets reads it once."""
    if not has_app_context():
        return WorkCalendar()
    calendar = g.get("_work_calendar")
    if calendar is None:
        calendar = g._work_calendar = load_calendar()
    return calendar


def forget_calendar() -> None:
    if has_app_context():
        g.pop("_work_calendar", None)


def check_change(
    start: date | None, end: date | None, kind: str, name: str, exclude_id: int | None = None
) -> str:
    """Check one range against the rules and the other ranges; return its cleaned name."""
    if start is None:
        raise CalendarError("Nhập ngày bắt đầu (dd/mm/yyyy).", "start_date")
    if end is None:
        raise CalendarError("Nhập ngày kết thúc (dd/mm/yyyy).", "end_date")
    if end < start:
        raise CalendarError("Ngày kết thúc trước ngày bắt đầu.", "end_date")
    if not (2000 <= start.year <= 2100 and 2000 <= end.year <= 2100):
        raise CalendarError("Chỉ nhận các năm từ 2000 đến 2100.", "start_date")
    if (end - start).days > 60:
        raise CalendarError("Một đợt không dài quá 60 ngày.", "end_date")
    if kind not in KINDS:
        raise CalendarError("Chọn Nghỉ hoặc Làm bù.", "kind")
    name = (nfc(name) or "").strip()
    if not name:
        raise CalendarError("Nhập tên (ví dụ: Nghỉ Tết Nguyên đán 2026).", "name")
    stmt = select(CalendarChange).where(
        CalendarChange.start_date <= end, CalendarChange.end_date >= start
    )
    if exclude_id is not None:
        stmt = stmt.where(CalendarChange.id != exclude_id)
    clash = db.session.scalars(stmt.order_by(CalendarChange.start_date)).first()
    if clash is not None:
        raise CalendarError(
            f"Trùng với “{clash.name}” ({clash.start_date:%d/%m/%Y}–{clash.end_date:%d/%m/%Y}).",
            "start_date",
        )
    return name


def add_change(start: date, end: date, kind: str, name: str) -> CalendarChange:
    name = check_change(start, end, kind, name)
    change = CalendarChange(start_date=start, end_date=end, kind=kind, name=name)
    db.session.add(change)
    db.session.flush()
    forget_calendar()
    return change
