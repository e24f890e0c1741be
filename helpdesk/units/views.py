from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import role_required
from ..audit import record
from ..extensions import db
from ..formatting import report_date
from ..timeutil import today_local
from ..transaction import rollback_request
from . import bp
from .forms import EndUnitForm, parse_day
from .lifecycle import LifecycleError, end_unit, lock, parse_codes, reopen_unit
from .models import LEVEL_LABELS, LEVELS, Unit, commune_kinds
from .periods import LevelInfo, successors_of
from .services import is_referenced, search_units, unit_choices_tree


@bp.route("/")
@role_required()
def index():
    """Every unit (or those that exist on ``ngay``, or of one level ``cap``), grouped by level,
    with its lifetime and successors (three queries whatever the number of units)."""
    q = (request.args.get("q") or "").strip()[:100]
    day_text = (request.args.get("ngay") or "").strip()[:10]
    day = parse_day(day_text)
    level = request.args.get("cap") or ""
    level = level if level in LEVELS else ""
    if q:
        units = search_units(q, limit=100, include_inactive=True, on=day)
        if day is not None:
            units = [u for u in units if u.exists_on(day)]
    else:
        units = unit_choices_tree(on=day)
    # The level filter offers the levels of the listed units (on that day: no district after
    # 30/6/2025), named by their kinds.
    level_options = [(info.level, info.label) for info, _members in _groups(units)]
    if level:
        units = [u for u in units if u.level == level]
        if level not in dict(level_options):
            level_options.append((level, LEVEL_LABELS[level]))
    groups = _groups(units)
    successors = successors_of(u.id for u in units if u.valid_to is not None)
    return render_template(
        "units/index.html",
        groups=groups,
        total=len(units),
        successors=successors,
        q=q,
        day=day,
        day_text=day_text,
        bad_day=bool(day_text) and day is None,
        level=level,
        level_options=level_options,
        today=today_local(),
        timedelta=timedelta,
        rdate=report_date,
    )


def _groups(units: list[Unit]) -> list[tuple[LevelInfo, list[Unit]]]:
    """The units by level (in the order of LEVELS, each keeping the list's order), with the
    level's heading for the kinds present (``Cấp xã, phường, đặc khu``)."""
    by_level: dict[str, list[Unit]] = {lvl: [] for lvl in LEVELS}
    for u in units:
        by_level[u.level].append(u)
    groups = []
    for lvl, members in by_level.items():
        if not members:
            continue
        kinds = list(dict.fromkeys(u.kind for u in members))
        kinds = commune_kinds(kinds) if lvl == "commune" else tuple(kinds)
        groups.append((LevelInfo(lvl, kinds, len(members)), members))
    return groups


@bp.route("/tim")
@role_required()
def search():
    """JSON for the unit picker: ``[{"id", "code", "label", "level", "current"}]``.

    ``on`` (``YYYY-MM-DD``, default today) is the day the unit is for (a call's date): units
    that exist that day come first; others carry ``current: false``, their lifetime in
    ``ended`` and their ``successors`` (id, code, label) to pick from instead.
    """
    q = (request.args.get("q") or "").strip()[:100]
    try:
        on = date.fromisoformat(request.args.get("on", "")[:10])
    except ValueError:
        on = today_local()
    units = search_units(q, limit=15, on=on)
    stale = [u for u in units if not u.exists_on(on)]
    successors = successors_of(u.id for u in stale)
    items = []
    for u in units:
        item = {"id": u.id, "code": u.code, "label": u.display, "level": u.level, "current": True}
        if not u.exists_on(on):
            item["current"] = False
            item["ended"] = u.ended_label or f"chưa tồn tại ngày {report_date(on)} ({u.lifetime})"
            item["successors"] = [
                {"id": s.id, "code": s.code, "label": s.display}
                for s in successors.get(u.id, [])
                if s.exists_on(on)
            ]
        items.append(item)
    return jsonify(items)


