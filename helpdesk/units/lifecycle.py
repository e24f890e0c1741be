"""Ending a unit and re-opening it: the admins' side of units over time.

A unit that ends is never deleted: it gets its last day (``valid_to``) and its successors, the
units that take over its area and procedures on the day after. Ending is refused, with one
message per problem, when the data would then point at a unit that no longer exists: children
living beyond the last day, tickets or statistics dated after it, a unit it succeeds that ends
later. Re-opening (a correction) clears the last day and the successors.

Each function adds its audit entry to the session; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from ..audit import record
from ..extensions import db
from ..formatting import report_date
from .models import Unit, unit_successors
from .periods import CodeIndex, UnitNotFound, successors_of

CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")  # as units.csv accepts them
MAX_SUCCESSORS = 50
MAX_NAMED = 10  # children named in a message; the rest are counted


@dataclass
class Problems:
    """What stops a change, by form field (``last_day``, ``successors``)."""

    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def messages(self) -> list[str]:
        return [m for found in self.by_field.values() for m in found]


class LifecycleError(ValueError):
    def __init__(self, problems: Problems):
        self.problems = problems
        super().__init__("; ".join(problems.messages()))


def parse_codes(text: str | None) -> tuple[list[str], list[str]]:
    """Codes separated by ``|`` (commas, semicolons and new lines too), in order, once each;
    and the parts that are not codes."""
    codes: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[|,;\n]", text or ""):
        part = part.strip()
        if not part:
            continue
        if not CODE_RE.match(part):
            bad.append(part[:40])
        elif part not in codes:
            codes.append(part)
    return codes, bad


def _named(units: list[Unit]) -> str:
    names = ", ".join(f"{u.full_name} ({u.code})" for u in units[:MAX_NAMED])
    if len(units) > MAX_NAMED:
        names += f" và {len(units) - MAX_NAMED} đơn vị khác"
    return names


def _months(months: list[str]) -> str:
    """``7/2025, 8/2025``."""
    return ", ".join(f"{int(m[5:7])}/{m[:4]}" for m in months)


def _same_code_after(unit: Unit, last_day: date | None) -> list[Unit]:
    """Other units with the unit's code whose lifetime would overlap the unit's, if it lasted
    until ``last_day`` (None: no end)."""
    others = db.session.scalars(
        select(Unit).where(Unit.code == unit.code, Unit.id != unit.id).order_by(Unit.valid_from)
    )
    first = unit.valid_from
    return [
        o
        for o in others
        if (o.valid_to is None or first is None or first <= o.valid_to)
        and (o.valid_from is None or last_day is None or o.valid_from <= last_day)
    ]


def end_problems(
    unit: Unit, last_day: date, codes: list[str], index: CodeIndex | None = None
) -> tuple[list[Unit], Problems]:
    """The successors the codes name on the day after ``last_day``, and every reason the unit
    cannot end that day with them."""
    problems = Problems()
    successors: list[Unit] = []
    if last_day is None:  # a form that left the day out altogether
        problems.add("last_day", "Nhập ngày cuối cùng.")
        return successors, problems
    if unit.valid_from is not None and last_day < unit.valid_from:
        problems.add(
            "last_day",
            f"Ngày cuối cùng ({report_date(last_day)}) trước ngày đơn vị bắt đầu "
            f"({report_date(unit.valid_from)}).",
        )
        return successors, problems
    try:
        day_after = last_day + timedelta(days=1)
    except OverflowError:
        problems.add("last_day", "Ngày cuối cùng quá xa.")
        return successors, problems
    for other in _same_code_after(unit, last_day):
        problems.add(
            "last_day",
            f"Mã {unit.code} đã thuộc {other.full_name} ({other.lifetime or 'không giới hạn'}); "
            f"ngày cuối cùng phải trước {report_date(other.valid_from)}."
            if other.valid_from
            else f"Mã {unit.code} đã thuộc {other.full_name} trong cùng thời gian.",
        )
    if len(codes) > MAX_SUCCESSORS:
        problems.add("successors", f"Tối đa {MAX_SUCCESSORS} đơn vị kế thừa.")
        codes = []
    index = index or CodeIndex.load()
    for code in codes:
        if code not in index:
            problems.add("successors", f"Không có đơn vị nào mã {code}.")
            continue
        try:
            successor = index.on(code, day_after)
        except UnitNotFound as exc:
            problems.add(
                "successors",
                f"Đơn vị kế thừa {code} không tồn tại ngày {report_date(day_after)} "
                f"(ngày sau ngày cuối cùng): {exc}.",
            )
            continue
        if successor.id == unit.id:  # only when the unit would exist the day after: never
            problems.add("successors", f"{code} là chính đơn vị này.")
        elif successor not in successors:
            successors.append(successor)
    children = list(
        db.session.scalars(
            select(Unit)
            .where(
                Unit.parent_id == unit.id,
                or_(Unit.valid_to.is_(None), Unit.valid_to > last_day),
            )
            .order_by(Unit.position, Unit.id)
        )
    )
    if children:
        problems.add(
            "last_day",
            f"{unit.full_name} còn {len(children)} đơn vị trực thuộc tồn tại sau ngày "
            f"{report_date(last_day)}: {_named(children)}. Hãy kết thúc các đơn vị này trước "
            "(hoặc chọn ngày cuối cùng muộn hơn).",
        )
    predecessors = list(
        db.session.scalars(
            select(Unit)
            .join(unit_successors, unit_successors.c.unit_id == Unit.id)
            .where(unit_successors.c.successor_id == unit.id, Unit.valid_to >= last_day)
            .order_by(Unit.valid_to, Unit.id)
        )
    )
    if predecessors:
        latest = predecessors[-1].valid_to
        problems.add(
            "last_day",
            f"{unit.full_name} là đơn vị kế thừa của {_named(predecessors)} (kết thúc ngày "
            f"{report_date(latest)}); ngày cuối cùng phải từ {report_date(latest + timedelta(1))}"
            " trở đi.",
        )
    _after_problems(unit, last_day, day_after, problems)
    return successors, problems


def _after_problems(unit: Unit, last_day: date, day_after: date, problems: Problems) -> None:
    """Tickets and statistics dated after the last day would point at a unit that is gone."""
    from ..stats.models import UnitStat
    from ..tickets.models import Ticket

    tickets = db.session.execute(
        select(Ticket.opened_month, func.count(Ticket.id))
        .where(
            or_(Ticket.unit_id == unit.id, Ticket.forwarded_unit_id == unit.id),
            Ticket.opened_at >= datetime.combine(day_after, time.min),
        )
        .group_by(Ticket.opened_month)
        .order_by(Ticket.opened_month)
    ).all()
    if tickets:
        total = sum(n for _m, n in tickets)
        problems.add(
            "last_day",
            f"Có {total} phiếu hỗ trợ ghi đơn vị này sau ngày {report_date(last_day)} "
            f"(tháng {_months([m for m, _n in tickets])}). Hãy chuyển các phiếu sang đơn vị "
            "kế thừa trước, hoặc chọn ngày cuối cùng muộn hơn.",
        )
    month = f"{last_day.year:04d}-{last_day.month:02d}"
    stats = list(
        db.session.scalars(
            select(UnitStat.month)
            .where(UnitStat.unit_id == unit.id, UnitStat.month > month)
            .order_by(UnitStat.month)
        )
    )
    if stats:
        problems.add(
            "last_day",
            f"Có số liệu của {len(stats)} tháng sau ngày {report_date(last_day)} "
            f"(tháng {_months(stats)}). Hãy nhập lại số liệu các tháng này cho đơn vị kế thừa "
            "trước, hoặc chọn ngày cuối cùng muộn hơn.",
        )


def _codes(units: list[Unit]) -> list[str]:
    return [u.code for u in units]


def lock(unit_id: int) -> Unit | None:
    """The unit, re-read under a row lock (PostgreSQL): two submits of one form run one after
    the other, and the second sees what the first wrote."""
    locked = db.session.execute(
        select(Unit.id).where(Unit.id == unit_id).with_for_update()
    ).scalar_one_or_none()
    if locked is None:
        return None
    return db.session.get(Unit, unit_id, populate_existing=True)


def set_successors(unit: Unit, successors: list[Unit]) -> None:
    """Replace the unit's successors (rows of unit_successors), in order."""
    db.session.execute(unit_successors.delete().where(unit_successors.c.unit_id == unit.id))
    if successors:
        db.session.execute(
            unit_successors.insert(),
            [
                {"unit_id": unit.id, "successor_id": s.id, "position": i}
                for i, s in enumerate(successors)
            ],
        )
    db.session.expire(unit, ["successors"])


