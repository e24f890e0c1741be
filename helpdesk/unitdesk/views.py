"""Pages of the units' desk. Unit staff see only their units' requests (404 for others, so a
ticket's existence is not revealed) and never the caller's name or phone."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from ..access import role_required
from ..extensions import db
from ..tickets import sla
from ..tickets.forms import VersionedForm
from ..tickets.models import STATUS_LABELS, Ticket, TicketEvent
from ..tickets.services import StaleTicket, TicketError, TicketForbidden
from ..tickets.visibility import can_see, scoped, unit_ids_of
from ..timeutil import now_local
from ..transaction import rollback_request
from ..units.models import Unit
from ..workcal.services import current_calendar
from . import bp
from .services import ACTIONS, unit_act

PER_PAGE = 50
TABS = {"cho": "Chờ đơn vị trả lời", "da-xu-ly": "Đã trả lời, trả lại hoặc giải quyết"}
SHOWN_EVENTS = ("created", "status", "unit_answer", "returned", "promise")


class UnitActionForm(VersionedForm):
    action = HiddenField()
    text = TextAreaField(
        "Nội dung",
        validators=[Length(max=5000, message="Tối đa 5.000 ký tự.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


def _ticket(ticket_id: int) -> Ticket:
    ticket = db.session.scalars(
        select(Ticket)
        .options(joinedload(Ticket.forwarded_unit), joinedload(Ticket.unit))
        .where(Ticket.id == ticket_id)
    ).one_or_none()
    if ticket is None or not can_see(current_user, ticket):
        abort(404)
    if ticket.merged_into_id is not None and not current_user.has_role("operator"):
        abort(404)  # a duplicate closed into another request: nothing for the unit here
    return ticket


@bp.route("/")
@role_required("unit_staff")
def index():
    tab = request.args.get("xem") if request.args.get("xem") in TABS else "cho"
    page = max(request.args.get("trang", 1, type=int) or 1, 1)
    waiting = Ticket.status == "forwarded"
    base = scoped(
        select(Ticket).where(
            Ticket.forwarded_unit_id.is_not(None), Ticket.merged_into_id.is_(None)
        ),
        current_user,
    )
    base = base.where(waiting if tab == "cho" else ~waiting)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    order = (
        (Ticket.unit_due_at.asc().nulls_last(), Ticket.id)
        if tab == "cho"
        else (Ticket.updated_at.desc(), Ticket.id.desc())
    )
    tickets = db.session.scalars(
        base.options(joinedload(Ticket.forwarded_unit))
        .order_by(*order)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    units = []
    if current_user.role == "unit_staff":
        ids = unit_ids_of(current_user)
        units = list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))
    return render_template(
        "unitdesk/index.html",
        tickets=tickets,
        tab=tab,
        tabs=TABS,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        units=units,
        now=now_local(),
        unit_due=sla.unit_due_state,
        calendar=current_calendar(),
        status_labels=STATUS_LABELS,
    )


def _render(ticket: Ticket, form: UnitActionForm | None = None, status: int = 200):
    events = db.session.scalars(
        select(TicketEvent)
        .options(joinedload(TicketEvent.user))
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(SHOWN_EVENTS))
        .order_by(TicketEvent.id)
    ).all()
    if not current_user.has_role("operator"):
        # The desk's own notes stay with the desk (they may hold a caller's details): unit staff
        # see the transitions, the message that forwarded the request, and their units' words.
        events = [e for e in events if e.kind != "promise"]
    seen = db.session.scalar(
        select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id)
    )
    if form is None:
        form = UnitActionForm(
            prefix="u", formdata=None, data={"version": ticket.version, "seen": seen or 0}
        )
    now = now_local()
    return (
        render_template(
            "unitdesk/detail.html",
            ticket=ticket,
            events=events,
            form=form,
            status_labels=STATUS_LABELS,
            personal=current_user.has_role("operator"),
            unit_late=sla.is_unit_late(ticket, now),
        ),
        status,
    )


@bp.route("/<int:ticket_id>")
@role_required("unit_staff")
def detail(ticket_id: int):
    return _render(_ticket(ticket_id))


@bp.route("/<int:ticket_id>/tra-loi", methods=["POST"])
@role_required("unit_staff")
def act(ticket_id: int):
    ticket = _ticket(ticket_id)
    form = UnitActionForm(prefix="u")
    if not form.validate() or form.action.data not in ACTIONS:
        if form.action.data not in ACTIONS:
            form.text.errors = [*form.text.errors, "Chọn trả lời, giải quyết hoặc trả lại."]
        return _render(ticket, form, 400)
    try:
        unit_act(
            ticket,
            form.action.data,
            form.text.data,
            current_user,
            form.version.data,
            form.seen.data,
            now_local(),
        )
        db.session.flush()
    except TicketForbidden:
        rollback_request()
        abort(404)
    except TicketError as exc:
        rollback_request()
        form.text.errors = [*form.text.errors, str(exc)]
        return _render(_ticket(ticket_id), form, 400)
    except (StaleTicket, StaleDataError):
        rollback_request()
        form.text.errors = [
            *form.text.errors,
            "Chưa lưu: yêu cầu vừa được người khác thay đổi. Xem lại rồi gửi lần nữa.",
        ]
        fresh = _ticket(ticket_id)
        form.version.data = fresh.version
        form.version.raw_data = [str(fresh.version)]
        return _render(fresh, form, 409)
    done = {"answer": "Đã gửi trả lời", "resolve": "Đã giải quyết", "return": "Đã trả lại"}
    flash(f"{ticket.ref}: {done[form.action.data]}.", "success")
    if form.action.data == "answer":
        return redirect(url_for("unitdesk.detail", ticket_id=ticket_id))
    return redirect(url_for("unitdesk.index"))
