"""Views of the tickets blueprint: quick entry, the list, the detail page, exports."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..access import role_required
from ..auth.models import DESK_ROLES, User
from ..extensions import db
from ..formatting import number
from ..formsutil import ActionForm, choices
from ..timeutil import now_local, today_local
from ..transaction import rollback_request
from ..units.models import Unit
from ..workcal.services import current_calendar
from . import bp, sla
from .exporting import export_tickets
from .forms import (
    SATISFACTION_KEYS,
    AssignForm,
    ForwardForm,
    MergeForm,
    NoteForm,
    PromiseForm,
    TicketEditForm,
    TicketForm,
    TransitionForm,
    UnmergeForm,
)
from .merging import (
    add_call_to,
    merge_ticket,
    merged_into_me,
    open_duplicates,
    ticket_by_ref,
    unmerge_ticket,
)
from .models import (
    AUDIENCE_LABELS,
    CHANNEL_LABELS,
    SATISFACTION_LABELS,
    STATUS_LABELS,
    STATUSES,
    Category,
    Ticket,
    TicketEvent,
)
from .normalize import InvalidValue, format_phone, normalize_dossier_code, normalize_phone
from .queries import (
    PHONE_TAIL_MIN,
    SORTS,
    TicketFilter,
    count_capped,
    filter_choices,
    filtered_tickets,
    ticket_page,
)
from .services import (
    FIELD_LABELS,
    FORWARDABLE,
    StaleTicket,
    TicketError,
    TicketForbidden,
    add_note,
    allowed_transitions,
    assign_ticket,
    caller_history,
    callers_ending_with,
    change_status,
    create_ticket,
    events_since,
    forward_ticket,
    issued_months_of,
    last_unit_and_dossier,
    month_words,
    promise_ticket,
    update_ticket,
)

# CSV streams row by row; openpyxl holds the whole sheet in memory, so XLSX stops earlier.
EXPORT_MAX_ROWS = {"csv": 200_000, "xlsx": 50_000}


@bp.context_processor
def ticket_labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "audience_labels": AUDIENCE_LABELS,
        "field_labels": FIELD_LABELS,
        "satisfaction_labels": SATISFACTION_LABELS,
        "satisfaction_keys": SATISFACTION_KEYS,
        "format_phone": format_phone,
        "today": today_local(),
    }


def _categories(active_only: bool = True) -> list[Category]:
    """Categories grouped by audience (citizens first), in their configured order."""
    stmt = select(Category).order_by(Category.audience.desc(), Category.position, Category.id)
    if active_only:
        stmt = stmt.where(Category.active.is_(True))
    return list(db.session.scalars(stmt))


# -- quick entry --------------------------------------------------------------------------------


@bp.route("/moi", methods=["GET", "POST"])
@role_required("operator")
def quick():
    """Log a call: phone first, caller's history beside it, one key per category."""
    into = _add_to_target()
    extra = {}
    if into is not None:
        # A call added to an open request is about the same matter: what the operator left
        # blank (category, unit, dossier code) is taken from that request.
        formdata = request.form.copy()
        if not formdata.get("category"):
            formdata["category"] = into.category.code
        if not formdata.get("unit") and into.unit is not None:
            formdata["unit"], formdata["unit_id"] = into.unit.display, str(into.unit_id)
        if not formdata.get("dossier_code") and into.dossier_code:
            formdata["dossier_code"] = into.dossier_code
        extra["formdata"] = formdata
    form = TicketForm(categories=_categories(), **extra)
    if form.validate_on_submit():
        close = not form.save.data
        try:
            if into is not None:  # another call about an open request: counted, merged into it
                ticket = add_call_to(
                    into, form.values(), current_user, now_local(), form.issued_reason.data
                )
            else:
                ticket = create_ticket(
                    form.values(),
                    current_user.id,
                    close=close,
                    now=now_local(),
                    reason=form.issued_reason.data,
                )
        except TicketError as exc:  # dated in an issued month: beside the date or the reason
            rollback_request()
            if exc.field == "add_to":
                form.form_errors.append(str(exc))
                return _render_quick(form, 409)
            target = getattr(form, exc.field or "opened_at")
            target.errors = [*target.errors, str(exc)]
            return _render_quick(form, 400)
        if into is not None:
            flash(
                Markup('Đã thêm cuộc gọi vào <a href="{}">{}</a> (lượt liên hệ {}).').format(
                    url_for("tickets.detail", ticket_id=into.id), into.ref, ticket.ref
                ),
                "success",
            )
            return redirect(url_for("tickets.quick"))
        state = "đã đóng" if close else "đang mở"
        flash(
            Markup('Đã lưu <a href="{}">{}</a> ({}).').format(
                url_for("tickets.detail", ticket_id=ticket.id), ticket.ref, state
            ),
            "success",
        )
        return redirect(url_for("tickets.quick"))
    return _render_quick(form, 400 if form.is_submitted() else 200)