def end_unit(
    unit: Unit, last_day: date, codes: list[str], actor_id: int | None = None
) -> tuple[bool, list[Unit]]:
    """End the unit on ``last_day`` with the successors ``codes`` name (in that order).

    Returns (changed, successors); raises LifecycleError with every problem. Submitting the
    same end twice changes nothing and records nothing the second time.
    """
    successors, problems = end_problems(unit, last_day, codes)
    if problems:
        raise LifecycleError(problems)
    before_to = unit.valid_to
    before = successors_of([unit.id]).get(unit.id, [])
    if before_to == last_day and [u.id for u in before] == [u.id for u in successors]:
        return False, successors
    unit.valid_to = last_day
    set_successors(unit, successors)
    summary = f"Kết thúc {unit.full_name} ({unit.code}) ngày {report_date(last_day)}"
    if successors:
        summary += "; kế thừa: " + ", ".join(f"{s.full_name} ({s.code})" for s in successors)
    record(
        "end",
        "unit",
        unit.code,
        summary,
        detail={
            "unit_id": unit.id,
            "valid_from": unit.valid_from,
            "valid_to": [before_to, last_day],
            "successor_codes": [_codes(before), _codes(successors)],
            "successor_ids": [s.id for s in successors],
        },
        user_id=actor_id,
    )
    db.session.flush()
    return True, successors


