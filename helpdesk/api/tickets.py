"""Ticket endpoints. Every rule is the pages' own: the quick-entry form validates what is sent,
the ticket services change tickets, the list's filter selects them, visibility scopes them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

from flask import request, url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ..auth.models import User
from ..extensions import db
from ..tickets.forms import TicketForm
from ..tickets.merging import merge_ticket, open_duplicates, ticket_by_ref, unmerge_ticket
from ..tickets.models import Category, Ticket
from ..tickets.normalize import InvalidValue, normalize_dossier_code, normalize_phone
from ..tickets.queries import SORTS, TicketFilter, list_base, sorted_tickets
from ..tickets.services import (
    StaleTicket,
    TicketError,
    TicketForbidden,
    add_note,
    assign_ticket,
    change_status,
    create_ticket,
    forward_ticket,
    promise_ticket,
    resolve_unit,
    update_ticket,
)
from ..tickets.visibility import can_see, scoped
from ..timeutil import TZ, now_local, today_local
from ..transaction import begin_for_savepoint, rollback_request
from ..units.models import Unit
from . import schemas as s
from .core import ApiError, operation
from .models import IdempotencyKey
from .serialize import event_options, load_options, ticket_json

TAG = "tickets"
NULLABLE_SORTS = {"due_date", "requester_name"}
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces
# Form field -> API field, where their names differ.
FORM_FIELDS = {"unit": "unit_code", "unit_id": "unit_code", "issued_reason": "reason"}
EDITABLE = (
    "category",
    "opened_at",
    "channel",
    "requester_name",
    "requester_phone",
    "unit_code",
    "dossier_code",
    "summary",
    "details",
    "satisfaction",
)


def _local(value: datetime | None) -> datetime | None:
    """An ISO time with an offset is converted to local time; without one it is local."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(TZ).replace(tzinfo=None)


def _categories() -> list[Category]:
    stmt = select(Category).order_by(Category.audience.desc(), Category.position, Category.id)
    return list(db.session.scalars(stmt))


def _form(data: dict[str, Any], **kwargs) -> TicketForm:
    """The quick-entry form filled from JSON: the same checks and normalising as the page."""
    formdata = MultiDict({k: v for k, v in data.items() if v is not None})
    form = TicketForm(formdata=formdata, meta={"csrf": False}, **kwargs)
    if not form.validate():
        fields = {FORM_FIELDS.get(name, name): errors[0] for name, errors in form.errors.items()}
        raise ApiError(422, fields=fields)
    return form


def _form_time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value else None


def _ticket_error(exc: TicketError, unit_field: str = "unit_code") -> ApiError:
    field = exc.field or "body"
    if field == "status":
        return ApiError(409, str(exc), {"status": str(exc)}, code="transition_not_allowed")
    field = {"unit": unit_field, "issued_reason": "reason", "text": "note"}.get(field, field)
    return ApiError(422, str(exc), {field: str(exc)})


def _stale(ticket: Ticket, user: User) -> ApiError:
    db.session.refresh(ticket)
    return ApiError(
        409,
        "Yêu cầu đã được người khác thay đổi; hãy đọc lại phiên bản hiện tại.",
        {"version": f"phiên bản hiện tại là {ticket.version}"},
        code="stale_version",
        extra={"current": ticket_json(ticket, user, events=True)},
    )


def _load(ref: str, user: User, events: bool = False) -> Ticket:
    stmt = select(Ticket).options(*load_options()).where(Ticket.ref == ref[:20])
    if events:
        stmt = stmt.options(*event_options())
    ticket = db.session.scalars(stmt).unique().first()
    if ticket is None or not can_see(user, ticket):
        raise ApiError(404, f"Không có yêu cầu {ref[:20]}.")
    return ticket


def _created(ticket: Ticket, user: User, status: int):
    body = ticket_json(ticket, user)
    body["duplicates_of_open"] = [
        t.ref
        for t in open_duplicates(ticket.requester_phone, ticket.dossier_code, limit=20)
        if t.id != ticket.id
    ]
    headers = {"Location": url_for("api.get_ticket", ref=ticket.ref, _external=True)}
    return body, status, headers


# -- create --------------------------------------------------------------------------------------