def _add_to_target() -> Ticket | None:
    """The open ticket a quick-entry POST adds its call to (``add_to``), if any."""
    value = request.form.get("add_to", "") if request.method == "POST" else ""
    if not (value.isascii() and value.isdigit() and len(value) < 12):
        return None
    return db.session.get(Ticket, int(value)) or abort(404)


def _render_quick(form: TicketForm, status: int):
    recent = db.session.scalars(
        select(Ticket)
        .options(joinedload(Ticket.unit))
        .where(Ticket.operator_id == current_user.id)
        .order_by(Ticket.id.desc())
        .limit(6)
    ).unique()
    return render_template("tickets/quick.html", form=form, recent=list(recent)), status


@bp.route("/nguoi-goi")
@role_required("operator")
def caller():
    """JSON for quick entry: the caller's last requests and the name they gave last time; the
    open requests of the same caller or dossier (to add this call to); what the caller's last
    request was about (unit, dossier); callers whose number ends with 6 to 9 typed digits."""
    raw = (request.args.get("phone") or "")[:30]
    try:
        phone = normalize_phone(raw)
    except InvalidValue:
        phone = None
    try:
        dossier = normalize_dossier_code((request.args.get("dossier") or "")[:60])
    except InvalidValue:
        dossier = None
    today = today_local()
    now = now_local()
    calendar = current_calendar()  # read once, whatever the tickets (a constant query count)

    def due(t: Ticket) -> dict[str, str] | None:
        state = sla.due_state(t, now, calendar)
        return {"state": state.state, "label": state.label} if state.label else None

    duplicates = [
        {
            "id": t.id,
            "ref": t.ref,
            "url": url_for("tickets.detail", ticket_id=t.id),
            "opened_at": t.opened_at.strftime("%d/%m/%Y %H:%M"),
            "category": t.category.label,
            "status_label": STATUS_LABELS[t.status],
            "due": due(t),
            "summary": t.summary,
            "same": "phone" if phone and t.requester_phone == phone else "dossier",
        }
        for t in open_duplicates(phone, dossier)
    ]
    if phone is None:
        digits = re.sub(r"\D", "", raw)
        tail = callers_ending_with(digits) if PHONE_TAIL_MIN <= len(digits) < 10 else []
        return jsonify(
            {
                "phone": None,
                "name": None,
                "total": 0,
                "tickets": [],
                "duplicates": duplicates,
                "tail": [{**c, "display": format_phone(c["phone"])} for c in tail],
            }
        )
    found = caller_history(phone)
    last = last_unit_and_dossier(phone)
    return jsonify(
        {
            "phone": phone,
            "display": format_phone(phone),
            "name": found["name"],
            "total": found["total"],
            "list_url": url_for("tickets.index", q=phone),
            "tickets": [
                {
                    "ref": t.ref,
                    "url": url_for("tickets.detail", ticket_id=t.id),
                    "opened_at": t.opened_at.strftime("%d/%m/%Y %H:%M"),
                    "category": t.category.label,
                    "status": t.status,
                    "status_label": STATUS_LABELS[t.status],
                    "due": due(t) if t.status in sla.UNRESOLVED else None,
                    "summary": t.summary,
                    "unit": _unit_text(t.unit, today),
                    "dossier_code": t.dossier_code,
                    "merged": t.merged_into_id is not None,
                }
                for t in found["tickets"]
            ],
            "duplicates": duplicates,
            "last": (
                {
                    "ref": last["ref"],
                    "unit_id": last["unit"].id if last["unit"] else None,
                    "unit": last["unit"].display if last["unit"] else None,
                    "unit_current": bool(last["unit"] and last["unit"].exists_on(today)),
                    "dossier_code": last["dossier_code"],
                }
                if last
                else None
            ),
        }
    )


