"""Ticket services: references, creation, changes, transitions. They flush; views commit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..audit import AuditLog, record
from ..auth.models import User
from ..extensions import db
from ..formatting import short_date
from ..periods import PeriodError, ReportPeriod
from ..reports.models import IssuedReport
from ..textutil import fold, nfc
from ..timeutil import month_of, now_local, today_local
from ..units.models import Unit
from ..units.periods import CodeIndex, UnitNotFound, ended_message, not_yet_message
from ..units.services import AmbiguousUnit, match_unit_name, search_units
from . import sla
from .models import (
    CHANNEL_LABELS,
    SATISFACTION_LABELS,
    STATUS_LABELS,
    Category,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from .normalize import format_phone

# Which status a ticket may move to from each status. "open" from resolved/closed is a reopen;
# "forwarded" is reached through forward_ticket (it needs a unit).
# "waiting" (for the caller) stops the service-level clock until the ticket leaves it.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "waiting", "resolved", "closed"),
    "in_progress": ("waiting", "resolved", "closed"),
    "waiting": ("in_progress", "resolved", "closed"),
    "forwarded": ("in_progress", "waiting", "resolved", "closed"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
FORWARDABLE = ("open", "in_progress", "waiting", "forwarded")
FIELD_LABELS = {
    "opened_at": "Thời điểm tiếp nhận",
    "channel": "Kênh",
    "category": "Nhóm yêu cầu",
    "requester_name": "Người yêu cầu",
    "requester_phone": "Số điện thoại",
    "unit": "Đơn vị liên quan",
    "dossier_code": "Mã hồ sơ",
    "summary": "Nội dung",
    "details": "Chi tiết",
    "due_date": "Hạn xử lý",
    "due_at": "Hạn xử lý",
    "promised_at": "Ngày hẹn xử lý",
    "assignee": "Người xử lý",
    "forwarded_unit": "Chuyển tới đơn vị",
    "resolution_note": "Kết quả giải quyết",
    "status": "Trạng thái",
    "satisfaction": "Mức độ hài lòng",
}


class TicketError(ValueError):
    """A change was refused; the message is for the person, ``field`` says where to show it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class TicketForbidden(PermissionError):
    """The actor's role does not allow this change."""


class StaleTicket(Exception):
    """Someone saved the ticket since this form was loaded; ``changes`` says what they did."""

    def __init__(self, ticket_id: int, changes: list[TicketEvent]):
        super().__init__("stale ticket")
        self.ticket_id = ticket_id
        self.changes = changes


@dataclass
class TicketValues:
    """What quick entry and the edit form give: already validated and normalised."""

    category: Category
    opened_at: datetime | None = None
    channel: str = "phone"
    requester_name: str | None = None
    requester_phone: str | None = None
    unit: Unit | None = None
    dossier_code: str | None = None
    summary: str | None = None
    details: str | None = None
    resolution_note: str | None = None
    satisfaction: str | None = None  # SATISFACTIONS, or None: not asked


def next_ref(month: str) -> str:
    """Give the next readable reference of a month: ``HT-2309-0042``.

    The counter row is incremented in SQL, so concurrent requests never get the same number.
    """
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.month == month)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    last = db.session.scalar(stmt)
    if last is None:
        try:
            with db.session.begin_nested():
                db.session.add(TicketCounter(month=month, last=1))
            last = 1
        except IntegrityError:
            last = db.session.scalar(stmt)
    return f"HT-{month[2:4]}{month[5:7]}-{last:04d}"


def counter_value(month: str) -> int:
    return db.session.scalar(select(TicketCounter.last).where(TicketCounter.month == month)) or 0


LATE_MESSAGE = (
    "Yêu cầu đã quá hạn: ghi ngày hẹn xử lý và tiến độ trước khi xử lý tiếp "
    "(ghi chú và giải quyết, đóng thì không cần)."
)


def require_promise(ticket: Ticket, now: datetime) -> None:
    """Refuse to keep working a late ticket without a promised date still ahead."""
    if sla.needs_promise(ticket, now):
        raise TicketError(LATE_MESSAGE, "promised_at")


