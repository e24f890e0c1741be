"""One handler per file kind of FORMATS.md: its columns, its row rules, how it writes."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select

from ..audit import record
from ..auth.models import ROLES, User
from ..extensions import db
from ..formatting import report_date
from ..reports.models import ORGANISATION_KEYS, OrgSetting
from ..stats.models import UNIT_STAT_FIELDS, Activity, CityStat, MonthLock, UnitStat
from ..textutil import fold
from ..tickets.models import (
    AUDIENCES,
    CHANNELS,
    SATISFACTIONS,
    STATUSES,
    CannedAnswer,
    Category,
    Ticket,
    TicketEvent,
)
from ..units.models import LEVELS, Unit, unit_successors
from ..workcal.services import current_calendar
from .engine import FileSummary, ImportContext, ImportReport, Row, RowChange, upsert
from .reader import Table

LEVEL_NAMES = {"department": "Sở, ngành", "district": "quận, huyện", "commune": "xã, phường"}
CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Worked out from the other columns when a ticket is added; a re-import leaves them alone.
SCHEDULE = ("due_date", "due_at", "paused_at", "forwarded_unit_id", "forwarded_at", "unit_due_at")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _rows(table: Table, ctx: ImportContext):
    for line, values in table.rows:
        row = Row(ctx, table, line, values)
        if "__extra__" in values:
            row.error(None, "có ô dữ liệu ngoài các cột tiêu đề")
        yield row


def _first_seen(row: Row, seen: dict, key, column: str, what: str) -> bool:
    """Record a duplicate natural key as an error; return True if the key is new."""
    if key in seen:
        row.error(column, f"{what} trùng với dòng {seen[key]}")
        return False
    seen[key] = row.line
    return True


def _unit_for(row: Row, column: str, index, code: str | None, when) -> Unit | None:
    """The unit with ``code`` on a day or in a month (a Period); an error says why not."""
    from ..units.periods import UnitNotFound

    if not code or when is None:
        return None
    try:
        return index.during(code, when)
    except UnitNotFound as exc:
        row.error(column, str(exc))
        return None


def _locked_months() -> set[str]:
    return set(db.session.scalars(select(MonthLock.month)))


class OrganisationHandler:
    columns = {"key": True, "value": True}

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        existing = {s.key: s for s in db.session.scalars(select(OrgSetting))}
        seen: dict = {}
        for row in _rows(table, ctx):
            key = row.choice("key", ORGANISATION_KEYS)
            value = row.text("value", required=True, max_len=2000)
            if key and not _first_seen(row, seen, key, "key", "khóa"):
                continue
            if row.ok:
                upsert(
                    ctx,
                    summary,
                    row.line,
                    key,
                    existing.get(key),
                    OrgSetting,
                    {"key": key, "value": value},
                    "organisation",
                )


class UnitsHandler:
    """Units and their lifetimes (FORMATS.md, *Units over time*).

    The natural key is code + valid_from: a code may name several units, one per lifetime.
    A file without the lifetime columns leaves stored lifetimes and successors as they are.
    """

    columns = {
        "code": True,
        "level": True,
        "kind": True,
        "name": True,
        "parent_code": False,
        "valid_from": False,
        "valid_to": False,
        "successor_codes": False,
    }

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        from ..units.periods import successors_of

        stored = list(db.session.scalars(select(Unit)))
        by_key = {(u.code, u.valid_from): u for u in stored}
        has_to = "valid_to" in table.headers
        has_successors = "successor_codes" in table.headers
        seen: dict = {}
        parsed: list[tuple[Row, dict]] = []
        for row in _rows(table, ctx):
            code = row.text("code", required=True, max_len=32)
            if code and not CODE_RE.match(code):
                row.error("code", f"'{code}' chỉ gồm chữ, số, dấu chấm, gạch")
            level = row.choice("level", LEVELS)
            kind = row.text("kind", required=True, max_len=40)
            name = row.text("name", required=True, max_len=200)
            parent_code = row.text("parent_code", max_len=32)
            valid_from = row.date("valid_from")
            current = by_key.get((code, valid_from)) if code else None
            # Without the column, the stored lifetime stays (the 2023 files after 2025's).
            valid_to = row.date("valid_to") if has_to else getattr(current, "valid_to", None)
            if (
                has_to
                and current is not None
                and current.valid_to is not None
                and not row.raw("valid_to")
            ):
                # A blank would re-open a unit that ended (an old file imported again after the
                # reorganisation): refused; an admin re-opens a unit from its page.
                row.error(
                    "valid_to",
                    f"để trống sẽ mở lại {current.full_name} ({code}) đã kết thúc ngày "
                    f"{report_date(current.valid_to)}; ghi valid_to "
                    f"{current.valid_to.isoformat()} hoặc bỏ cột valid_to để giữ nguyên",
                )
            successor_codes = []
            for part in row.raw("successor_codes").split("|"):
                part = part.strip()
                if not part:
                    continue
                if not CODE_RE.match(part):
                    row.error("successor_codes", f"'{part}' không phải mã đơn vị")
                elif part not in successor_codes:
                    successor_codes.append(part)
            if valid_from and valid_to and valid_to < valid_from:
                row.error(
                    "valid_to",
                    f"{valid_to.isoformat()} trước valid_from ({valid_from.isoformat()})",
                )
            if successor_codes and valid_to is None and not row.raw("valid_to"):
                row.error("successor_codes", "đơn vị có đơn vị kế thừa phải có valid_to")
            if level and level != "commune" and parent_code:
                row.error("parent_code", f"{LEVEL_NAMES[level]} không có đơn vị cha")
            if code and not _first_seen(
                row, seen, (code, valid_from), "code", f"mã {code} (valid_from {valid_from or '-'})"
            ):
                continue
            parsed.append(
                (
                    row,
                    dict(
                        code=code,
                        level=level,
                        kind=kind,
                        name=name,
                        parent_code=parent_code,
                        valid_from=valid_from,
                        valid_to=valid_to,
                        successor_codes=successor_codes,
                        current=current,
                    ),
                )
            )
        # The units as they will be after the import: stored ones, updated by the file's rows.
        final: dict[tuple, dict] = {
            (u.code, u.valid_from): dict(
                code=u.code, level=u.level, valid_from=u.valid_from, valid_to=u.valid_to, row=None
            )
            for u in stored
        }
        for row, v in parsed:
            if v["code"]:
                final[(v["code"], v["valid_from"])] = dict(v, row=row)
        by_code: dict[str, list[dict]] = defaultdict(list)
        for item in final.values():
            by_code[item["code"]].append(item)

        def overlaps(a: dict, b: dict) -> bool:
            return (a["valid_from"] is None or b["valid_to"] is None
                    or a["valid_from"] <= b["valid_to"]) and (
                b["valid_from"] is None or a["valid_to"] is None
                or b["valid_from"] <= a["valid_to"])  # fmt: skip

        def lifetime(item: dict) -> str:
            start = item["valid_from"].isoformat() if item["valid_from"] else "…"
            end = item["valid_to"].isoformat() if item["valid_to"] else "…"
            return f"{start} – {end}"

        def covering(code: str, first, last) -> list[dict]:
            """Units with this code that exist on every day from first to last."""
            return [
                u
                for u in by_code.get(code, [])
                if (u["valid_from"] is None or (first is not None and u["valid_from"] <= first))
                and (u["valid_to"] is None or (last is not None and last <= u["valid_to"]))
            ]

        def on_day(code: str, day) -> list[dict]:
            return [
                u
                for u in by_code.get(code, [])
                if (u["valid_from"] is None or u["valid_from"] <= day)
                and (u["valid_to"] is None or day <= u["valid_to"])
            ]

        for row, v in parsed:
            code = v["code"]
            if not code or not row.ok:
                continue
            for other in by_code[code]:
                if other["valid_from"] == v["valid_from"]:
                    continue
                if overlaps(v, other):
                    where = f"dòng {other['row'].line}" if other["row"] else "đã lưu"
                    row.error(
                        "valid_from",
                        f"mã {code} đã có đơn vị {lifetime(other)} ({where}) trùng thời gian "
                        f"tồn tại {lifetime(v)}; một mã chỉ một đơn vị mỗi ngày",
                    )
                    break
            parent = v["parent_code"]
            if v["level"] == "commune" and parent:
                candidates = by_code.get(parent, [])
                fitting = covering(parent, v["valid_from"], v["valid_to"])
                if not candidates:
                    row.error("parent_code", f"không có đơn vị {parent}")
                elif not fitting:
                    row.error(
                        "parent_code",
                        f"đơn vị cha {parent} ({', '.join(lifetime(c) for c in candidates)}) "
                        f"không tồn tại suốt thời gian của đơn vị ({lifetime(v)})",
                    )
                elif fitting[0]["level"] != "district":
                    row.error(
                        "parent_code",
                        f"{parent} không phải quận, huyện (là {LEVEL_NAMES[fitting[0]['level']]})",
                    )
                else:
                    v["parent_key"] = (parent, fitting[0]["valid_from"])
            if v["successor_codes"] and v["valid_to"] is not None:
                day_after = v["valid_to"] + timedelta(days=1)
                keys = []
                for successor in v["successor_codes"]:
                    found = on_day(successor, day_after)
                    if not by_code.get(successor):
                        row.error("successor_codes", f"không có đơn vị kế thừa {successor}")
                    elif not found:
                        row.error(
                            "successor_codes",
                            f"đơn vị kế thừa {successor} không tồn tại ngày "
                            f"{day_after.isoformat()} (ngày sau valid_to)",
                        )
                    else:
                        keys.append((successor, found[0]["valid_from"]))
                v["successor_keys"] = keys
        self._check_stored_references(parsed, final, lifetime)
        self._positions(parsed, stored)
        # Good rows are written even when others are bad (the import rolls back anyway), so
        # that later files of the same import are checked against these units.
        good = [(row, v) for row, v in parsed if row.ok]
        # Parents before children (districts before communes), so parent ids are known.
        written: dict[tuple, Unit] = dict(by_key)
        for level in LEVELS:
            for row, v in good:
                if v["level"] != level:
                    continue
                parent_id = None
                if v.get("parent_key") in written:
                    parent_id = written[v["parent_key"]].id
                values = {
                    "code": v["code"],
                    "level": level,
                    "kind": v["kind"],
                    "name": v["name"],
                    "parent_id": parent_id,
                    "position": v["position"],
                    "valid_from": v["valid_from"],
                    "valid_to": v["valid_to"],
                }
                key = v["code"] if v["valid_from"] is None else f"{v['code']}@{v['valid_from']}"
                unit = upsert(ctx, summary, row.line, key, v["current"], Unit, values, "unit")
                unit.search_key = fold(f"{v['kind']} {v['name']}")  # derived: not a change
                written[(v["code"], v["valid_from"])] = unit
            db.session.flush()
        if has_successors:
            current = successors_of(u.id for _r, v in good if (u := v["current"]) is not None)
            changes = {c.line: c for c in summary.changes}
            for row, v in good:
                unit = written[(v["code"], v["valid_from"])]
                wanted = [written[k] for k in v.get("successor_keys", []) if k in written]
                before = current.get(unit.id, []) if v["current"] is not None else []
                if [u.id for u in before] == [u.id for u in wanted]:
                    continue
                db.session.execute(
                    unit_successors.delete().where(unit_successors.c.unit_id == unit.id)
                )
                if wanted:
                    db.session.execute(
                        unit_successors.insert(),
                        [
                            {"unit_id": unit.id, "successor_id": s.id, "position": i}
                            for i, s in enumerate(wanted)
                        ],
                    )
                db.session.expire(unit, ["successors"])
                change = changes[row.line]
                if change.status == "unchanged":
                    change.status = "updated"
                change.diffs["successor_codes"] = (_codes(before), _codes(wanted))
                record(
                    "import_update",
                    "unit",
                    change.key,
                    f"Đơn vị kế thừa của {change.key}: {_codes(wanted) or 'không có'}",
                    detail={"successor_codes": [_codes(before), _codes(wanted)]},
                    user_id=ctx.actor_id,
                )
        summary.changes.sort(key=lambda c: c.line)

    @staticmethod
    def _positions(parsed, stored) -> None:
        """Row order is display order within a level. When the file lists the stored units of a
        level in their stored order (a partial file, or last era's file again), they keep their
        positions and new units come after them; otherwise the file's order is the new order."""
        by_level: dict[str, list[dict]] = defaultdict(list)
        for _row, v in parsed:
            if v["level"]:
                by_level[v["level"]].append(v)
        highest: dict[str, int] = defaultdict(int)
        for unit in stored:
            highest[unit.level] = max(highest[unit.level], unit.position)
        for level, items in by_level.items():
            # A unit already at this level has a place in it; one new to the level has none.
            placed = [v["current"] is not None and v["current"].level == level for v in items]
            kept = [v["current"].position for v, p in zip(items, placed, strict=True) if p]
            # Stored units in their stored order, new ones only after them: keep and append
            # (so importing the same file again changes nothing); else the file's order.
            appended = placed == sorted(placed, reverse=True)
            if appended and all(a < b for a, b in zip(kept, kept[1:], strict=False)):
                following = highest[level]
                for v, p in zip(items, placed, strict=True):
                    if p:
                        v["position"] = v["current"].position
                    else:
                        following += 1
                        v["position"] = following
            else:
                for position, v in enumerate(items, start=1):
                    v["position"] = position

    @staticmethod
    def _check_stored_references(parsed, final: dict, lifetime) -> None:
        """A stored unit whose lifetime the file shortens must still cover what refers to it:
        its tickets (by opened_at), its statistics (by month), its children (over their whole
        lifetime) and the units that name it as successor (on the day after they end)."""
        from ..units.periods import Period

        narrowed = {}
        for row, v in parsed:
            unit = v["current"]
            if unit is None or not row.ok:
                continue
            if (v["valid_from"], v["valid_to"]) != (unit.valid_from, unit.valid_to):
                narrowed[unit.id] = (row, v)
        if not narrowed:
            return

        def inside(v: dict, first, last) -> bool:
            return (v["valid_from"] is None or v["valid_from"] <= first) and (
                v["valid_to"] is None or last <= v["valid_to"]
            )

        def column(v: dict) -> str:
            return "valid_to" if v["valid_to"] is not None else "valid_from"

        ids = list(narrowed)
        tickets = db.session.execute(
            select(
                Ticket.unit_id,
                func.count(),
                func.min(Ticket.opened_at),
                func.max(Ticket.opened_at),
            )
            .where(Ticket.unit_id.in_(ids))
            .group_by(Ticket.unit_id)
        ).all()
        for unit_id, _n, first, last in tickets:
            row, v = narrowed[unit_id]
            if inside(v, first.date(), last.date()):
                continue
            outside = db.session.scalar(
                select(func.count()).where(
                    Ticket.unit_id == unit_id,
                    (Ticket.opened_at < datetime.combine(v["valid_from"] or date.min, time()))
                    | (
                        Ticket.opened_at
                        >= datetime.combine(
                            (v["valid_to"] or date.max - timedelta(days=1)) + timedelta(days=1),
                            time(),
                        )
                    ),
                )
            )
            row.error(
                column(v),
                f"{outside} phiếu hỗ trợ của đơn vị này nằm ngoài thời gian tồn tại mới "
                f"({lifetime(v)}); hãy chuyển chúng sang đơn vị kế thừa trước",
            )
        months = db.session.execute(
            select(UnitStat.unit_id, UnitStat.month)
            .where(UnitStat.unit_id.in_(ids))
            .order_by(UnitStat.unit_id, UnitStat.month)
        ).all()
        outside_months: dict[int, list[str]] = defaultdict(list)
        for unit_id, month in months:
            _row, v = narrowed[unit_id]
            period = Period.month(month)
            if not (
                (v["valid_from"] is None or v["valid_from"] <= period.last)
                and (v["valid_to"] is None or period.first <= v["valid_to"])
            ):
                outside_months[unit_id].append(month)
        for unit_id, found in outside_months.items():
            row, v = narrowed[unit_id]
            row.error(
                column(v),
                f"có số liệu tháng {', '.join(found)} nằm ngoài thời gian tồn tại mới "
                f"({lifetime(v)})",
            )
        children = db.session.execute(
            select(Unit.parent_id, Unit.code, Unit.valid_from).where(Unit.parent_id.in_(ids))
        ).all()
        for parent_id, code, valid_from in children:
            row, v = narrowed[parent_id]
            child = final.get((code, valid_from))
            if child is None or child.get("row") is not None:
                continue  # a child in the file was checked against its parent already
            if not inside(v, child["valid_from"] or date.min, child["valid_to"] or date.max):
                row.error(
                    column(v),
                    f"đơn vị con {code} ({lifetime(child)}) sẽ sống lâu hơn đơn vị cha "
                    f"({lifetime(v)})",
                )
        predecessors = db.session.execute(
            select(unit_successors.c.successor_id, Unit.code, Unit.valid_from)
            .join(Unit, Unit.id == unit_successors.c.unit_id)
            .where(unit_successors.c.successor_id.in_(ids))
        ).all()
        for successor_id, code, valid_from in predecessors:
            row, v = narrowed[successor_id]
            before = final.get((code, valid_from))
            if before is None or before.get("row") is not None or before["valid_to"] is None:
                continue
            day = before["valid_to"] + timedelta(days=1)
            if not inside(v, day, day):
                row.error(
                    column(v),
                    f"là đơn vị kế thừa của {code} từ ngày {day.isoformat()}, nằm ngoài thời "
                    f"gian tồn tại mới ({lifetime(v)})",
                )


def _codes(units) -> str | None:
    return "|".join(u.code for u in units) or None


class CategoriesHandler:
    columns = {
        "code": True,
        "audience": True,
        "label": True,
        "report_phrase": True,
        "due_days": False,
        "response_minutes": False,  # working minutes to a first response; blank: no target
    }

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        existing = {c.code: c for c in db.session.scalars(select(Category))}
        seen: dict = {}
        for position, row in enumerate(_rows(table, ctx), start=1):
            code = row.text("code", required=True, max_len=64)
            if code and not CODE_RE.match(code):
                row.error("code", f"'{code}' chỉ gồm chữ, số, dấu chấm, gạch")
            audience = row.choice("audience", AUDIENCES)
            label = row.text("label", required=True, max_len=200)
            phrase = row.text("report_phrase", required=True, max_len=300)
            due_days = row.integer("due_days")
            if due_days is not None and due_days > 60:
                row.error("due_days", f"{due_days} ngày làm việc là quá dài (tối đa 60)")
            elif due_days == 0:
                row.error("due_days", "hạn 0 ngày làm việc không thể đáp ứng (ít nhất 1)")
            response = row.integer("response_minutes")
            if response is not None and not 1 <= response <= 6000:
                row.error("response_minutes", f"{response} phút: từ 1 đến 6.000 phút làm việc")
            if code and not _first_seen(row, seen, code, "code", f"mã {code}"):
                continue
            if not row.ok:
                continue
            values = {
                "code": code,
                "audience": audience,
                "label": label,
                "report_phrase": phrase,
                "position": position,
            }
            if due_days is not None:
                values["due_days"] = due_days
            if "response_minutes" in table.headers:
                values["response_minutes"] = response
            upsert(ctx, summary, row.line, code, existing.get(code), Category, values, "category")


class AnswersHandler:
    """Canned answers: row order is the picker's order; categories ``a|b`` (blank: every one)."""

    columns = {"code": True, "title": True, "text": True, "categories": False}

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        existing = {a.code: a for a in db.session.scalars(select(CannedAnswer))}
        known = set(db.session.scalars(select(Category.code)))  # this import's are flushed
        seen: dict = {}
        for position, row in enumerate(_rows(table, ctx), start=1):
            code = row.text("code", required=True, max_len=64)
            if code and not CODE_RE.match(code):
                row.error("code", f"'{code}' chỉ gồm chữ, số, dấu chấm, gạch")
            title = row.text("title", required=True, max_len=200)
            text = row.text("text", required=True, max_len=5000)
            raw = row.text("categories", max_len=1000) or ""
            codes = [c.strip() for c in raw.split("|") if c.strip()]
            unknown = [c for c in codes if c not in known]
            if unknown:
                row.error("categories", f"không có nhóm yêu cầu mã {', '.join(unknown)}")
            if len(set(codes)) != len(codes):
                row.error("categories", "một nhóm yêu cầu được ghi hai lần")
            if code and not _first_seen(row, seen, code, "code", f"mã {code}"):
                continue
            if not row.ok:
                continue
            values = {
                "code": code,
                "title": title,
                "text": text,
                "category_codes": "|".join(codes),
                "position": position,
            }
            upsert(ctx, summary, row.line, code, existing.get(code), CannedAnswer, values, "answer")


class UsersHandler:
    # email: where notifications go; units: for unit staff, the codes of the units they answer
    # for, ``|``-separated (units that exist today). A column the file lacks keeps what is stored.
    columns = {"username": True, "full_name": True, "role": True, "email": False, "units": False}

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        from ..auth.models import UserUnit
        from ..timeutil import today_local
        from ..units.periods import CodeIndex, UnitNotFound

        existing = {u.username: u for u in db.session.scalars(select(User))}
        units = CodeIndex.load() if "units" in table.headers else None
        today = today_local()
        seen: dict = {}
        bindings: list[tuple[User, list[int]]] = []
        for row in _rows(table, ctx):
            username = row.text("username", required=True, max_len=64)
            if username:
                username = username.lower()
                if not USERNAME_RE.match(username):
                    row.error("username", f"'{username}': chữ thường không dấu, số, '.', '-', '_'")
            full_name = row.text("full_name", required=True, max_len=120)
            role = row.choice("role", ROLES)
            email = row.text("email", max_len=254) if "email" in table.headers else None
            if email and not EMAIL_RE.match(email):
                row.error("email", f"'{email}' không phải địa chỉ email")
            unit_ids: list[int] = []
            if units is not None:
                for code in [c.strip() for c in row.raw("units").split("|") if c.strip()]:
                    try:
                        unit_ids.append(units.on(code, today).id)
                    except (UnitNotFound, ValueError) as exc:
                        row.error("units", f"đơn vị {code}: {exc}")
                if role == "unit_staff" and not unit_ids and row.ok:
                    row.error("units", "cán bộ đơn vị cần ít nhất một đơn vị")
            if username and not _first_seen(row, seen, username, "username", username):
                continue
            if row.ok:
                values = {"username": username, "full_name": full_name, "role": role}
                if "email" in table.headers:
                    values["email"] = email or None
                user = upsert(
                    ctx, summary, row.line, username, existing.get(username), User, values, "user"
                )
                if units is not None:
                    bindings.append((user, unit_ids if role == "unit_staff" else []))
        if bindings:
            db.session.flush()
            for user, ids in bindings:
                db.session.execute(delete(UserUnit).where(UserUnit.user_id == user.id))
                db.session.add_all(UserUnit(user_id=user.id, unit_id=i) for i in sorted(set(ids)))


class UnitStatsHandler:
    # unit_name: optional and informative only (the XLSX template lists names for people);
    # units are matched by unit_code.
    columns = {
        "month": True,
        "unit_code": True,
        "unit_name": False,
        **{f: False for f in UNIT_STAT_FIELDS},
    }

    # A part never exceeds its whole.
    parts = (
        ("online", "received"),
        ("fee_transactions", "payment_transactions"),
        ("fee_amount", "payment_amount"),
    )

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        from ..units.periods import CodeIndex, Period

        units = CodeIndex.load()
        locked = _locked_months()
        # A figure column the file does not have keeps the stored values (a file of payment
        # figures only must not wipe the dossier counts); a blank cell is "not reported".
        present = [f for f in UNIT_STAT_FIELDS if f in table.headers]
        parsed = []
        seen: dict = {}
        for row in _rows(table, ctx):
            month = row.month()
            code = row.text("unit_code", required=True, max_len=32)
            # The unit with that code in that month (codes are reused over time).
            unit = _unit_for(row, "unit_code", units, code, month and Period.month(month))
            figures = {f: row.integer(f) for f in present}
            for part, whole in self.parts:
                if figures.get(part) is not None and figures.get(whole) is not None:
                    if figures[part] > figures[whole]:
                        row.error(part, f"{figures[part]} lớn hơn {whole} ({figures[whole]})")
            if month and month in locked:
                row.error("month", f"tháng {month} đã khóa (báo cáo đã ban hành)")
            if (
                month
                and code
                and not _first_seen(row, seen, (month, code), "unit_code", f"{month} {code}")
            ):
                continue
            if row.ok:
                parsed.append((row, month, unit, figures))
        months = {m for _r, m, _u, _f in parsed}
        existing = (
            {
                (s.month, s.unit_id): s
                for s in db.session.scalars(select(UnitStat).where(UnitStat.month.in_(months)))
            }
            if months
            else {}
        )
        for row, month, unit, figures in parsed:
            current = existing.get((month, unit.id))
            if current is None and all(v is None for v in figures.values()):
                # A row left blank (as in the template) reports nothing: there is nothing to add.
                summary.changes.append(RowChange(row.line, f"{month} {unit.code}", "unchanged"))
                continue
            if current is not None:
                self._check_against_stored(row, figures, current)
                if not row.ok:
                    continue
            values = {"month": month, "unit_id": unit.id, **figures}
            upsert(
                ctx,
                summary,
                row.line,
                f"{month} {unit.code}",
                current,
                UnitStat,
                values,
                "unit_stat",
            )

    def _check_against_stored(self, row: Row, figures: dict, current: UnitStat) -> None:
        """A part in the file against its stored whole, or a whole in the file against its part."""
        for part, whole in self.parts:
            if (part in figures) == (whole in figures):
                continue  # both in the file (checked above) or neither
            value_part = figures[part] if part in figures else getattr(current, part)
            value_whole = figures[whole] if whole in figures else getattr(current, whole)
            if value_part is None or value_whole is None or value_part <= value_whole:
                continue
            if part in figures:
                row.error(part, f"{value_part} lớn hơn {whole} đã lưu ({value_whole})")
            else:
                row.error(whole, f"{value_whole} nhỏ hơn {part} đã lưu ({value_part})")


class CityStatsHandler:
    columns = {
        "month": True,
        "population_lookups": False,
        "population_matched": False,
        "population_as_of": False,
    }

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        existing = {c.month: c for c in db.session.scalars(select(CityStat))}
        locked = _locked_months()
        seen: dict = {}
        # As for unit_stats: a column the file does not have keeps the stored value.
        present = set(table.headers)
        for row in _rows(table, ctx):
            month = row.month()
            values = {}
            if "population_lookups" in present:
                values["population_lookups"] = row.integer("population_lookups")
            if "population_matched" in present:
                values["population_matched"] = row.integer("population_matched")
            if "population_as_of" in present:
                values["population_as_of"] = row.date("population_as_of")
            stored = existing.get(month) if month else None
            lookups = values.get("population_lookups", getattr(stored, "population_lookups", None))
            matched = values.get("population_matched", getattr(stored, "population_matched", None))
            if lookups is not None and matched is not None and matched > lookups:
                row.error("population_matched", f"{matched} lớn hơn population_lookups ({lookups})")
            if month and month in locked:
                row.error("month", f"tháng {month} đã khóa (báo cáo đã ban hành)")
            if month and not _first_seen(row, seen, month, "month", f"tháng {month}"):
                continue
            if row.ok:
                upsert(
                    ctx,
                    summary,
                    row.line,
                    month,
                    stored,
                    CityStat,
                    {"month": month, **values},
                    "city_stat",
                )


class ActivitiesHandler:
    columns = {"month": True, "text": True}

    def stage(self, table: Table, ctx: ImportContext, summary: FileSummary, report) -> None:
        locked = _locked_months()
        by_month: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for row in _rows(table, ctx):
            month = row.month()
            text = row.text("text", required=True, max_len=10000)
            if month and month in locked:
                row.error("month", f"tháng {month} đã khóa (báo cáo đã ban hành)")
            if row.ok:
                by_month[month].append((row.line, text))
        if not by_month:
            return
        current: dict[str, list[Activity]] = defaultdict(list)
        stmt = select(Activity).where(Activity.month.in_(by_month)).order_by(Activity.position)
        for activity in db.session.scalars(stmt):
            current[activity.month].append(activity)
        for month, items in by_month.items():
            old = current.get(month, [])
            if [a.text for a in old] == [t for _l, t in items]:
                summary.changes.extend(RowChange(line, month, "unchanged") for line, _t in items)
                continue
            # Importing a month replaces its list.
            for activity in old:
                db.session.delete(activity)
            for position, (line, text) in enumerate(items, start=1):
                db.session.add(Activity(month=month, position=position, text=text))
                status = "updated" if position <= len(old) else "added"
                diffs = {"text": (old[position - 1].text, text)} if status == "updated" else {}
                summary.changes.append(RowChange(line, f"{month} #{position}", status, diffs))
            record(
                "import_replace",
                "activities",
                month,
                f"Thay danh sách hoạt động tháng {month}: {len(old)} -> {len(items)} mục",
                user_id=ctx.actor_id,
            )


class TicketsHandler:
    columns = {
        "opened_at": True,
        "audience": True,
        "category": True,
        "channel": False,
        "requester_name": False,
        "requester_phone": False,
        "unit_code": False,
        "dossier_code": False,
        "summary": False,
        "status": False,
        "resolved_at": False,
        "operator": False,
        "satisfaction": False,  # added: a column the file does not have keeps the stored value
    }

    def stage(
        self, table: Table, ctx: ImportContext, summary: FileSummary, report: ImportReport
    ) -> None:
        from ..tickets.normalize import InvalidValue, normalize_dossier_code, normalize_phone
        from ..tickets.services import next_ref
        from ..tickets.sla import due_after, unit_due_after
        from ..timeutil import month_of
        from ..units.periods import CodeIndex, Period

        units = CodeIndex.load()
        categories = {c.code: c for c in db.session.scalars(select(Category))}
        users = {u.username: u for u in db.session.scalars(select(User))}
        calendar = current_calendar()
        seen: dict = {}
        parsed = []
        asked = "satisfaction" in table.headers
        for row in _rows(table, ctx):
            opened_at = row.datetime("opened_at", required=True)
            if opened_at and opened_at > ctx.now:
                row.error("opened_at", f"{opened_at.isoformat()} ở tương lai")
            audience = row.choice("audience", AUDIENCES)
            code = row.text("category", required=True, max_len=64)
            category = categories.get(code) if code else None
            if code and category is None:
                row.error("category", f"không có nhóm yêu cầu {code}")
            elif category and audience and category.audience != audience:
                row.error(
                    "category", f"{code} thuộc đối tượng {category.audience}, không phải {audience}"
                )
            channel = row.choice("channel", CHANNELS, default="phone")
            name = row.text("requester_name", max_len=120)
            phone = None
            try:
                phone = normalize_phone(row.raw("requester_phone"))
            except InvalidValue as exc:
                row.error("requester_phone", str(exc))
            unit_code = row.text("unit_code", max_len=32)
            # The unit with that code on the day the request came in.
            unit = _unit_for(
                row, "unit_code", units, unit_code, opened_at and Period.day(opened_at.date())
            )
            dossier = None
            try:
                dossier = normalize_dossier_code(row.raw("dossier_code"))
            except InvalidValue as exc:
                row.error("dossier_code", str(exc))
            text = row.text("summary", max_len=300)
            status = row.choice("status", STATUSES, default="closed")
            resolved_at = row.datetime("resolved_at")
            if resolved_at and opened_at and resolved_at < opened_at:
                row.error("resolved_at", "trước thời điểm tiếp nhận (opened_at)")
            if resolved_at and resolved_at > ctx.now:
                row.error("resolved_at", f"{resolved_at.isoformat()} ở tương lai")
            username = row.text("operator", max_len=64)
            operator = users.get(username.lower()) if username else None
            if username and operator is None:
                row.error("operator", f"không có người dùng {username}")
            satisfaction = row.choice("satisfaction", SATISFACTIONS, default="") if asked else ""
            if row.ok:  # a row already in error has no trustworthy key to compare
                key = f"{opened_at.isoformat()}|{phone or ''}|{code}"
                if not _first_seen(
                    row, seen, key, "opened_at", "yêu cầu (opened_at, phone, category)"
                ):
                    continue
            if row.ok:
                parsed.append(
                    (
                        row,
                        key,
                        dict(
                            opened_at=opened_at,
                            opened_month=month_of(opened_at),
                            channel=channel,
                            audience=audience,
                            category_id=category.id,
                            requester_name=name,
                            requester_phone=phone,
                            unit_id=unit.id if unit else None,
                            dossier_code=dossier,
                            summary=text or category.label,
                            status=status,
                            resolved_at=resolved_at if status in ("resolved", "closed") else None,
                            closed_at=(resolved_at or opened_at) if status == "closed" else None,
                            operator_id=operator.id if operator else None,
                            assignee_id=operator.id if operator else None,
                            due_at=(due := due_after(opened_at, category, calendar)),
                            due_date=due.date(),
                            # A wait of unknown start: the clock stops from the opening.
                            paused_at=opened_at if status == "waiting" else None,
                            # Forwarded, in a file: to the unit concerned, when it came in.
                            forwarded_unit_id=(unit.id if unit and status == "forwarded" else None),
                            forwarded_at=opened_at if unit and status == "forwarded" else None,
                            unit_due_at=(
                                unit_due_after(opened_at, calendar)
                                if unit and status == "forwarded"
                                else None
                            ),
                            import_key=key,
                        )
                        | ({"satisfaction": satisfaction or None} if asked else {}),
                    )
                )
        keys = [k for _r, k, _v in parsed]
        existing: dict[str, Ticket] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            existing.update(
                (t.import_key, t)
                for t in db.session.scalars(select(Ticket).where(Ticket.import_key.in_(chunk)))
            )
        anonymised = _anonymised_tickets([v for _r, k, v in parsed if k not in existing])
        kept_anonymous = 0
        added = 0
        for row, key, values in parsed:
            ticket = existing.get(key)
            pool = anonymised.get((values["opened_at"], values["category_id"]))
            if ticket is None and pool:
                # The ticket is there, with its personal data erased: it stays as it is.
                pool.pop()
                kept_anonymous += 1
                summary.changes.append(RowChange(row.line, key, "unchanged"))
                continue
            if ticket is None:
                ticket = Ticket(ref=next_ref(values["opened_month"]), **values)
                db.session.add(ticket)
                ticket.events.append(
                    TicketEvent(
                        at=values["opened_at"],
                        user_id=values["operator_id"],
                        kind="created",
                        note=f"Nhập từ {table.filename}",
                    )
                )
                summary.changes.append(RowChange(row.line, key, "added"))
                added += 1
                continue
            diffs = {
                k: (getattr(ticket, k), v)
                for k, v in values.items()
                if k not in SCHEDULE and getattr(ticket, k) != v
            }
            if not diffs:
                summary.changes.append(RowChange(row.line, key, "unchanged"))
                continue
            for name, (old, new) in diffs.items():
                setattr(ticket, name, new)
                ticket.events.append(
                    TicketEvent(
                        user_id=ctx.actor_id,
                        kind="change",
                        field=name,
                        old_value=None if old is None else str(old),
                        new_value=None if new is None else str(new),
                        note=f"Nhập từ {table.filename}",
                    )
                )
            if "status" in diffs:
                # A new status in the file: the clock and the unit follow it, as on import.
                for name in ("paused_at", "forwarded_unit_id", "forwarded_at", "unit_due_at"):
                    setattr(ticket, name, values[name])
            summary.changes.append(RowChange(row.line, key, "updated", diffs))
            record(
                "import_update",
                "ticket",
                ticket.ref,
                f"Cập nhật {ticket.ref} từ tệp",
                detail={k: [o, n] for k, (o, n) in diffs.items()},
                user_id=ctx.actor_id,
            )
        if kept_anonymous:
            report.warnings.append(
                f"{table.filename}: {kept_anonymous} dòng là yêu cầu đã xóa dữ liệu cá nhân "
                "(hết thời hạn lưu trữ); giữ nguyên, không ghi lại họ tên, số điện thoại"
            )
        if added:
            record(
                "import_add",
                "ticket",
                None,
                f"Nhập {added} yêu cầu từ {table.filename}",
                user_id=ctx.actor_id,
            )


def _anonymised_tickets(rows: list[dict]) -> dict[tuple, list[int]]:
    """Anonymised imported tickets by (opened_at, category_id), for the rows not matched by key.

    Retention (helpdesk/retention.py) replaces the import key, which holds the phone number,
    with ``anon:<id>``; such a ticket is recognised by when it was opened and its category.
    """
    if not rows:
        return {}
    moments = sorted({v["opened_at"] for v in rows})
    pool: dict[tuple, list[int]] = defaultdict(list)
    for start in range(0, len(moments), 500):
        stmt = select(Ticket.id, Ticket.opened_at, Ticket.category_id).where(
            Ticket.import_key.like("anon:%"), Ticket.opened_at.in_(moments[start : start + 500])
        )
        for ticket_id, opened_at, category_id in db.session.execute(stmt):
            pool[(opened_at, category_id)].append(ticket_id)
    return pool


HANDLERS = {
    "organisation": OrganisationHandler(),
    "units": UnitsHandler(),
    "categories": CategoriesHandler(),
    "answers": AnswersHandler(),
    "users": UsersHandler(),
    "unit_stats": UnitStatsHandler(),
    "city_stats": CityStatsHandler(),
    "activities": ActivitiesHandler(),
    "tickets": TicketsHandler(),
}