def _unit_text(unit: Unit | None, today) -> str | None:
    """``phường Minh Khai (quận Hồng Bàng), đã kết thúc 30/6/2025`` for a unit that ended."""
    if unit is None:
        return None
    if unit.valid_to is not None and unit.valid_to < today:
        return f"{unit.display}, {unit.ended_label}"
    return unit.display


# -- the list -----------------------------------------------------------------------------------


def _per_page() -> int:
    text = request.args.get("per_page", "")
    ok = text.isascii() and text.isdigit() and len(text) < 6  # "²" is a digit to isdigit()
    return max(10, min(int(text), 200)) if ok else 50


@bp.route("/")
@role_required("operator")
def index():
    """The filterable list; every filter lives in the URL."""
    flt = TicketFilter.from_args(request.args)
    page = ticket_page(flt, per_page=_per_page())
    unit = db.session.get(Unit, flt.unit) if flt.unit else None
    bulk_staff = (
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(DESK_ROLES))
            .order_by(User.full_name, User.id)
        ).all()
        if current_user.has_role("supervisor")
        else []
    )
    return render_template(
        "tickets/index.html",
        flt=flt,
        page=page,
        bulk_staff=bulk_staff,
        bulk_form=ActionForm(),
        filter_unit=unit,
        sorts=SORTS,
        statuses=STATUSES,
        **filter_choices(flt.month, district=flt.district, level=flt.level),
    )


def _export(fmt: str) -> Response:
    flt = TicketFilter.from_args(request.args)
    limit = min(EXPORT_MAX_ROWS[fmt], current_app.config.get("TICKETS_EXPORT_MAX_ROWS", 10**9))
    if count_capped(filtered_tickets(flt), cap=limit) > limit:
        hint = " hoặc xuất CSV" if fmt == "xlsx" else ""
        flash(
            f"Danh sách có hơn {number(limit)} yêu cầu: quá lớn để xuất {fmt.upper()}. "
            f"Hãy lọc hẹp hơn{hint} rồi xuất lại.",
            "error",
        )
        return redirect(url_for("tickets.index", **flt.to_args()))
    payload = export_tickets(flt, fmt, actor_id=current_user.id)  # audited with the request
    stamp = now_local().strftime("%Y%m%d-%H%M")
    mimetype = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        payload,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="yeu-cau-{stamp}.{fmt}"'},
    )


@bp.route("/xuat.csv")
@role_required("supervisor")
def export_csv():
    return _export("csv")


@bp.route("/xuat.xlsx")
@role_required("supervisor")
def export_xlsx():
    return _export("xlsx")


# -- the detail page ----------------------------------------------------------------------------


def _load(ticket_id: int) -> Ticket:
    stmt = (
        select(Ticket)
        .options(
            joinedload(Ticket.unit).joinedload(Unit.parent),
            joinedload(Ticket.forwarded_unit).joinedload(Unit.parent),
            joinedload(Ticket.assignee),
            joinedload(Ticket.operator),
            selectinload(Ticket.events).joinedload(TicketEvent.user),
        )
        .where(Ticket.id == ticket_id)
    )
    return db.session.scalars(stmt).unique().one_or_none() or abort(404)


def _last_event_id(ticket: Ticket) -> int:
    return max((e.id for e in ticket.events), default=0)