def promise_ticket(
    ticket: Ticket,
    promised_at: datetime | None,
    note: str | None,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
) -> None:
    """Record a promised date and a progress note (required to keep working a late ticket)."""
    check_version(ticket, expected_version, seen_event_id)
    note = (nfc(note) or "").strip()
    if ticket.status not in sla.UNRESOLVED:
        raise TicketError("Yêu cầu đã giải quyết; không cần hẹn.", "promised_at")
    if promised_at is None:
        raise TicketError("Nhập ngày giờ hẹn xử lý (dd/mm/yyyy hh:mm).", "promised_at")
    if promised_at <= now:
        raise TicketError("Ngày hẹn phải sau thời điểm hiện tại.", "promised_at")
    if promised_at.year > now.year + 1:
        raise TicketError("Ngày hẹn quá xa (tối đa đến hết năm sau).", "promised_at")
    if not note:
        raise TicketError("Ghi tiến độ: đã làm gì, còn chờ gì.", "progress_note")
    _change(ticket, actor.id, "promised_at", ticket.promised_at, promised_at)
    ticket.promised_at = promised_at
    ticket.progress_note = note
    _event(ticket, actor.id, "promise", note=note)
    db.session.flush()


# -- units typed by name or code ---------------------------------------------------------------

_WITH_PARENT = re.compile(r"^(.*?)\s*\((.+)\)\s*$")


def resolve_unit(
    text: str | None,
    unit_id: str | int | None = None,
    keep_id: int | None = None,
    on: date | None = None,
) -> Unit | None:
    """Find the unit the operator meant on day ``on`` (default today): the picker's id, a code
    (codes are reused: resolved on that day) or a (possibly ambiguous) name.

    Raises TicketError (field ``unit``) with the candidates when a name is ambiguous, and when
    the unit does not exist that day (naming its end and successors). A retired or ended unit
    is refused, except ``keep_id`` (the unit a ticket being edited already has).
    """
    day = on or today_local()
    text = (nfc(text) or "").strip()
    raw_id = "" if unit_id is None else str(unit_id)
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12:
        unit = db.session.get(Unit, int(unit_id))
        if unit is not None and (not text or fold(text) in _names_of(unit)):
            return unit if unit.id == keep_id else _usable(unit, day)
    if not text:
        return None
    same_code = list(db.session.scalars(select(Unit).where(Unit.code == text)))
    if same_code:
        try:
            return _usable(CodeIndex(same_code).on(text, day), day)
        except UnitNotFound as exc:
            kept = [u for u in same_code if u.id == keep_id]
            if kept:
                return kept[0]
            raise TicketError(f"{exc}.", "unit") from exc
    name, parent = text, None
    match = _WITH_PARENT.match(text)
    if match:
        name, parent = match.group(1), match.group(2)
    try:
        unit = match_unit_name(name, on=day)
    except AmbiguousUnit as exc:
        chosen = [u for u in exc.candidates if parent and u.parent and _same(u.parent, parent)]
        if len(chosen) == 1:
            return _kept_or_usable(chosen[0], keep_id, day)
        names = "; ".join(u.display for u in exc.candidates)
        raise TicketError(f"“{text}” có ở nhiều nơi: {names}. Hãy chọn một.", "unit") from exc
    if unit is None:
        found = search_units(name, limit=2, on=day)
        if len(found) == 1:
            unit = found[0]
    if unit is None:
        raise TicketError(
            f"Không tìm thấy đơn vị “{text}”. Gõ tên hoặc mã rồi chọn trong danh sách.", "unit"
        )
    return _kept_or_usable(unit, keep_id, day)


def _names_of(unit: Unit) -> set[str]:
    return {fold(unit.display), fold(unit.full_name), fold(unit.name), fold(unit.code)}


def _same(unit: Unit, text: str) -> bool:
    key = fold(text)
    return key in (fold(unit.full_name), fold(unit.name))


