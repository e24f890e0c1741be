from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import role_required
from ..audit import record
from ..extensions import db
from ..formatting import report_date
from ..timeutil import today_local
from . import bp
from .models import LEVEL_LABELS, LEVELS, Unit
from .periods import successors_of
from .services import is_referenced, search_units, unit_choices_tree


@bp.route("/")
@role_required()
def index():
    q = (request.args.get("q") or "").strip()[:100]
    units = search_units(q, limit=100, include_inactive=True) if q else unit_choices_tree()
    return render_template(
        "units/index.html", units=units, q=q, level_labels=LEVEL_LABELS, levels=LEVELS
    )


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
    db.session.commit()
    state = "kích hoạt lại" if unit.active else "ngừng sử dụng"
    flash(f"Đã {state} {unit.full_name}.", "success")
    return redirect(request.referrer or url_for("units.index"))


@bp.route("/<int:unit_id>/xoa", methods=["POST"])
@role_required("admin")
def delete(unit_id: int):
    unit = db.session.get(Unit, unit_id) or abort(404)
    if is_referenced(unit):
        flash(
            f"Không thể xóa {unit.full_name}: đơn vị đang được tham chiếu. "
            "Hãy chuyển sang ngừng sử dụng.",
            "error",
        )
        return redirect(url_for("units.index"))
    record("delete", "unit", unit.code, f"Xóa {unit.full_name}", user_id=current_user.id)
    db.session.delete(unit)
    db.session.commit()
    flash(f"Đã xóa {unit.full_name}.", "success")
    return redirect(url_for("units.index"))