def _edit_form(ticket: Ticket, categories: list[Category]) -> TicketEditForm:
    return TicketEditForm(
        categories=categories,
        keep_category=ticket.category.code,
        keep_unit_id=ticket.unit_id,
        opened_day=ticket.opened_at.date(),
        formdata=None,
        data={
            "requester_phone": format_phone(ticket.requester_phone),
            "requester_name": ticket.requester_name,
            "category": ticket.category.code,
            "unit": ticket.unit.display if ticket.unit else "",
            "unit_id": str(ticket.unit_id or ""),
            "dossier_code": ticket.dossier_code,
            "summary": ticket.summary,
            "details": ticket.details,
            "channel": ticket.channel,
            "satisfaction": ticket.satisfaction or "",
            "opened_at": ticket.opened_at,
            "version": ticket.version,
            "seen": _last_event_id(ticket),
        },
    )


def _refresh_versions(ticket: Ticket, *forms) -> None:
    """After a refusal, the forms carry the current version: saving again is a deliberate act."""
    for form in forms:
        if form is None:
            continue
        for name, value in (("version", ticket.version), ("seen", _last_event_id(ticket))):
            getattr(form, name).data = value
            getattr(form, name).raw_data = [str(value)]


def _render_detail(ticket: Ticket, status: int = 200, **forms: Any):
    categories = _categories(active_only=False)
    version = {"version": ticket.version, "seen": _last_event_id(ticket)}
    edit = forms.get("edit") or _edit_form(ticket, categories)
    staff = list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(DESK_ROLES))
            .order_by(User.full_name, User.id)
        )
    )
    assign = forms.get("assign") or AssignForm(prefix="as", formdata=None, data=version)
    assign.assignee.choices = choices(
        {str(u.id): u.full_name for u in staff}, blank="— Chưa giao —"
    )
    if "assign" not in forms:
        assign.assignee.data = str(ticket.assignee_id or "")
    # A month whose report is issued: its date and category change by a supervisor, with a
    # reason; the edit form says so beside the date and shows the reason field.
    issued = issued_months_of([ticket.opened_month])
    if issued and current_user.has_role("supervisor"):
        edit.show_reason = True
    stale = forms.get("stale")
    now = now_local()
    if stale is not None:
        _refresh_versions(ticket, edit, forms.get("transition"), forms.get("assign"))
        _refresh_versions(ticket, forms.get("promise"))
        _refresh_versions(ticket, forms.get("forward"), forms.get("merge"), forms.get("unmerge"))
    return (
        render_template(
            "tickets/detail.html",
            ticket=ticket,
            edit=edit,
            transition=forms.get("transition")
            or TransitionForm(prefix="st", formdata=None, data=version),
            assign=assign,
            forward=forms.get("forward") or ForwardForm(prefix="fw", formdata=None, data=version),
            note_form=forms.get("note") or NoteForm(prefix="nt", formdata=None),
            promise=forms.get("promise") or PromiseForm(prefix="pr", formdata=None, data=version),
            due=sla.due_state(ticket, now),
            needs_promise=sla.needs_promise(ticket, now),
            unit_late=sla.is_unit_late(ticket, now),
            merge=forms.get("merge") or MergeForm(prefix="mg", formdata=None, data=version),
            unmerge=forms.get("unmerge") or UnmergeForm(prefix="um", formdata=None, data=version),
            merged=merged_into_me(ticket),
            stale=stale,
            targets=allowed_transitions(ticket, current_user),
            can_forward=ticket.status in FORWARDABLE,
            can_reassign=current_user.has_role("supervisor"),
            issued_month=month_words(ticket.opened_month) if issued else None,
        ),
        status,
    )


def _stale(ticket_id: int, exc: StaleTicket | None, seen: int | None, **forms: Any):
    """Refuse a save made on an old copy: show what the other person changed."""
    rollback_request()
    changes = exc.changes if exc else events_since(ticket_id, seen)
    ticket = _load(ticket_id)
    return _render_detail(ticket, 409, stale=changes, **forms)