def _kept_or_usable(unit: Unit, keep_id: int | None, day: date) -> Unit:
    return unit if unit.id == keep_id else _usable(unit, day)


def _usable(unit: Unit, day: date) -> Unit:
    """The unit, if a new ticket (or forward) may name it on ``day``; else TicketError."""
    if not unit.active:
        raise TicketError(f"{unit.display} đã ngừng sử dụng.", "unit")
    if unit.valid_to is not None and unit.valid_to < day:
        raise TicketError(ended_message(unit) + ".", "unit")
    if unit.valid_from is not None and day < unit.valid_from:
        raise TicketError(not_yet_message(unit) + ".", "unit")
    return unit


# -- history ------------------------------------------------------------------------------------


def _show(field: str, value: Any) -> str | None:
    """How a value reads in the timeline (stored as text, as it was at the time)."""
    if value is None or value == "":
        return None
    if field == "channel":
        return CHANNEL_LABELS.get(value, value)
    if field == "satisfaction":
        return SATISFACTION_LABELS.get(value, value)
    if field == "requester_phone":
        return format_phone(value)
    if field in ("opened_at", "due_date", "due_at", "promised_at"):
        return short_date(value)
    if isinstance(value, Category):
        return value.label
    if isinstance(value, Unit):
        return value.display
    if isinstance(value, User):
        return value.full_name
    return str(value)


def _event(ticket: Ticket, actor_id: int | None, kind: str, **values: Any) -> TicketEvent:
    event = TicketEvent(user_id=actor_id, kind=kind, **values)
    ticket.events.append(event)
    return event


def _change(ticket: Ticket, actor_id: int | None, field: str, old: Any, new: Any) -> None:
    _event(ticket, actor_id, "change", field=field, old_value=_show(field, old),
           new_value=_show(field, new))  # fmt: skip


def events_since(ticket_id: int, after_event_id: int | None) -> list[TicketEvent]:
    """The timeline entries added after ``after_event_id`` (what another person changed)."""
    stmt = (
        select(TicketEvent)
        .options(joinedload(TicketEvent.user))
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.id > (after_event_id or 0))
        .order_by(TicketEvent.id)
    )
    return list(db.session.scalars(stmt))


def check_version(ticket: Ticket, expected: int | None, seen_event_id: int | None) -> None:
    """Refuse a change made on a form loaded before someone else's save, and one that does not
    say which version it was made on (a form without its version is never taken as current)."""
    if expected is None or ticket.version != expected:
        raise StaleTicket(ticket.id, events_since(ticket.id, seen_event_id))


# -- months whose report has been issued --------------------------------------------------------

ISSUED_ADD = "ticket_issued_add"
ISSUED_CHANGE = "ticket_issued_change"
# What an issued report counts of a ticket: its month (from opened_at) and its category (and so
# its audience). Changing these in an issued month makes the report differ from the data.
COUNTED_FIELDS = ("opened_at", "category")
REASON_MAX = 500


def month_words(month: str) -> str:
    return f"{month[5:7]}/{month[:4]}"


def issued_months_of(months: Iterable[str]) -> dict[str, str]:
    """Those of the months counted by an issued report (a month's, a quarter's, a year's...),
    each with the code of that report (a month's own first). One query over the few issued
    reports."""
    wanted = set(months)
    found: dict[str, str] = {}
    for code in db.session.scalars(select(IssuedReport.month).order_by(IssuedReport.month)):
        try:
            period = ReportPeriod.parse(code)
        except PeriodError:
            continue
        for month in wanted.intersection(period.months):
            if month not in found or len(period.months) == 1:
                found[month] = code
    return found


