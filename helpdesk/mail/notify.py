"""What goes into the outbox, and to whom. Citizens are never e-mailed: only users of the desk.

Each function adds rows in the caller's transaction and returns how many. ``dedupe_key`` makes
the scans idempotent: a due-soon or late notice goes once per ticket, user and due time, a
digest once per day, unit and user, however often the scan runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from ..auth.models import User, UserUnit
from ..extensions import db
from ..formatting import short_date
from ..tickets import sla
from ..tickets.models import STATUS_LABELS, Ticket
from ..timeutil import now_local
from ..units.models import Unit
from .models import OutboxMail


def _link(ticket: Ticket, staff: bool = False) -> str:
    base = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    path = f"/yeu-cau-chuyen-den/{ticket.id}" if staff else f"/yeu-cau/{ticket.id}"
    return base.rstrip("/") + path


def _when(moment: datetime | None) -> str:
    return short_date(moment) if moment else "—"


def _ticket_lines(ticket: Ticket, staff: bool = False) -> list[str]:
    # No phone or ID number in a mail: they stay behind the sign-in.
    return [
        f"Mã yêu cầu: {ticket.ref}",
        f"Nhóm: {ticket.category.label}",
        f"Nội dung: {ticket.summary}",
        f"Mã hồ sơ: {ticket.dossier_code or '—'}",
        f"Trạng thái: {STATUS_LABELS.get(ticket.status, ticket.status)}",
        f"Hạn xử lý: {_when(ticket.unit_due_at if staff else ticket.due_at)}",
        f"Xem và xử lý: {_link(ticket, staff)}",
    ]


def enqueue(
    kind: str,
    user: User,
    subject: str,
    body: str,
    ticket: Ticket | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Add one message unless the user turned the kind off (or has no address) or the same
    ``dedupe_key`` is already in the outbox. Returns 1 if added."""
    if not user.wants_mail(kind):
        return 0
    values = dict(
        kind=kind,
        user_id=user.id,
        recipient=user.email,
        subject=subject[:300],
        body=body,
        ticket_id=ticket.id if ticket is not None else None,
        dedupe_key=dedupe_key,
        attempts=0,
        created_at=(now := now_local()),
        next_try_at=now,
    )
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    table = OutboxMail.__table__
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    # RETURNING, not rowcount: the drivers do not agree on an upsert's rowcount.
    return len(db.session.execute(stmt).all())


def unit_staff(unit_ids: Iterable[int]) -> dict[int, list[User]]:
    """The active unit staff of each unit."""
    ids = list(set(unit_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(UserUnit.unit_id, User)
        .join(User, User.id == UserUnit.user_id)
        .where(UserUnit.unit_id.in_(ids), User.active.is_(True), User.role == "unit_staff")
        .order_by(User.id)
    ).all()
    staff: dict[int, list[User]] = defaultdict(list)
    for unit_id, user in rows:
        staff[unit_id].append(user)
    return staff


def supervisors() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(("supervisor", "admin")))
            .order_by(User.id)
        )
    )


def notify_forwarded(ticket: Ticket, unit: Unit, actor: User) -> int:
    sent = 0
    stamp = ticket.forwarded_at.isoformat() if ticket.forwarded_at else ""
    for user in unit_staff([unit.id]).get(unit.id, []):
        body = "\n".join(
            [f"{actor.full_name} đã chuyển tới {unit.name} một yêu cầu cần đơn vị trả lời.", ""]
            + _ticket_lines(ticket, staff=True)
        )
        sent += enqueue(
            "forwarded", user, f"[{ticket.ref}] Yêu cầu chuyển tới {unit.name}", body, ticket,
            f"forwarded:{ticket.id}:{user.id}:{stamp}",
        )  # fmt: skip
    return sent


def notify_assigned(ticket: Ticket, assignee: User, actor: User) -> int:
    body = "\n".join(
        [f"{actor.full_name} đã giao cho anh/chị một yêu cầu hỗ trợ.", ""] + _ticket_lines(ticket)
    )
    return enqueue("assigned", assignee, f"[{ticket.ref}] Yêu cầu được giao", body, ticket)


# A late notice is sent when a request becomes late (the scan runs every few minutes); the
# older backlog is in the morning digest, so a first scan does not send one mail per old request.
LATE_NOTICE_WINDOW = timedelta(days=1)
DIGEST_LINES = 100  # per unit; the rest is counted, with a link to the deadline queue