def _run(ticket_id: int, form, slot: str, action, error_field=None):
    """Run one ticket action (the request commits it); on failure, the detail page with the form
    re-shown, from the stored ticket.

    Returns (the action's result, None) on success, else (None, the response to send): 403 for
    a forbidden action, 400 with the message beside ``error_field``, 409 with the other person's
    changes for a stale copy.
    """
    try:
        result = action()
        db.session.flush()  # a concurrent save shows here (StaleDataError), not at commit
    except TicketForbidden:
        rollback_request()
        abort(403)
    except TicketError as exc:
        rollback_request()  # the page shows the ticket as stored, not half changed
        # Beside the field the service names, if the form has it; else ``error_field``.
        named = getattr(form, exc.field, None) if exc.field else None
        target = named if hasattr(named, "errors") else error_field
        forms = {slot: form}
        if target is None and exc.field in ("promised_at", "progress_note"):
            # A late ticket: the message goes beside the promise form, shown above the others.
            promise = PromiseForm(prefix="pr", formdata=None)
            promise.promised_at.errors = [str(exc)]
            forms["promise"] = promise
        elif target is None:
            raise
        else:
            target.errors = [*target.errors, str(exc)]
        ticket = _load(ticket_id)
        if "promise" in forms and slot != "promise":
            _refresh_versions(ticket, forms["promise"])
        return None, _render_detail(ticket, 400, **forms)
    except StaleTicket as exc:
        return None, _stale(ticket_id, exc, form.seen.data, **{slot: form})
    except StaleDataError:
        return None, _stale(ticket_id, None, form.seen.data, **{slot: form})
    return result, None


@bp.route("/<int:ticket_id>")
@role_required("operator")
def detail(ticket_id: int):
    return _render_detail(_load(ticket_id))