def _issued_guard(
    months: Iterable[str], actor_id: int | None, reason: str | None, adding: bool
) -> tuple[dict[str, str], str | None]:
    """Refuse an operator's (or a reason-less) addition or counted change in an issued month.

    Returns the issued months touched (month -> report code) and the normalised reason.
    TicketError goes beside the date field for a role that may not, beside the reason field
    when a supervisor gave none.
    """
    issued = issued_months_of(months)
    if not issued:
        return {}, None
    words = ", ".join(month_words(m) for m in sorted(issued))
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is None or not actor.has_role("supervisor"):
        what = (
            "thêm yêu cầu vào tháng này"
            if adding
            else "đổi thời điểm tiếp nhận hoặc nhóm yêu cầu của tháng này"
        )
        raise TicketError(
            f"Tháng {words} đã ban hành báo cáo: chỉ giám sát viên được {what} "
            "(số liệu đã báo cáo sẽ thay đổi). Hãy báo giám sát viên.",
            "opened_at",
        )
    reason = (nfc(reason) or "").strip()
    if not reason:
        raise TicketError(
            f"Tháng {words} đã ban hành báo cáo: ghi lý do thay đổi (lưu vào nhật ký; báo cáo "
            "đã ban hành sẽ được đánh dấu là không còn khớp số liệu).",
            "issued_reason",
        )
    if len(reason) > REASON_MAX:
        raise TicketError(f"Lý do tối đa {REASON_MAX} ký tự.", "issued_reason")
    return issued, reason


def _issued_record(
    action: str,
    ticket: Ticket,
    issued: dict[str, str],
    reason: str,
    actor_id: int | None,
    changes: dict[str, list] | None = None,
) -> None:
    months = sorted(issued)
    words = ", ".join(month_words(m) for m in months)
    verb = "Thêm" if action == ISSUED_ADD else "Sửa"
    record(
        action,
        "ticket",
        ticket.ref,
        f"{verb} {ticket.ref} trong tháng {words} đã ban hành báo cáo: {reason}",
        detail={
            "months": months,
            "reports": sorted(set(issued.values())),
            "reason": reason,
            **({"changes": changes} if changes else {}),
        },
        user_id=actor_id,
    )
    _event(ticket, actor_id, "note",
           note=f"Lý do (tháng {words} đã ban hành báo cáo): {reason}")  # fmt: skip


def tickets_changed_since_issue(code: str) -> list[Ticket]:
    """The tickets that make the issued report of ``code`` (a month, or a period's code) differ
    from the data: counted in one of its months and logged after it was issued (by hand or by
    an import), or re-dated into or out of one of its months, or moved to another category,
    after it was issued. Empty when the report is not issued (or nothing changed). Three
    queries at most, whatever the number of tickets."""
    issued_at = db.session.scalar(select(IssuedReport.issued_at).where(IssuedReport.month == code))
    if issued_at is None:
        return []
    try:
        months = set(ReportPeriod.parse(code).months)
    except PeriodError:
        return []
    # Times are kept to the second: one in the issue's own second counts (rather miss none).
    added = select(Ticket.id).where(Ticket.opened_month.in_(months), Ticket.created_at >= issued_at)
    refs: set[str] = set()
    entries = db.session.execute(
        select(AuditLog.entity_id, AuditLog.detail).where(
            AuditLog.action == ISSUED_CHANGE, AuditLog.at >= issued_at
        )
    )
    for ref, detail in entries:
        touched = json.loads(detail).get("months", []) if detail else []
        if ref and months.intersection(touched):
            refs.add(ref)
    condition = Ticket.id.in_(added)
    if refs:
        condition = condition | Ticket.ref.in_(refs)
    return list(db.session.scalars(select(Ticket).where(condition).order_by(Ticket.ref)))


# -- creating and editing -----------------------------------------------------------------------