@bp.route("/<int:unit_id>/trang-thai", methods=["POST"])
@role_required("admin")
def toggle(unit_id: int):
    unit = db.session.get(Unit, unit_id) or abort(404)
    unit.active = not unit.active
    action = "activate" if unit.active else "deactivate"
    record(action, "unit", unit.code, f"{action} {unit.full_name}", user_id=current_user.id)
    state = "kích hoạt lại" if unit.active else "ngừng sử dụng"
    flash(f"Đã {state} {unit.full_name}.", "success")
    return redirect(request.referrer or url_for("units.index"))


@bp.route("/<int:unit_id>/xoa", methods=["POST"])
@role_required("admin")
def delete(unit_id: int):
    unit = db.session.get(Unit, unit_id) or abort(404)
    if is_referenced(unit):
        flash(
            f"Không thể xóa {unit.full_name}: đơn vị đang được tham chiếu (đơn vị trực thuộc, "
            "phiếu hỗ trợ, số liệu hoặc đơn vị kế thừa). Đơn vị đã giải thể, sáp nhập thì "
            "kết thúc (ngày cuối cùng và đơn vị kế thừa); hoặc chuyển sang ngừng sử dụng.",
            "error",
        )
        return redirect(url_for("units.index"))
    record("delete", "unit", unit.code, f"Xóa {unit.full_name}", user_id=current_user.id)
    db.session.delete(unit)
    flash(f"Đã xóa {unit.full_name}.", "success")
    return redirect(url_for("units.index"))


@bp.route("/<int:unit_id>/ket-thuc", methods=["GET", "POST"])
@role_required("admin")
def end(unit_id: int):
    """End a unit: its last day and its successors (or correct them, or re-open it)."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    current = successors_of([unit.id]).get(unit.id, [])
    form = EndUnitForm(
        data={"last_day": unit.valid_to, "successors": "|".join(s.code for s in current)}
    )
    if form.validate_on_submit():
        codes, bad = parse_codes(form.successors.data)
        for part in bad:
            form.successors.errors.append(f"“{part}” không phải mã đơn vị.")
        if not bad:
            unit = lock(unit_id) or abort(404)
            try:
                changed, successors = end_unit(
                    unit, form.last_day.data, codes, actor_id=current_user.id
                )
            except LifecycleError as exc:
                rollback_request()
                for name, messages in exc.problems.by_field.items():
                    getattr(form, name).errors.extend(messages)
            else:
                when = report_date(unit.valid_to)
                if changed:
                    text = f"Đã kết thúc {unit.full_name} ({unit.code}) ngày {when}"
                    if successors:
                        names = ", ".join(f"{s.full_name} ({s.code})" for s in successors)
                        text += f"; đơn vị kế thừa: {names}"
                    flash(text + ".", "success")
                else:
                    flash(
                        f"{unit.full_name} ({unit.code}) đã kết thúc ngày {when} với các đơn vị "
                        "kế thừa này; không có gì thay đổi.",
                        "warning",
                    )
                return redirect(url_for("units.end", unit_id=unit.id))
    status = 400 if form.errors else 200
    return render_template(
        "units/end.html",
        unit=unit,
        form=form,
        current=current,
        search_url=url_for("units.search"),
    ), status


@bp.route("/<int:unit_id>/mo-lai", methods=["POST"])
@role_required("admin")
def reopen(unit_id: int):
    """Correct a unit ended by mistake: no last day, no successors."""
    if db.session.get(Unit, unit_id) is None:
        abort(404)
    unit = lock(unit_id) or abort(404)
    try:
        before = reopen_unit(unit, actor_id=current_user.id)
    except LifecycleError as exc:
        rollback_request()
        flash("Không thể mở lại: " + " ".join(exc.problems.messages()), "error")
    else:
        text = f"Đã mở lại {unit.full_name} ({unit.code}): không còn ngày kết thúc"
        if before:
            text += " và đơn vị kế thừa (" + ", ".join(s.code for s in before) + ")"
        flash(text + ".", "success")
    return redirect(url_for("units.end", unit_id=unit_id))