@bp.route("/<int:ticket_id>/sua", methods=["POST"])
@role_required("operator")
def edit(ticket_id: int):
    ticket = _load(ticket_id)
    form = TicketEditForm(
        categories=_categories(active_only=False),
        keep_category=ticket.category.code,
        keep_unit_id=ticket.unit_id,
        opened_day=ticket.opened_at.date(),
    )
    if not form.validate():
        return _render_detail(ticket, 400, edit=form)
    changed, refused = _run(
        ticket_id,
        form,
        "edit",
        lambda: update_ticket(
            ticket,
            form.values(),
            current_user.id,
            form.version.data,
            form.seen.data,
            now_local(),
            reason=form.issued_reason.data,
        ),
    )
    if refused:
        return refused
    flash(f"Đã lưu {ticket.ref}." if changed else "Không có thay đổi nào.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.route("/<int:ticket_id>/trang-thai", methods=["POST"])
@role_required("operator")
def transition(ticket_id: int):
    ticket = _load(ticket_id)
    form = TransitionForm(prefix="st")
    if not form.validate():
        return _render_detail(ticket, 400, transition=form)
    _, refused = _run(
        ticket_id,
        form,
        "transition",
        lambda: change_status(
            ticket,
            form.target.data,
            current_user,
            form.note.data,
            form.version.data,
            form.seen.data,
            now_local(),
        ),
        form.note,
    )
    if refused:
        return refused
    flash(f"{ticket.ref}: {STATUS_LABELS[ticket.status]}.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.route("/<int:ticket_id>/phan-cong", methods=["POST"])
@role_required("operator")
def assign(ticket_id: int):
    ticket = _load(ticket_id)
    form = AssignForm(prefix="as")
    if not form.validate():  # the version is required here as on every change
        return _render_detail(ticket, 400, assign=form)
    value = form.assignee.data or ""
    is_id = value.isascii() and value.isdigit() and len(value) < 12
    person = db.session.get(User, int(value)) if is_id else None
    if value and person is None:
        abort(400)
    _, refused = _run(
        ticket_id,
        form,
        "assign",
        lambda: assign_ticket(
            ticket, person, current_user, form.version.data, form.seen.data, now_local()
        ),
        form.assignee,
    )
    if refused:
        return refused
    who = person.full_name if person else "chưa giao"
    flash(f"{ticket.ref}: người xử lý {who}.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.route("/<int:ticket_id>/chuyen", methods=["POST"])
@role_required("operator")
def forward(ticket_id: int):
    ticket = _load(ticket_id)
    form = ForwardForm(prefix="fw")
    if not form.validate():
        return _render_detail(ticket, 400, forward=form)
    _, refused = _run(
        ticket_id,
        form,
        "forward",
        lambda: forward_ticket(
            ticket,
            form._unit,
            form.note.data,
            current_user,
            form.version.data,
            form.seen.data,
            now_local(),
        ),
        form.unit,
    )
    if refused:
        return refused
    flash(f"{ticket.ref}: đã chuyển tới {form._unit.display}.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


DEADLINE_ROWS = 200


@bp.route("/han-xu-ly")
@role_required("supervisor")
def deadlines():
    """The supervisors' queue: late requests, those due soon, and units late to answer."""
    now = now_local()
    options = (
        joinedload(Ticket.assignee),
        joinedload(Ticket.forwarded_unit),
        joinedload(Ticket.unit),
    )
    sections = []
    for key, title, condition, order in (
        ("late", "Quá hạn", sla.late_open_condition(now), Ticket.due_at),
        ("soon", "Sắp đến hạn", sla.due_soon_condition(now), Ticket.due_at),
        (
            "unit",
            "Đơn vị quá hạn trả lời",
            (Ticket.status == "forwarded") & (Ticket.unit_due_at < now),
            Ticket.unit_due_at,
        ),
    ):
        stmt = select(Ticket).where(condition)
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.session.scalars(
            stmt.options(*options).order_by(order, Ticket.id).limit(DEADLINE_ROWS)
        ).all()
        sections.append({"key": key, "title": title, "total": total, "tickets": rows})
    return render_template("tickets/deadlines.html", sections=sections, now=now)


@bp.route("/<int:ticket_id>/hen", methods=["POST"])
@role_required("operator")
def promise(ticket_id: int):
    """A promised date and a progress note: what a late ticket needs to be worked on."""
    ticket = _load(ticket_id)
    form = PromiseForm(prefix="pr")
    if not form.validate():
        return _render_detail(ticket, 400, promise=form)
    _, refused = _run(
        ticket_id,
        form,
        "promise",
        lambda: promise_ticket(
            ticket,
            form.promised_at.data,
            form.progress_note.data,
            current_user,
            form.version.data,
            form.seen.data,
            now_local(),
        ),
        form.progress_note,
    )
    if refused:
        return refused
    flash(f"{ticket.ref}: đã ghi ngày hẹn {form.promised_at.data:%H:%M %d/%m/%Y}.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.route("/<int:ticket_id>/ghi-chu", methods=["POST"])
@role_required("operator")
def note(ticket_id: int):
    ticket = _load(ticket_id)
    form = NoteForm(prefix="nt")
    if not form.validate():
        return _render_detail(ticket, 400, note=form)
    add_note(ticket, form.text.data, current_user.id)
    flash("Đã thêm ghi chú.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id) + "#lich-su")


# -- duplicates ---------------------------------------------------------------------------------


@bp.route("/<int:ticket_id>/gop", methods=["POST"])
@role_required("operator")
def merge(ticket_id: int):
    """Close this ticket as a duplicate of another: still a contact in every count."""
    ticket = _load(ticket_id)
    form = MergeForm(prefix="mg")
    if not form.validate():
        return _render_detail(ticket, 400, merge=form)
    into = ticket_by_ref(form.into.data)
    if into is None:
        form.into.errors = [*form.into.errors, f"Không có yêu cầu {form.into.data}."]
        return _render_detail(ticket, 400, merge=form)
    moved, refused = _run(
        ticket_id,
        form,
        "merge",
        lambda: merge_ticket(
            ticket, into, current_user, form.version.data, form.seen.data, now_local()
        ),
        form.into,
    )
    if refused:
        return refused
    also = f" (cùng {len(moved)} yêu cầu đã gộp vào nó)" if moved else ""
    flash(
        Markup('Đã gộp {} vào <a href="{}">{}</a>{}.').format(
            ticket.ref, url_for("tickets.detail", ticket_id=into.id), into.ref, also
        ),
        "success",
    )
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.route("/<int:ticket_id>/tach", methods=["POST"])
@role_required("operator")
def unmerge(ticket_id: int):
    ticket = _load(ticket_id)
    form = UnmergeForm(prefix="um")
    if not form.validate():
        return _render_detail(ticket, 400, unmerge=form)
    into, refused = _run(
        ticket_id,
        form,
        "unmerge",
        lambda: unmerge_ticket(
            ticket, current_user, form.version.data, form.seen.data, now_local()
        ),
        form.version,
    )
    if refused:
        return refused
    flash(f"Đã tách {ticket.ref} khỏi {into.ref}.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


# -- bulk actions (supervisors) -----------------------------------------------------------------

BULK_MAX = 200
BULK_ACTIONS = {"assign": "Giao cho", "close": "Đóng", "merge": "Gộp vào"}


def _back_to_list():
    """The list the action came from (its filters), never another site."""
    target = request.form.get("next", "")
    if target.startswith("/yeu-cau/") and "//" not in target and "\\" not in target:
        return redirect(target)
    return redirect(url_for("tickets.index"))


@bp.route("/hang-loat", methods=["POST"])
@role_required("supervisor")
def bulk():
    """Assign, close or merge the ticked tickets: each with the rules of the single action and
    the version its row showed; all or nothing (one refusal: nothing changes, every refusal is
    listed)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    raw_ids = request.form.getlist("ids")[: BULK_MAX + 1]
    ids = [int(v) for v in raw_ids if v.isascii() and v.isdigit() and len(v) < 12]
    if action not in BULK_ACTIONS or not ids or len(ids) > BULK_MAX:
        flash(
            f"Chọn một thao tác và từ 1 đến {BULK_MAX} yêu cầu trong danh sách.",
            "error",
        )
        return _back_to_list()
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)).all()
    now = now_local()
    refusals: list[str] = []
    person = into = None
    if action == "assign":
        value = request.form.get("assignee", "")
        person = (
            db.session.get(User, int(value))
            if value.isascii() and value.isdigit() and len(value) < 12
            else None
        )
        if value and person is None:
            refusals.append("Không có người xử lý đã chọn.")
    if action == "merge":
        into = ticket_by_ref(request.form.get("into", "")[:20])
        if into is None:
            refusals.append(f"Không có yêu cầu “{request.form.get('into', '')[:20]}” để gộp vào.")
    note = (request.form.get("note") or "").strip()[:5000] or None
    if not refusals:
        for ticket in tickets:
            raw_version = request.form.get(f"v{ticket.id}", "")
            version = int(raw_version) if raw_version.isdigit() and len(raw_version) < 10 else None
            try:
                if action == "assign":
                    assign_ticket(ticket, person, current_user, version, None)
                elif action == "close":
                    change_status(ticket, "closed", current_user, note, version, None, now)
                elif into is not None and ticket.id != into.id:
                    merge_ticket(ticket, into, current_user, version, None, now)
                elif into is not None:
                    continue  # the target itself may be ticked: it stays
            except StaleTicket:
                refusals.append(
                    f"{ticket.ref}: đã được người khác thay đổi; hãy tải lại danh sách."
                )
            except (TicketError, TicketForbidden) as exc:
                refusals.append(f"{ticket.ref}: {exc}")
    if refusals:
        rollback_request()
        flash("Không thay đổi yêu cầu nào. " + " ".join(refusals), "error")
        return _back_to_list()
    db.session.flush()
    done = BULK_ACTIONS[action].lower()
    target = f" {into.ref}" if into is not None else ""
    flash(f"Đã {done}{target}: {len(tickets)} yêu cầu.", "success")
    return _back_to_list()
