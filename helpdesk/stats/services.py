"""Changing a month's statistics by hand: single values, activities, control totals, locks.

Services flush, never commit, and never read the request: the views commit once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..formatting import number
from ..textutil import nfc
from ..timeutil import now_local
from ..units.models import LEVELS, Unit, level_label
from ..units.periods import Period
from .labels import CITY_FIELD_LABELS, FIELD_LABELS, month_label, month_levels
from .models import UNIT_STAT_FIELDS, Activity, CityStat, ControlTotal, MonthLock, UnitStat

MAX_FIGURE = 10**15
# The hard rules of FORMATS.md: a part never exceeds its whole.
PART_OF = {
    "online": "received",
    "fee_transactions": "payment_transactions",
    "fee_amount": "payment_amount",
}
MAX_ACTIVITY_CHARS = 10000


class StatsError(ValueError):
    """A change that cannot be made; the message is for the supervisor."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class MonthLocked(StatsError):
    """The month's report has been issued: its statistics are read-only."""


class StaleValue(StatsError):
    """Someone else changed the value since the form was shown."""


# --- locks ------------------------------------------------------------------------------------


def is_locked(month: str) -> bool:
    return db.session.get(MonthLock, month) is not None


def get_lock(month: str) -> MonthLock | None:
    return db.session.get(MonthLock, month)


def ensure_unlocked(month: str) -> None:
    if is_locked(month):
        raise MonthLocked(
            f"Tháng {month_label(month)} đã khóa (báo cáo đã ban hành); "
            "cần mở khóa trước khi sửa số liệu."
        )


def lock_month(month: str, user_id: int | None, reason: str | None = None) -> MonthLock:
    """Make the month's statistics read-only (called when its report is issued)."""
    lock = db.session.get(MonthLock, month)
    if lock is not None:
        return lock
    lock = MonthLock(month=month, locked_at=now_local(), locked_by_id=user_id, reason=reason)
    db.session.add(lock)
    record(
        "lock",
        "month",
        month,
        f"Khóa số liệu tháng {month_label(month)}" + (f": {reason}" if reason else ""),
        user_id=user_id,
    )
    db.session.flush()
    return lock


def lock_months(months, user_id: int | None, reason: str | None = None) -> list[str]:
    """Lock every one of the months (a reporting period's, when its report is issued); the ones
    already locked keep their lock. Returns the months locked now, in order. One query to read
    the locks, whatever the number of months."""
    months = list(dict.fromkeys(months))
    locked = set(db.session.scalars(select(MonthLock.month).where(MonthLock.month.in_(months))))
    now = now_local()
    added = [m for m in months if m not in locked]
    for month in added:
        db.session.add(MonthLock(month=month, locked_at=now, locked_by_id=user_id, reason=reason))
        record(
            "lock",
            "month",
            month,
            f"Khóa số liệu tháng {month_label(month)}" + (f": {reason}" if reason else ""),
            user_id=user_id,
        )
    db.session.flush()
    return added


def locked_months(months) -> list[str]:
    """Those of the months whose statistics are locked, in the given order (one query)."""
    months = list(months)
    found = set(db.session.scalars(select(MonthLock.month).where(MonthLock.month.in_(months))))
    return [m for m in months if m in found]


def unlock_month(month: str, user_id: int | None, reason: str) -> None:
    """Make a locked month editable again; the reason goes to the audit log."""
    reason = nfc(reason or "") or ""
    if len(reason) < 5:
        raise StatsError("Nhập lý do mở khóa (ít nhất 5 ký tự).", "reason")
    lock = db.session.get(MonthLock, month)
    if lock is None:
        raise StatsError(f"Tháng {month_label(month)} không bị khóa.")
    db.session.delete(lock)
    record(
        "unlock",
        "month",
        month,
        f"Mở khóa số liệu tháng {month_label(month)}. Lý do: {reason}",
        detail={"reason": reason, "locked_at": lock.locked_at, "locked_by_id": lock.locked_by_id},
        user_id=user_id,
    )
    db.session.flush()


# --- values -----------------------------------------------------------------------------------


def parse_figure(text: str | None, label: str = "Giá trị") -> int | None:
    """Parse a typed figure: blank is None (not reported); ``88904`` and ``88.904`` are 88904."""
    value = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not value:
        return None
    digits = value.replace(".", "")
    if "." in value:
        groups = value.split(".")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise StatsError(f"{label}: '{value}' không phải số nguyên (vd: 88904 hoặc 88.904).")
    if value.startswith("-"):
        raise StatsError(f"{label}: {value} là số âm; phải >= 0.")
    if not (digits.isascii() and digits.isdigit()):
        raise StatsError(f"{label}: '{value}' không phải số nguyên (vd: 88904 hoặc 88.904).")
    figure = int(digits)
    if figure > MAX_FIGURE:
        raise StatsError(f"{label}: {value} quá lớn.")
    return figure