def _fingerprint(body: s.TicketCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(user: User, key: str, fingerprint: str):
    row = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    )
    if row is None or row.ticket_id is None:
        return None
    if row.fingerprint != fingerprint:
        raise ApiError(
            422,
            "Idempotency-Key này đã được dùng cho một yêu cầu khác nội dung.",
            {"Idempotency-Key": "đã dùng với nội dung khác"},
            code="idempotency_key_reused",
        )
    ticket = db.session.scalars(
        select(Ticket).options(*load_options()).where(Ticket.id == row.ticket_id)
    ).first()
    return _created(ticket, user, 200)


@operation(
    "/tickets",
    "POST",
    summary="Create a ticket (a call or visit)",
    tag=TAG,
    body=s.TicketCreate,
    responses={
        201: s.TicketCreated,
        200: (s.TicketCreated, "A retried request: the first ticket"),
    },
    errors=(409,),
)
def create(user: User, body: s.TicketCreate):
    """Creates a ticket from the fields of the tickets file. With an ``Idempotency-Key`` header a
    repeated request returns the ticket the first one made (200) and creates nothing."""
    key = request.headers.get("Idempotency-Key")
    fingerprint = _fingerprint(body)
    claim = None
    if key is not None:
        if not _KEY.match(key):
            raise ApiError(
                400,
                "Idempotency-Key: 1–200 ký tự ASCII in được, không có khoảng trắng.",
                {"Idempotency-Key": "không hợp lệ"},
            )
        replay = _replay(user, key, fingerprint)
        if replay is not None:
            return replay
        # Claim the key before making the ticket: a concurrent retry on another worker waits
        # on the unique (user, key) and then fails here, having created nothing.
        claim = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint)
        begin_for_savepoint()
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:
            rollback_request()
            replay = _replay(user, key, fingerprint)
            if replay is None:
                raise ApiError(409, "Yêu cầu cùng Idempotency-Key đang được xử lý.") from None
            return replay
    if body.operator is not None and body.operator.lower() != user.username.lower():
        reason = f"chỉ có thể là người dùng của khóa API ({user.username})"
        raise ApiError(422, fields={"operator": reason})
    categories = _categories()
    category = next((c for c in categories if c.code == body.category), None)
    if category is not None and body.audience and category.audience != body.audience:
        raise ApiError(
            422, fields={"audience": f"{category.code} thuộc đối tượng {category.audience}"}
        )
    opened_at = _local(body.opened_at)
    form = _form(
        {
            "category": body.category,
            "opened_at": _form_time(opened_at),
            "channel": body.channel,
            "requester_name": body.requester_name,
            "requester_phone": body.requester_phone,
            "unit": body.unit_code,
            "dossier_code": body.dossier_code,
            "summary": body.summary,
            "details": body.details,
            "resolution_note": body.resolution_note,
            "issued_reason": body.reason,
            "satisfaction": body.satisfaction,
        },
        categories=[c for c in categories if c.active],
    )
    now = now_local()
    try:
        ticket = create_ticket(
            form.values(), user.id, close=body.status == "closed", now=now, reason=body.reason
        )
        if body.status in ("in_progress", "resolved"):
            note = body.resolution_note
            change_status(ticket, body.status, user, note, ticket.version, None, now)
    except TicketError as exc:
        raise _ticket_error(exc) from exc
    except TicketForbidden as exc:
        raise ApiError(403, str(exc)) from exc
    if claim is not None:
        claim.ticket_id = ticket.id
        db.session.flush()
    return _created(ticket, user, 201)


# -- list, count ---------------------------------------------------------------------------------


def _user_id(username: str | None, field: str) -> int | None:
    if username is None:
        return None
    found = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if found is None:
        raise ApiError(422, fields={field: f"không có người dùng {username}"})
    return found


def _unit_ids(code: str, field: str) -> list[int]:
    ids = list(db.session.scalars(select(Unit.id).where(Unit.code == code).order_by(Unit.id)))
    if not ids:
        raise ApiError(422, fields={field: f"không có đơn vị mã {code}"})
    return ids