def create_ticket(
    values: TicketValues,
    actor_id: int | None,
    close: bool,
    now: datetime,
    reason: str | None = None,
) -> Ticket:
    """Log a request; ``close`` means it was answered on the spot (the common case).

    A request dated in a month whose report is issued is added by a supervisor only, with a
    ``reason`` (audited); anyone else gets TicketError beside the date.
    """
    opened_at = values.opened_at or now
    month = month_of(opened_at)
    issued, reason = _issued_guard([month], actor_id, reason, adding=True)
    category = values.category
    ticket = Ticket(
        ref=next_ref(month),
        opened_at=opened_at,
        opened_month=month,
        channel=values.channel,
        audience=category.audience,
        category=category,
        category_id=category.id,
        requester_name=values.requester_name,
        requester_phone=values.requester_phone,
        unit_id=values.unit.id if values.unit else None,
        dossier_code=values.dossier_code,
        summary=values.summary or category.label,
        details=values.details,
        status="open",
        operator_id=actor_id,
        assignee_id=actor_id,
        resolution_note=values.resolution_note,
        satisfaction=values.satisfaction,
    )
    sla.set_due_times(ticket)
    db.session.add(ticket)
    _event(ticket, actor_id, "created", at=now, note=CHANNEL_LABELS.get(values.channel))
    if close:
        # Answered during the call: resolved when it came in, closed when logged.
        ticket.status = "closed"
        ticket.resolved_at = opened_at
        ticket.closed_at = max(now, opened_at)
        ticket.responded_at = opened_at
        _event(ticket, actor_id, "status", at=now, field="status", old_value="open",
               new_value="closed", note="Trả lời ngay trong cuộc gọi.")  # fmt: skip
    if issued:
        _issued_record(ISSUED_ADD, ticket, issued, reason, actor_id)
    db.session.flush()
    return ticket


def update_ticket(
    ticket: Ticket,
    values: TicketValues,
    actor_id: int | None,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
    reason: str | None = None,
) -> list[str]:
    """Apply an edit, one history entry per changed field; return the changed field names.

    Re-dating a request, or moving it to another category, in (or out of) a month whose report
    is issued changes that report's figures: a supervisor's change only, with a ``reason``.
    """
    check_version(ticket, expected_version, seen_event_id)
    changed: list[str] = []
    opened_at = values.opened_at or ticket.opened_at
    if opened_at == ticket.opened_at.replace(second=0, microsecond=0):
        opened_at = ticket.opened_at  # the form shows minutes: same minute means unchanged
    counted: dict[str, list] = {}
    if opened_at != ticket.opened_at:
        counted["opened_at"] = [_show("opened_at", ticket.opened_at), _show("opened_at", opened_at)]
    if ticket.category_id != values.category.id:
        counted["category"] = [ticket.category.label, values.category.label]
    issued: dict[str, str] = {}
    if counted:
        months = {ticket.opened_month, month_of(opened_at)}
        issued, reason = _issued_guard(months, actor_id, reason, adding=False)
    plain = {
        "opened_at": opened_at,
        "channel": values.channel,
        "requester_name": values.requester_name,
        "requester_phone": values.requester_phone,
        "dossier_code": values.dossier_code,
        "summary": values.summary or values.category.label,
        "details": values.details,
        "satisfaction": values.satisfaction,
    }
    for name, new in plain.items():
        old = getattr(ticket, name)
        if (old or None) != (new or None):
            _change(ticket, actor_id, name, old, new)
            setattr(ticket, name, new)
            changed.append(name)
    if ticket.category_id != values.category.id:
        _change(ticket, actor_id, "category", ticket.category, values.category)
        ticket.category = values.category
        ticket.audience = values.category.audience
        changed.append("category")
    new_unit_id = values.unit.id if values.unit else None
    if ticket.unit_id != new_unit_id:
        _change(ticket, actor_id, "unit", ticket.unit, values.unit)
        ticket.unit = values.unit
        changed.append("unit")
    if set(changed) - {"satisfaction"}:  # recording how the caller felt is not working it
        require_promise(ticket, now)
    if "opened_at" in changed:
        ticket.opened_month = month_of(opened_at)
    if "opened_at" in changed or "category" in changed:
        old_due = ticket.due_at
        sla.set_due_times(ticket)
        if old_due != ticket.due_at:
            _change(ticket, actor_id, "due_at", old_due, ticket.due_at)
    if issued:
        _issued_record(ISSUED_CHANGE, ticket, issued, reason, actor_id, counted)
    if changed:
        db.session.flush()
    return changed


