"""Checks beyond the hard rules of FORMATS.md: warnings, never errors.

One place for the import preview, the ``data import`` command and the month page:
- units with no figures for the month,
- a figure more than five times the same unit's figure of the month before,
- a level total that differs from a total the supervisor typed in by hand (control totals).

Every check looks at the month's units only (``units_in``): a unit that ended before the month
or starts after it is neither missing nor compared, and a level is named as the month names it.
"Same unit" means the same unit id: a code reused by a new unit is a different unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..formatting import number
from ..timeutil import next_month, previous_month
from ..units.models import Unit
from ..units.periods import LEVEL_ORDER, LevelInfo, exists_during
from .labels import FIELD_LABELS, level_info, level_plural, month_label, month_levels
from .models import UNIT_STAT_FIELDS, UnitStat
from .queries import Totals, UnitRow, control_totals, level_totals, unit_rows

JUMP_FACTOR = 5
MAX_NAMES = 12  # names listed in one "not reported" warning before "and N more"


@dataclass(frozen=True)
class Finding:
    kind: str  # missing | jump | control
    month: str
    message: str
    level: str | None = None
    unit_code: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        return self.message


def missing_units(
    month: str,
    rows: list[UnitRow] | None = None,
    levels: dict[str, LevelInfo] | None = None,
) -> list[Finding]:
    """One finding per level that has units without any figure for the month.

    ``rows`` (``unit_rows(month)``) and ``levels`` (``month_levels(month)``) may be passed by a
    caller that has them already.
    """
    if rows is None:
        rows = unit_rows(month)
    if levels is None:
        levels = month_levels(month)
    findings = []
    by_level: dict[str, list] = {}
    for row in rows:
        by_level.setdefault(row.level, []).append(row)
    if by_level and not any(r.reported for rows in by_level.values() for r in rows):
        return [
            Finding("missing", month, f"Chưa có số liệu đơn vị nào cho tháng {month_label(month)}.")
        ]
    for level, listed in by_level.items():
        info = level_info(levels, level)
        missing = [r for r in listed if not r.reported]
        if not missing:
            continue
        if len(missing) == len(listed):
            findings.append(
                Finding(
                    "missing",
                    month,
                    f"{info.label}: chưa đơn vị nào (0/{len(listed)}) có số liệu "
                    f"tháng {month_label(month)}.",
                    level=level,
                )
            )
            continue
        names = ", ".join(r.display for r in missing[:MAX_NAMES])
        more = len(missing) - MAX_NAMES
        tail = f" và {more} đơn vị khác" if more > 0 else ""
        findings.append(
            Finding(
                "missing",
                month,
                f"{info.label}: {len(missing)}/{len(listed)} {level_plural(info)} chưa có "
                f"số liệu tháng {month_label(month)}: {names}{tail}.",
                level=level,
            )
        )
    return findings


def jumps(month: str) -> list[Finding]:
    """Figures more than JUMP_FACTOR times the same unit's figure of the previous month.

    The same unit is the same unit id, never the same code: a new commune that reuses the
    code of one it replaced has no month before its first.
    """
    before = previous_month(month)
    cur, prev = aliased(UnitStat), aliased(UnitStat)
    parent = aliased(Unit)
    stmt = (
        select(
            Unit.code,
            Unit.level,
            (Unit.kind + literal(" ") + Unit.name).label("unit_name"),
            (parent.kind + literal(" ") + parent.name).label("district_name"),
            *(getattr(cur, f).label("cur_" + f) for f in UNIT_STAT_FIELDS),
            *(getattr(prev, f).label("prev_" + f) for f in UNIT_STAT_FIELDS),
        )
        .select_from(cur)
        .join(Unit, Unit.id == cur.unit_id)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .join(prev, and_(prev.unit_id == cur.unit_id, prev.month == before))
        .where(
            cur.month == month,
            exists_during(month),
            or_(
                *(
                    and_(getattr(prev, f) > 0, getattr(cur, f) > JUMP_FACTOR * getattr(prev, f))
                    for f in UNIT_STAT_FIELDS
                )
            ),
        )
        .order_by(LEVEL_ORDER, func.coalesce(parent.position, Unit.position), Unit.position)
    )
    findings = []
    for row in db.session.execute(stmt):
        values = row._mapping
        name = row.unit_name + (f" ({row.district_name})" if row.district_name else "")
        for f in UNIT_STAT_FIELDS:
            now, then = values["cur_" + f], values["prev_" + f]
            if now is not None and then and now > JUMP_FACTOR * then:
                findings.append(
                    Finding(
                        "jump",
                        month,
                        f"{name}: {FIELD_LABELS[f]} {number(now)} gấp hơn {JUMP_FACTOR} lần "
                        f"tháng {month_label(before)} ({number(then)}).",
                        level=row.level,
                        unit_code=row.code,
                        field=f,
                    )
                )
    return findings


def control_mismatches(
    month: str,
    controls: dict[tuple[str, str], int] | None = None,
    totals: dict[str, Totals] | None = None,
    levels: dict[str, LevelInfo] | None = None,
) -> list[Finding]:
    """Level totals that differ from the control totals typed in for the month.

    Only the month's levels are checked (``level_totals`` has no other keys).
    """
    if controls is None:
        controls = control_totals(month)
    if not controls:
        return []
    if totals is None:
        totals = level_totals(month)
    if levels is None:
        levels = month_levels(month)
    findings = []
    for (level, field), expected in sorted(controls.items()):
        if level not in totals or field not in UNIT_STAT_FIELDS:
            continue
        actual = totals[level].figures.get(field)
        if actual == expected:
            continue
        label = f"{level_info(levels, level).label}: {FIELD_LABELS[field]}"
        if actual is None:
            message = f"{label}: chưa có số liệu, tổng kiểm tra là {number(expected)}."
        else:
            diff = actual - expected
            sign = "+" if diff > 0 else "-"
            message = (
                f"{label}: tổng các đơn vị là {number(actual)}, khác tổng kiểm tra "
                f"{number(expected)} (lệch {sign}{number(abs(diff))})."
            )
        findings.append(Finding("control", month, message, level=level, field=field))
    return findings


def month_findings(
    month: str,
    rows: list[UnitRow] | None = None,
    totals: dict[str, Totals] | None = None,
    levels: dict[str, LevelInfo] | None = None,
    controls: dict[tuple[str, str], int] | None = None,
) -> list[Finding]:
    """Every warning for the month; the month page passes what it has already read."""
    if levels is None:
        levels = month_levels(month)
    return (
        missing_units(month, rows, levels)
        + jumps(month)
        + control_mismatches(month, controls, totals, levels)
    )


def import_warnings(report) -> list[str]:
    """Warnings for an import's preview and the command line, after its rows are flushed.

    Checks each month a unit_stats file touches (and the jumps of the month after it, whose
    comparison base may have changed). A jump on a row of the file is shown at its line.
    """
    months: set[str] = set()
    lines: dict[str, tuple[str, int]] = {}
    for summary in report.files:
        if summary.kind != "unit_stats":
            continue
        for change in summary.changes:
            month = change.key.split(" ", 1)[0]
            months.add(month)
            lines[change.key] = (summary.filename, change.line)
    warnings: list[str] = []
    for month in sorted(months):
        findings = month_findings(month)
        following = next_month(month)
        if following not in months:
            findings += jumps(following)
        for finding in findings:
            where = lines.get(f"{finding.month} {finding.unit_code}") if finding.unit_code else None
            if where:
                warnings.append(f"{where[0]}:{where[1]}: {finding.field}: {finding.message}")
            else:
                warnings.append(finding.message)
    return warnings