def _filtered(query: s.TicketQuery, user: User):
    """The list's SELECT for these parameters, limited to what ``user`` may see."""
    args: dict[str, Any] = {
        "month": query.month,
        "from": query.from_.isoformat() if query.from_ else None,
        "to": query.to.isoformat() if query.to else None,
        "status": list(query.status),
        "audience": query.audience,
        "category": query.category,
        "level": query.level,
        "channel": query.channel,
        "overdue": "1" if query.overdue else None,
        "same_day": "1" if query.same_day else None,
        "q": query.q,
        "sort": query.sort,
    }
    flt = TicketFilter.from_args({k: v for k, v in args.items() if v not in (None, [], "")})
    if flt.problems:  # what the list page drops with a notice is an error here
        raise ApiError(422, fields={"query": " ".join(flt.problems)})
    extra = []
    if query.unit is not None:
        extra.append(Ticket.unit_id.in_(_unit_ids(query.unit, "unit")))
    if query.district is not None:
        ids = _unit_ids(query.district, "district")
        inside = select(Unit.id).where(or_(Unit.id.in_(ids), Unit.parent_id.in_(ids)))
        extra.append(Ticket.unit_id.in_(inside))
    operator = _user_id(query.operator, "operator")
    assignee = _user_id(query.assignee, "assignee")
    if operator is not None:
        extra.append(Ticket.operator_id == operator)
    if assignee is not None:
        extra.append(Ticket.assignee_id == assignee)
    if query.phone is not None:
        try:
            phone = normalize_phone(query.phone)
        except InvalidValue as exc:
            raise ApiError(422, fields={"phone": str(exc)}) from exc
        if phone:
            extra.append(Ticket.requester_phone == phone)
    if query.dossier_code is not None:
        try:
            dossier = normalize_dossier_code(query.dossier_code)
        except InvalidValue as exc:
            raise ApiError(422, fields={"dossier_code": str(exc)}) from exc
        if dossier:
            extra.append(Ticket.dossier_code == dossier)
    base = list_base(flt, today_local())
    return scoped(base.where(*extra), user)


def _cursor_value(ticket: Ticket, name: str) -> Any:
    value = getattr(ticket, name)
    return value.isoformat() if isinstance(value, date | datetime) else value