def _show(value) -> str:
    if value is None:
        return "(trống)"
    if isinstance(value, int):
        return number(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _reason(reason: str | None) -> str:
    text = nfc(reason or "") or ""
    if len(text) < 5:
        raise StatsError("Nhập lý do sửa (ít nhất 5 ký tự); lý do được ghi vào nhật ký.", "reason")
    if len(text) > 500:
        raise StatsError("Lý do dài quá 500 ký tự.", "reason")
    return text


def _check_stale(current, expected, label: str) -> None:
    if current != expected:
        raise StaleValue(
            f"{label} vừa được người khác sửa: lúc mở trang là {_show(expected)}, "
            f"nay là {_show(current)}. Hãy xem lại giá trị hiện tại rồi sửa lại nếu cần."
        )


def set_unit_value(
    month: str,
    unit: Unit,
    field: str,
    value: int | None,
    reason: str,
    user_id: int | None,
    expected: int | None,
) -> bool:
    """Change one figure of a unit's month; return False if it was already that value.

    ``expected`` is the value the supervisor saw: if it differs from the stored one, the
    change is refused (someone else changed it meanwhile).
    """
    if field not in UNIT_STAT_FIELDS:
        raise StatsError(f"Không có chỉ tiêu {field}.")
    label = FIELD_LABELS[field]
    period = Period.month(month)
    if not unit.exists_during(period.first, period.last):
        raise StatsError(
            f"{unit.full_name} ({unit.code}, {unit.lifetime}) không tồn tại trong tháng "
            f"{month_label(month)}."
        )
    ensure_unlocked(month)
    reason = _reason(reason)
    stat = db.session.scalar(
        select(UnitStat).where(UnitStat.month == month, UnitStat.unit_id == unit.id)
    )
    current = getattr(stat, field) if stat is not None else None
    _check_stale(current, expected, label)
    if value is not None and not 0 <= value <= MAX_FIGURE:
        raise StatsError(f"{label}: phải từ 0 đến {number(MAX_FIGURE)}.", "value")
    if value == current:
        return False
    figures = {f: getattr(stat, f) if stat is not None else None for f in UNIT_STAT_FIELDS}
    figures[field] = value
    for part, whole in PART_OF.items():
        if figures[part] is not None and figures[whole] is not None:
            if figures[part] > figures[whole]:
                raise StatsError(
                    f"{FIELD_LABELS[part]} ({number(figures[part])}) lớn hơn "
                    f"{FIELD_LABELS[whole]} ({number(figures[whole])}).",
                    "value",
                )
    if stat is None:
        stat = UnitStat(month=month, unit_id=unit.id)
        db.session.add(stat)
    setattr(stat, field, value)
    record(
        "stat_edit",
        "unit_stat",
        f"{month} {unit.code}",
        f"Sửa {label} của {unit.full_name} tháng {month_label(month)}: "
        f"{_show(current)} -> {_show(value)}. Lý do: {reason}",
        detail={"field": field, "old": current, "new": value, "reason": reason},
        user_id=user_id,
    )
    db.session.flush()
    return True


def set_city_value(
    month: str,
    field: str,
    value: int | date | None,
    reason: str,
    user_id: int | None,
    expected: int | date | None,
) -> bool:
    """Change one city figure of the month (population database lookups)."""
    if field not in CITY_FIELD_LABELS:
        raise StatsError(f"Không có chỉ tiêu {field}.")
    label = CITY_FIELD_LABELS[field]
    ensure_unlocked(month)
    reason = _reason(reason)
    stat = db.session.get(CityStat, month)
    current = getattr(stat, field) if stat is not None else None
    _check_stale(current, expected, label)
    if value == current:
        return False
    lookups = value if field == "population_lookups" else getattr(stat, "population_lookups", None)
    matched = value if field == "population_matched" else getattr(stat, "population_matched", None)
    if lookups is not None and matched is not None and matched > lookups:
        raise StatsError(
            f"Số yêu cầu trùng khớp ({number(matched)}) lớn hơn số lượt khai thác "
            f"({number(lookups)}).",
            "value",
        )
    if stat is None:
        stat = CityStat(month=month)
        db.session.add(stat)
    setattr(stat, field, value)
    record(
        "stat_edit",
        "city_stat",
        month,
        f"Sửa {label} tháng {month_label(month)}: {_show(current)} -> {_show(value)}. "
        f"Lý do: {reason}",
        detail={"field": field, "old": current, "new": value, "reason": reason},
        user_id=user_id,
    )
    db.session.flush()
    return True


# --- control totals ---------------------------------------------------------------------------


def set_control_totals(
    month: str, values: dict[tuple[str, str], int | None], user_id: int | None
) -> int:
    """Store the supervisor's hand-typed level totals (None removes one); return changes.

    Only the month's levels take a control total (a month without districts has none).
    """
    ensure_unlocked(month)
    levels = month_levels(month)
    existing = {
        (c.level, c.field): c
        for c in db.session.scalars(select(ControlTotal).where(ControlTotal.month == month))
    }
    changes: dict[str, list] = {}
    for (level, field), value in values.items():
        if level not in LEVELS or field not in UNIT_STAT_FIELDS:
            raise StatsError(f"Không có tổng kiểm tra {level}/{field}.")
        if value is not None and level not in levels:
            name = level_label(level)
            raise StatsError(
                f"Tháng {month_label(month)} không có đơn vị nào ở {name[:1].lower()}{name[1:]}."
            )
        current = existing.get((level, field))
        old = current.value if current is not None else None
        if old == value:
            continue
        if value is None:
            db.session.delete(current)
        elif current is None:
            db.session.add(ControlTotal(month=month, level=level, field=field, value=value))
        else:
            current.value = value
        changes[f"{level}.{field}"] = [old, value]
    if changes:
        record(
            "control_totals",
            "month",
            month,
            f"Cập nhật {len(changes)} tổng kiểm tra tháng {month_label(month)}",
            detail=changes,
            user_id=user_id,
        )
        db.session.flush()
    return len(changes)


# --- activities -------------------------------------------------------------------------------


def _activity_text(text: str | None) -> str:
    value = nfc(text or "") or ""
    if not value:
        raise StatsError("Nhập nội dung hoạt động.", "text")
    if len(value) > MAX_ACTIVITY_CHARS:
        raise StatsError(f"Nội dung dài {len(value)} ký tự, tối đa {MAX_ACTIVITY_CHARS}.", "text")
    return value


def _month_activities(month: str) -> list[Activity]:
    stmt = select(Activity).where(Activity.month == month).order_by(Activity.position, Activity.id)
    return list(db.session.scalars(stmt))


def get_activity(month: str, activity_id: int) -> Activity | None:
    activity = db.session.get(Activity, activity_id)
    return activity if activity is not None and activity.month == month else None


def add_activity(month: str, text: str, user_id: int | None) -> Activity:
    """Append a bullet to the month's list of other support work."""
    ensure_unlocked(month)
    text = _activity_text(text)
    items = _month_activities(month)
    activity = Activity(month=month, position=len(items) + 1, text=text)
    db.session.add(activity)
    record(
        "activity_add",
        "activities",
        month,
        f"Thêm hoạt động #{activity.position} tháng {month_label(month)}",
        detail={"text": text},
        user_id=user_id,
    )
    db.session.flush()
    return activity


def update_activity(
    activity: Activity, text: str, user_id: int | None, expected: str | None = None
) -> bool:
    """Change a bullet's text; refuse if it changed since the form was shown."""
    ensure_unlocked(activity.month)
    text = _activity_text(text)
    if expected is not None and nfc(expected) != activity.text:
        raise StaleValue(
            "Nội dung hoạt động vừa được người khác sửa. Nội dung hiện tại: "
            f"“{activity.text[:300]}”. Hãy xem lại rồi sửa lại nếu cần.",
            "text",
        )
    if text == activity.text:
        return False
    old = activity.text
    activity.text = text
    record(
        "activity_edit",
        "activities",
        activity.month,
        f"Sửa hoạt động #{activity.position} tháng {month_label(activity.month)}",
        detail={"old": old, "new": text},
        user_id=user_id,
    )
    db.session.flush()
    return True


def delete_activity(activity: Activity, user_id: int | None) -> None:
    """Remove a bullet and close the gap in the order."""
    month = activity.month
    ensure_unlocked(month)
    record(
        "activity_delete",
        "activities",
        month,
        f"Xóa hoạt động #{activity.position} tháng {month_label(month)}",
        detail={"text": activity.text},
        user_id=user_id,
    )
    db.session.delete(activity)
    db.session.flush()
    for position, item in enumerate(_month_activities(month), start=1):
        item.position = position
    db.session.flush()


def move_activity(activity: Activity, offset: int, user_id: int | None) -> bool:
    """Move a bullet up (-1) or down (+1); return False at either end."""
    month = activity.month
    ensure_unlocked(month)
    items = _month_activities(month)
    index = next(i for i, a in enumerate(items) if a.id == activity.id)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, item in enumerate(items, start=1):
        item.position = position
    record(
        "activity_move",
        "activities",
        month,
        f"Chuyển hoạt động {index + 1} -> {target + 1} tháng {month_label(month)}",
        user_id=user_id,
    )
    db.session.flush()
    return True