# -- working a ticket ---------------------------------------------------------------------------


def allowed_transitions(ticket: Ticket, actor: User) -> list[str]:
    """The statuses this actor may move the ticket to (reopening closed ones: supervisors)."""
    targets = list(TRANSITIONS.get(ticket.status, ()))
    if ticket.status == "closed" and not actor.has_role("supervisor"):
        targets.remove("open")
    return targets


def change_status(
    ticket: Ticket,
    target: str,
    actor: User,
    note: str | None,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
) -> None:
    """Move a ticket along open -> in_progress -> resolved -> closed, or reopen it."""
    check_version(ticket, expected_version, seen_event_id)
    note = (nfc(note) or "").strip() or None
    if target not in TRANSITIONS.get(ticket.status, ()):
        raise TicketError(
            f"Không thể chuyển từ “{STATUS_LABELS[ticket.status]}” sang "
            f"“{STATUS_LABELS.get(target, target)}”.",
            "status",
        )
    reopening = target == "open"
    if reopening and ticket.status == "closed" and not actor.has_role("supervisor"):
        raise TicketForbidden("Chỉ giám sát viên được mở lại yêu cầu đã đóng.")
    if reopening and not note:
        raise TicketError("Ghi lý do mở lại.", "note")
    if target == "resolved" and not (note or ticket.resolution_note):
        raise TicketError("Ghi kết quả giải quyết.", "note")
    if target not in ("resolved", "closed"):
        require_promise(ticket, now)
    if target == "waiting" and not note:
        raise TicketError("Ghi người yêu cầu cần gửi hoặc làm gì.", "note")
    old = ticket.status
    if old == "waiting":
        sla.stop_waiting(ticket, now)
    elif target == "waiting":
        sla.start_waiting(ticket, now)
    if not reopening:
        sla.mark_responded(ticket, now)
    if target in ("resolved", "closed"):
        if note:
            if (ticket.resolution_note or None) != note:
                _change(ticket, actor.id, "resolution_note", ticket.resolution_note, note)
            ticket.resolution_note = note
        ticket.resolved_at = ticket.resolved_at or now
        if target == "closed":
            ticket.closed_at = now
    if reopening:
        ticket.resolved_at = None
        ticket.closed_at = None
    if target == "in_progress" and ticket.assignee_id is None:
        _change(ticket, actor.id, "assignee", None, actor)
        ticket.assignee = actor
    ticket.status = target
    _event(ticket, actor.id, "status", field="status", old_value=old, new_value=target,
           note=None if target in ("resolved", "closed") else note)  # fmt: skip
    db.session.flush()


def assign_ticket(
    ticket: Ticket,
    assignee: User | None,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime | None = None,
) -> None:
    """Give the ticket to someone. Operators may only take unassigned tickets (or their own)."""
    check_version(ticket, expected_version, seen_event_id)
    if not actor.has_role("supervisor"):
        taking = assignee is not None and assignee.id == actor.id
        if not taking or ticket.assignee_id not in (None, actor.id):
            raise TicketForbidden("Chỉ giám sát viên được giao lại yêu cầu cho người khác.")
    require_promise(ticket, now or now_local())
    if assignee is not None and not assignee.active:
        raise TicketError(f"{assignee.full_name} đã bị khóa.", "assignee")
    if assignee is not None and not assignee.has_role("operator"):
        # Unit staff answer what is forwarded to their unit; they are not the desk's assignees.
        raise TicketError(f"{assignee.full_name} là cán bộ đơn vị: hãy chuyển đơn vị.", "assignee")
    new_id = assignee.id if assignee else None
    if ticket.assignee_id == new_id:
        return
    _change(ticket, actor.id, "assignee", ticket.assignee, assignee)
    ticket.assignee = assignee
    db.session.flush()
    if assignee is not None and assignee.id != actor.id:
        from ..mail.notify import notify_assigned

        notify_assigned(ticket, assignee, actor)