def scan_due(now: datetime) -> dict[str, int]:
    """Queue the due-soon and late notices (the assignee and the supervisors); run it every
    few minutes (``flask mail scan``). Each notice goes once per ticket, user and due time; a
    late notice only for a request that became late within LATE_NOTICE_WINDOW."""
    counts = {"due_soon": 0, "late": 0}
    bosses = supervisors()
    newly_late = sla.late_open_condition(now) & (Ticket.due_at >= now - LATE_NOTICE_WINDOW)
    for kind, condition in (
        ("due_soon", sla.due_soon_condition(now)),
        ("late", newly_late),
    ):
        tickets = db.session.scalars(
            select(Ticket)
            .options(joinedload(Ticket.assignee))
            .where(condition)
            .order_by(Ticket.due_at, Ticket.id)
        ).all()
        for ticket in tickets:
            people = {u.id: u for u in bosses}
            if ticket.assignee is not None:
                people[ticket.assignee.id] = ticket.assignee
            head = (
                f"Yêu cầu {ticket.ref} sắp đến hạn ({_when(ticket.due_at)})."
                if kind == "due_soon"
                else f"Yêu cầu {ticket.ref} đã quá hạn từ {_when(ticket.due_at)}."
            )
            subject = f"[{ticket.ref}] {'Sắp đến hạn' if kind == 'due_soon' else 'Quá hạn'}"
            body = "\n".join([head, ""] + _ticket_lines(ticket))
            for user in people.values():
                counts[kind] += enqueue(
                    kind, user, subject, body, ticket,
                    f"{kind}:{ticket.id}:{user.id}:{ticket.due_at.isoformat()}",
                )  # fmt: skip
    return counts


def queue_digest(day: date, now: datetime) -> int:
    """The morning digest (``flask mail digest``): each unit's staff get the late requests
    forwarded to their unit; supervisors get every unit's, grouped by unit. Once a day."""
    tickets = db.session.scalars(
        select(Ticket)
        .options(joinedload(Ticket.forwarded_unit), joinedload(Ticket.unit))
        .where(sla.late_open_condition(now))
        .order_by(Ticket.due_at, Ticket.id)
    ).all()
    if not tickets:
        return 0
    by_unit: dict[int | None, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        by_unit[ticket.forwarded_unit_id if ticket.status == "forwarded" else None].append(ticket)
    names = {t.forwarded_unit_id: t.forwarded_unit.name for t in tickets if t.forwarded_unit}
    names[None] = "Tổ hỗ trợ (chưa chuyển đơn vị)"
    stamp = day.isoformat()
    subject = f"Yêu cầu quá hạn ngày {short_date(day)}"

    def lines(items: list[Ticket], staff: bool) -> list[str]:
        shown = [
            f"- {t.ref} · {t.category.label} · quá hạn từ {_when(t.due_at)} · {_link(t, staff)}"
            for t in items[:DIGEST_LINES]
        ]
        if len(items) > DIGEST_LINES:
            base = current_app.config.get("BASE_URL", "") if has_app_context() else ""
            where = "/yeu-cau-chuyen-den/" if staff else "/yeu-cau/han-xu-ly"
            shown.append(
                f"- và {len(items) - DIGEST_LINES} yêu cầu khác: {base.rstrip('/')}{where}"
            )
        return shown

    sent = 0
    staff = unit_staff(k for k in by_unit if k is not None)
    for unit_id, users in staff.items():
        body = "\n".join(
            [f"{names[unit_id]}: {len(by_unit[unit_id])} yêu cầu quá hạn.", ""]
            + lines(by_unit[unit_id], staff=True)
        )
        for user in users:
            sent += enqueue(
                "digest", user, subject, body, None, f"digest:{stamp}:{unit_id}:{user.id}"
            )
    order = sorted(by_unit, key=lambda k: (k is None, names.get(k, "")))
    body_lines = [f"{len(tickets)} yêu cầu quá hạn, theo đơn vị:", ""]
    for unit_id in order:
        body_lines += [f"{names[unit_id]} ({len(by_unit[unit_id])})"]
        body_lines += lines(by_unit[unit_id], staff=False) + [""]
    for user in supervisors():
        sent += enqueue(
            "digest", user, subject, "\n".join(body_lines), None, f"digest:{stamp}:all:{user.id}"
        )
    return sent