def _encode_cursor(sort: str, ticket: Ticket) -> str:
    name = sort.lstrip("-")
    raw = json.dumps({"s": sort, "v": _cursor_value(ticket, name), "i": ticket.id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    bad = ApiError(422, fields={"cursor": "con trỏ không hợp lệ (hãy dùng next_cursor nhận được)"})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
        value, last_id = data["v"], data["i"]
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise bad from exc
    if data.get("s") != sort:
        raise ApiError(422, fields={"cursor": "con trỏ của một cách sắp xếp khác (sort)"})
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id < 2**63:
        raise bad
    name = sort.lstrip("-")
    if value is None:
        if name not in NULLABLE_SORTS:
            raise bad
        return None, last_id
    try:
        if name in ("opened_at", "updated_at"):
            value = datetime.fromisoformat(value)
        elif name == "due_date":
            value = date.fromisoformat(value)
        elif not isinstance(value, str) or len(value) > 300:
            raise bad
    except (TypeError, ValueError) as exc:
        raise bad from exc
    return value, last_id


def _after(sort: str, value: Any, last_id: int):
    """Keyset condition: the rows after (value, id) in this sort (nulls last either way)."""
    name = sort.lstrip("-")
    column = SORTS[name]
    descending = sort.startswith("-")
    id_after = Ticket.id < last_id if descending else Ticket.id > last_id
    if value is None:  # in the nulls, at the end
        return and_(column.is_(None), id_after)
    beyond = column < value if descending else column > value
    condition = or_(beyond, and_(column == value, id_after))
    if name in NULLABLE_SORTS:
        condition = or_(condition, column.is_(None))
    return condition


def _ordered(stmt, sort: str):
    name = sort.lstrip("-")
    if name not in NULLABLE_SORTS:
        return sorted_tickets(stmt, sort)
    column = SORTS[name]
    if sort.startswith("-"):
        return stmt.order_by(column.desc().nulls_last(), Ticket.id.desc())
    return stmt.order_by(column.asc().nulls_last(), Ticket.id.asc())


@operation(
    "/tickets",
    "GET",
    summary="List tickets (the ticket list's filters), with cursor paging",
    tag=TAG,
    query=s.TicketQuery,
    responses={200: s.TicketPage},
)
def list_tickets(user: User, query: s.TicketQuery):
    """Following ``next_cursor`` gives every matching ticket exactly once, even while tickets are
    being added: the cursor is the last row's sort value and id, not an offset."""
    stmt = _filtered(query, user)
    if query.cursor:
        value, last_id = _decode_cursor(query.cursor, query.sort)
        stmt = stmt.where(_after(query.sort, value, last_id))
    stmt = _ordered(stmt, query.sort).options(*load_options()).limit(query.limit + 1)
    rows = list(db.session.scalars(stmt).unique())
    items = rows[: query.limit]
    more = len(rows) > query.limit
    return {
        "items": [ticket_json(t, user) for t in items],
        "next_cursor": _encode_cursor(query.sort, items[-1]) if more else None,
    }


@operation(
    "/tickets/count",
    "GET",
    summary="Count tickets with the list's filters",
    tag=TAG,
    query=s.CountQuery,
    responses={200: s.CountAnswer},
)
def count_tickets(user: User, query: s.CountQuery):
    """The exact number of tickets the list holds for these filters."""
    stmt = _filtered(query, user)
    inner = stmt.with_only_columns(Ticket.id).order_by(None).subquery()
    return {"count": db.session.scalar(select(func.count()).select_from(inner)) or 0}


# -- one ticket ----------------------------------------------------------------------------------


@operation(
    "/tickets/<ref>",
    "GET",
    summary="One ticket with its timeline",
    tag=TAG,
    responses={200: s.TicketWithEvents},
    errors=(404,),
)
def get_ticket(user: User, ref: str):
    """The ticket and its timeline under ``events``, oldest first."""
    return ticket_json(_load(ref, user, events=True), user, events=True)


def _edit(ticket: Ticket, user: User, body: s.TicketPatch, now: datetime) -> None:
    given = body.model_fields_set
    if not given.intersection(EDITABLE):
        return
    current = {
        "category": ticket.category.code,
        "opened_at": _form_time(ticket.opened_at),
        "channel": ticket.channel,
        "requester_name": ticket.requester_name,
        "requester_phone": ticket.requester_phone,
        "unit": ticket.unit.code if ticket.unit else None,
        "unit_id": str(ticket.unit_id) if ticket.unit_id else None,
        "dossier_code": ticket.dossier_code,
        "summary": ticket.summary,
        "details": ticket.details,
        "satisfaction": ticket.satisfaction,
        "issued_reason": body.reason,
    }
    for name in given.intersection(EDITABLE):
        value = getattr(body, name)
        if name == "opened_at":
            value = _form_time(_local(value))
        if name == "unit_code":
            current["unit"], current["unit_id"] = value, None
        elif name == "satisfaction":
            current[name] = value or ""  # null: not asked
        else:
            current[name] = value
    opened = _local(body.opened_at) if "opened_at" in given else ticket.opened_at
    form = _form(
        current,
        categories=_categories(),
        keep_category=ticket.category.code,
        keep_unit_id=ticket.unit_id,
        opened_day=opened.date() if opened else None,
    )
    update_ticket(ticket, form.values(), user.id, ticket.version, None, now, reason=body.reason)


@operation(
    "/tickets/<ref>",
    "PATCH",
    summary="Change a ticket's fields, assignee or status",
    tag=TAG,
    body=s.TicketPatch,
    responses={200: s.TicketWithEvents},
    errors=(404, 409),
)
def patch_ticket(user: User, ref: str, body: s.TicketPatch):
    """Changes fields and status as the ticket page does, given the ``version`` last read. A stale
    version is a 409 whose body holds the current ticket under ``current``; a status the ticket
    cannot move to is a 409 too; a missing note where one is required is a 422."""
    ticket = _load(ref, user)
    if ticket.version != body.version:
        raise _stale(ticket, user)
    given = body.model_fields_set
    now = now_local()
    try:
        if "promised_at" in given or "progress_note" in given:
            promise_ticket(
                ticket, _local(body.promised_at), body.progress_note, user, ticket.version, None,
                now,
            )  # fmt: skip
        _edit(ticket, user, body, now)
        if "assignee" in given:
            assignee = None
            if body.assignee is not None:
                assignee = db.session.scalar(
                    select(User).where(func.lower(User.username) == body.assignee.lower())
                )
                if assignee is None:
                    raise ApiError(422, fields={"assignee": f"không có người dùng {body.assignee}"})
            assign_ticket(ticket, assignee, user, ticket.version, None, now)
        if body.status is not None and body.status != ticket.status:
            if body.status == "forwarded":
                if not body.forwarded_unit_code:
                    raise ApiError(422, fields={"forwarded_unit_code": "chọn đơn vị nhận"})
                unit = resolve_unit(body.forwarded_unit_code, on=today_local())
                forward_ticket(ticket, unit, body.note, user, ticket.version, None, now)
            else:
                change_status(ticket, body.status, user, body.note, ticket.version, None, now)
        elif body.note and "status" not in given:
            add_note(ticket, body.note, user.id)
    except TicketError as exc:
        unit_field = "forwarded_unit_code" if body.status == "forwarded" else "unit_code"
        raise _ticket_error(exc, unit_field) from exc
    except TicketForbidden as exc:
        raise ApiError(403, str(exc)) from exc
    except StaleTicket as exc:
        raise _stale(ticket, user) from exc
    db.session.flush()
    return ticket_json(_load(ref, user, events=True), user, events=True)


@operation(
    "/callers/<phone>",
    "GET",
    summary="A caller's tickets, newest first",
    tag=TAG,
    responses={200: s.CallerAnswer},
    errors=(422,),
)
def caller(user: User, phone: str):
    """The phone is normalised as in quick entry: ``+84 912 345 678`` is ``0912345678``. At most
    the 200 newest tickets are listed; ``total`` counts them all."""
    try:
        number = normalize_phone(phone[:30])
    except InvalidValue as exc:
        raise ApiError(422, fields={"phone": str(exc)}) from exc
    if not number:
        raise ApiError(422, fields={"phone": "nhập số điện thoại"})
    base = scoped(select(Ticket).where(Ticket.requester_phone == number), user)
    rows = list(
        db.session.scalars(
            base.options(*load_options())
            .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
            .limit(200)
        ).unique()
    )
    total = len(rows)
    if total == 200:
        inner = base.with_only_columns(Ticket.id).subquery()
        total = db.session.scalar(select(func.count()).select_from(inner)) or 0
    name = next((t.requester_name for t in rows if t.requester_name), None)
    return {
        "phone": number,
        "name": name,
        "total": total,
        "items": [ticket_json(t, user) for t in rows],
    }


@operation(
    "/tickets/<ref>/merge",
    "POST",
    summary="Close a ticket as a duplicate of another",
    tag=TAG,
    body=s.MergeBody,
    responses={200: s.TicketWithEvents},
    errors=(404, 409),
)
def merge(user: User, ref: str, body: s.MergeBody):
    """The ticket is closed as a duplicate of ``into`` and shown on it; it stays a contact in
    every count. Tickets merged into it follow to ``into``. A stale version is a 409 with the
    current ticket; itself, or a ticket that is or was merged, is a 422."""
    _load(ref, user)  # an unknown ref is a 404 before anything else
    into = ticket_by_ref(body.into)
    if into is None or not can_see(user, into):
        raise ApiError(422, fields={"into": f"không có yêu cầu {body.into}"})
    return _merging(
        ref, user, lambda t: merge_ticket(t, into, user, body.version, None, now_local())
    )


def _merging(ref: str, user: User, action) -> dict[str, Any]:
    """Run a merge or an unmerge on the ticket ``ref``: a stale version is a 409 with the
    current ticket, a refusal a 422 beside ``into``; the answer is the ticket and its timeline."""
    ticket = _load(ref, user)
    try:
        action(ticket)
    except StaleTicket as exc:
        raise _stale(ticket, user) from exc
    except TicketError as exc:
        raise ApiError(422, str(exc), {"into": str(exc)}) from exc
    db.session.flush()
    return ticket_json(_load(ref, user, events=True), user, events=True)


@operation(
    "/tickets/<ref>/unmerge",
    "POST",
    summary="Undo a merge: the ticket gets back its status",
    tag=TAG,
    body=s.UnmergeBody,
    responses={200: s.TicketWithEvents},
    errors=(404, 409),
)
def unmerge(user: User, ref: str, body: s.UnmergeBody):
    """A ticket that is not merged is a 422."""
    return _merging(ref, user, lambda t: unmerge_ticket(t, user, body.version, None, now_local()))
