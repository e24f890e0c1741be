"""Finding units by name, ignoring case, diacritics and tone placement."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from ..extensions import db
from ..textutil import fold
from .models import Unit, unit_successors
from .periods import LEVEL_ORDER, exists_during

__all__ = ["LEVEL_ORDER", "AmbiguousUnit", "search_units", "match_unit_name"]


class AmbiguousUnit(LookupError):
    """A name matches units in several places."""

    def __init__(self, name: str, candidates: list[Unit]):
        self.candidates = candidates
        names = "; ".join(u.display for u in candidates)
        super().__init__(f"'{name}' is ambiguous: {names}")


def search_units(
    query: str, limit: int = 20, include_inactive: bool = False, on: date | None = None
) -> list[Unit]:
    """Return units whose kind and name contain every word of ``query``, best matches first.

    With ``on``, the units that exist on that day come first; units that ended before it (or
    start after it) follow, so that a picker can show them as ended with their successors.
    """
    key = fold(query)
    if not key:
        return []
    stmt = select(Unit)
    for token in key.split(" "):
        escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Unit.search_key.like(f"%{escaped}%", escape="\\"))
    code_match = select(Unit).where(func.lower(Unit.code) == key)
    if not include_inactive:
        stmt = stmt.where(Unit.active.is_(True))
        code_match = code_match.where(Unit.active.is_(True))
    exact = case(
        (Unit.search_key == key, 0),
        (Unit.search_key.like(f"% {key}"), 1),
        else_=2,
    )
    order = [exact, LEVEL_ORDER, Unit.position, Unit.id]
    if on is not None:
        order.insert(0, case((exists_during(on), 0), else_=1))
    stmt = stmt.order_by(*order).limit(limit)
    found = list(db.session.scalars(code_match)) + list(db.session.scalars(stmt))
    seen: set[int] = set()
    return [u for u in found if not (u.id in seen or seen.add(u.id))][:limit]


def match_unit_name(name: str, on: date | None = None) -> Unit | None:
    """Return the unit whose full name (or bare name) matches; raise AmbiguousUnit if several do.

    With ``on``, only units that exist on that day are candidates when any of them matches.
    """
    key = fold(name)
    if not key:
        return None
    candidates = list(
        db.session.scalars(
            select(Unit).where(Unit.search_key.like(f"%{key}")).order_by(LEVEL_ORDER, Unit.position)
        )
    )
    if on is not None:
        current = [u for u in candidates if u.exists_on(on)]
        candidates = current or candidates
    exact = [u for u in candidates if u.search_key == key or fold(u.name) == key]
    if len(exact) > 1:
        raise AmbiguousUnit(name, exact)
    return exact[0] if exact else None


def unit_choices_tree(on: date | None = None) -> list[Unit]:
    """Every unit (or those that exist on ``on``) in report order: departments, districts,
    communes grouped by district, then communes without a district."""
    stmt = select(Unit).order_by(LEVEL_ORDER, Unit.position, Unit.id)
    if on is not None:
        stmt = stmt.where(exists_during(on))
    units = list(db.session.scalars(stmt))
    by_parent: dict[int | None, list[Unit]] = {}
    for u in units:
        if u.level == "commune":
            by_parent.setdefault(u.parent_id, []).append(u)
    ordered: list[Unit] = [u for u in units if u.level == "department"]
    for district in (u for u in units if u.level == "district"):
        ordered.append(district)
        ordered.extend(by_parent.get(district.id, []))
    ordered.extend(by_parent.get(None, []))
    return ordered


def is_referenced(unit: Unit) -> bool:
    """True if anything points at the unit (it may then be deactivated, not deleted)."""
    from ..stats.models import UnitStat
    from ..tickets.models import Ticket

    checks = (
        select(Unit.id).where(Unit.parent_id == unit.id),
        select(Ticket.id).where(
            (Ticket.unit_id == unit.id) | (Ticket.forwarded_unit_id == unit.id)
        ),
        select(UnitStat.id).where(UnitStat.unit_id == unit.id),
        select(unit_successors.c.unit_id).where(
            (unit_successors.c.unit_id == unit.id) | (unit_successors.c.successor_id == unit.id)
        ),
    )
    return any(db.session.scalar(q.limit(1)) is not None for q in checks)