def forward_ticket(
    ticket: Ticket,
    unit: Unit,
    note: str | None,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime | None = None,
) -> None:
    """Send the request to the unit that holds the dossier and follow it up: the unit's staff
    are told by e-mail, and the unit's own due time starts now."""
    check_version(ticket, expected_version, seen_event_id)
    now = now or now_local()
    require_promise(ticket, now)
    if ticket.status not in FORWARDABLE:
        raise TicketError(
            f"Yêu cầu “{STATUS_LABELS[ticket.status]}” không chuyển được; hãy mở lại trước.",
            "unit",
        )
    if ticket.forwarded_unit_id != unit.id:
        _change(ticket, actor.id, "forwarded_unit", ticket.forwarded_unit, unit)
        ticket.forwarded_unit = unit
    old = ticket.status
    if old == "waiting":
        sla.stop_waiting(ticket, now)
    sla.mark_responded(ticket, now)
    sla.set_unit_due(ticket, now)
    ticket.status = "forwarded"
    _event(ticket, actor.id, "status", field="status", old_value=old, new_value="forwarded",
           note=(nfc(note) or "").strip() or None)  # fmt: skip
    db.session.flush()
    from ..mail.notify import notify_forwarded

    notify_forwarded(ticket, unit, actor)


def add_note(ticket: Ticket, text: str, actor_id: int | None) -> TicketEvent:
    """Add an internal note to the timeline (the ticket itself is not changed)."""
    text = (nfc(text) or "").strip()
    if not text:
        raise TicketError("Nhập nội dung ghi chú.", "text")
    event = _event(ticket, actor_id, "note", note=text)
    db.session.flush()
    return event


# -- the caller's history -----------------------------------------------------------------------


def caller_history(phone: str, limit: int = 8) -> dict[str, Any]:
    """The caller's latest requests, the name last used and how many there are (3 queries)."""
    stmt = (
        select(Ticket)
        .options(joinedload(Ticket.unit).joinedload(Unit.parent))
        .where(Ticket.requester_phone == phone)
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    tickets = list(db.session.scalars(stmt).unique())
    total = len(tickets)
    if total == limit:
        total = db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.requester_phone == phone)
        )
    name = db.session.scalar(
        select(Ticket.requester_name)
        .where(Ticket.requester_phone == phone, Ticket.requester_name.is_not(None))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return {"tickets": tickets, "total": total, "name": name}


def callers_ending_with(digits: str, limit: int = 5) -> list[dict[str, Any]]:
    """Callers whose number ends with ``digits`` (what a caller reads out), the most recent
    first: ``[{"phone", "name", "total"}]`` (one query)."""
    from .queries import phone_tail_match

    stmt = (
        select(Ticket.requester_phone, func.count(), func.max(Ticket.opened_at))
        .where(Ticket.requester_phone.is_not(None), phone_tail_match(digits))
        .group_by(Ticket.requester_phone)
        .order_by(func.max(Ticket.opened_at).desc())
        .limit(limit)
    )
    rows = db.session.execute(stmt).all()
    names = dict(
        db.session.execute(
            select(Ticket.requester_phone, Ticket.requester_name)
            .where(
                Ticket.requester_phone.in_([r[0] for r in rows]),
                Ticket.requester_name.is_not(None),
            )
            .order_by(Ticket.opened_at)  # the latest name wins in the dict
        ).all()
    )
    return [{"phone": phone, "name": names.get(phone), "total": n} for phone, n, _last in rows]


def last_unit_and_dossier(phone: str) -> dict[str, Any] | None:
    """The unit and dossier code of the caller's latest request that had either: what a repeat
    call is most likely about."""
    ticket = db.session.scalar(
        select(Ticket)
        .options(joinedload(Ticket.unit).joinedload(Unit.parent))
        .where(
            Ticket.requester_phone == phone,
            or_(Ticket.unit_id.is_not(None), Ticket.dossier_code.is_not(None)),
        )
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        return None
    return {"ref": ticket.ref, "unit": ticket.unit, "dossier_code": ticket.dossier_code}