def reopen_problems(unit: Unit) -> Problems:
    problems = Problems()
    if unit.valid_to is None:
        problems.add("unit", f"{unit.full_name} chưa kết thúc.")
        return problems
    for other in _same_code_after(unit, None):
        problems.add(
            "unit",
            f"Mã {unit.code} đã thuộc {other.full_name} ({other.lifetime or 'không giới hạn'}): "
            "hai đơn vị không thể cùng một mã trong cùng thời gian.",
        )
    parent = unit.parent
    if parent is not None and parent.valid_to is not None:
        problems.add(
            "unit",
            f"Đơn vị cha {parent.full_name} ({parent.code}) đã kết thúc ngày "
            f"{report_date(parent.valid_to)}; hãy mở lại đơn vị cha trước.",
        )
    return problems


def reopen_unit(unit: Unit, actor_id: int | None = None) -> list[Unit]:
    """Clear the unit's last day and successors (a correction); returns the successors it had."""
    problems = reopen_problems(unit)
    if problems:
        raise LifecycleError(problems)
    before_to = unit.valid_to
    before = successors_of([unit.id]).get(unit.id, [])
    unit.valid_to = None
    set_successors(unit, [])
    record(
        "reopen",
        "unit",
        unit.code,
        f"Mở lại {unit.full_name} ({unit.code}), bỏ ngày kết thúc {report_date(before_to)}",
        detail={
            "unit_id": unit.id,
            "valid_from": unit.valid_from,
            "valid_to": [before_to, None],
            "successor_codes": [_codes(before), []],
        },
        user_id=actor_id,
    )
    db.session.flush()
    return before
