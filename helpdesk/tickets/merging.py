"""Duplicates: merge a ticket into the one it repeats, unmerge it, add a call to an open ticket.

A merged ticket stays a ticket: it was a contact (lượt) and every count and report keeps
counting it in its month and category. It is closed (its status before is kept, for unmerging)
and points at the ticket it repeats, whose page lists it with its caller's details; both
timelines say so and the audit log records it. Merging never chains: a ticket that others were
merged into passes them on to its own target.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from ..audit import record
from ..auth.models import User
from ..extensions import db
from .models import Ticket
from .services import TicketError, TicketValues, _event, check_version, create_ticket

OPEN = ("open", "in_progress", "forwarded")


def ticket_by_ref(ref: str) -> Ticket | None:
    """The ticket a person or a system names by its reference (any case, spaces around)."""
    return db.session.scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()[:20]))


def merged_into_me(ticket: Ticket) -> list[Ticket]:
    """The tickets merged into ``ticket``, oldest first.

    Sorted here, not in SQL: almost every ticket has no ``merged_into_id``, so SQLite's
    statistics make the value look common and an ORDER BY opened_at led its planner to walk
    the whole table in date order (0,3 s a ticket page at a million tickets) instead of
    seeking ix_tickets_merged_into_id for the few duplicates."""
    stmt = select(Ticket).where(Ticket.merged_into_id == ticket.id)
    return sorted(db.session.scalars(stmt), key=lambda t: (t.opened_at, t.id))


def merge_ticket(
    ticket: Ticket,
    into: Ticket,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
    into_version: int | None = None,
) -> list[Ticket]:
    """Close ``ticket`` as a duplicate of ``into``; return the tickets that moved with it.

    Refused (TicketError beside ``into``): itself, a ticket already merged, a target that is
    itself merged. A stale ``expected_version`` (of ``ticket``; of ``into`` too when given) is
    a StaleTicket."""
    check_version(ticket, expected_version, seen_event_id)
    if into_version is not None and into.version != into_version:
        check_version(into, into_version, None)
    if into.id == ticket.id:
        raise TicketError("Không thể gộp một yêu cầu vào chính nó.", "into")
    if ticket.merged_into_id is not None:
        raise TicketError(
            f"{ticket.ref} đã được gộp vào {ticket.merged_into.ref}; hãy tách ra trước.", "into"
        )
    if into.merged_into_id is not None:
        raise TicketError(
            f"{into.ref} đã được gộp vào {into.merged_into.ref}: hãy gộp vào "
            f"{into.merged_into.ref}.",
            "into",
        )
    moved = merged_into_me(ticket)
    for child in moved:  # never a chain: they follow to the new target
        child.merged_into = into
        _event(child, actor.id, "merge", field="merged_into", old_value=ticket.ref,
               new_value=into.ref, note=f"Chuyển theo {ticket.ref} sang {into.ref}.")  # fmt: skip
    ticket.merged_status = ticket.status
    ticket.merged_into = into
    ticket.merged_at = now
    if ticket.status != "closed":
        _event(ticket, actor.id, "status", at=now, field="status", old_value=ticket.status,
               new_value="closed", note=f"Gộp vào {into.ref}.")  # fmt: skip
        ticket.status = "closed"
        ticket.closed_at = now
        if ticket.resolved_at is None:
            ticket.resolved_at = now
    _event(ticket, actor.id, "merge", at=now, field="merged_into", new_value=into.ref,
           note=f"Gộp vào {into.ref} (cùng nội dung).")  # fmt: skip
    _event(into, actor.id, "merge", at=now, field="merged_from", new_value=ticket.ref,
           note=f"{ticket.ref} được gộp vào yêu cầu này.")  # fmt: skip
    into.updated_at = now  # the target's version moves too: its page changed
    record(
        "ticket_merge",
        "ticket",
        ticket.ref,
        f"Gộp {ticket.ref} vào {into.ref}",
        detail={"into": into.ref, "status_before": ticket.merged_status},
        user_id=actor.id,
    )
    db.session.flush()
    return moved


def unmerge_ticket(
    ticket: Ticket,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
) -> Ticket:
    """Undo a merge: the ticket gets back the status it had; return the former target."""
    check_version(ticket, expected_version, seen_event_id)
    into = ticket.merged_into
    if into is None:
        raise TicketError(f"{ticket.ref} không được gộp vào yêu cầu nào.", "into")
    before = ticket.merged_status or "closed"
    if before != "closed":
        _event(ticket, actor.id, "status", at=now, field="status", old_value="closed",
               new_value=before, note=f"Tách khỏi {into.ref}.")  # fmt: skip
        ticket.status = before
        ticket.closed_at = None
        if before not in ("resolved",):
            ticket.resolved_at = None
    ticket.merged_into = None
    ticket.merged_status = None
    ticket.merged_at = None
    _event(ticket, actor.id, "unmerge", at=now, field="merged_into", old_value=into.ref,
           note=f"Tách khỏi {into.ref}.")  # fmt: skip
    _event(into, actor.id, "unmerge", at=now, field="merged_from", old_value=ticket.ref,
           note=f"{ticket.ref} được tách ra.")  # fmt: skip
    into.updated_at = now
    record(
        "ticket_unmerge",
        "ticket",
        ticket.ref,
        f"Tách {ticket.ref} khỏi {into.ref}",
        detail={"from": into.ref, "status_after": before},
        user_id=actor.id,
    )
    db.session.flush()
    return into


def add_call_to(
    into: Ticket, values: TicketValues, actor: User, now: datetime, reason: str | None = None
) -> Ticket:
    """Log a call about an open ticket as its duplicate: a contact of its own (counted), closed
    into ``into`` at once. Refused when ``into`` is no longer open or is itself merged."""
    if into.merged_into_id is not None or into.status not in OPEN:
        raise TicketError(
            f"{into.ref} không còn mở; hãy ghi nhận cuộc gọi thành yêu cầu mới.", "add_to"
        )
    call = create_ticket(values, actor.id, close=False, now=now, reason=reason)
    merge_ticket(call, into, actor, call.version, None, now)
    return call


def open_duplicates(phone: str | None, dossier_code: str | None, limit: int = 5) -> list[Ticket]:
    """Open tickets of the same caller or the same dossier, newest first (not merged ones)."""
    conditions = []
    if phone:
        conditions.append(Ticket.requester_phone == phone)
    if dossier_code:
        conditions.append(Ticket.dossier_code == dossier_code)
    if not conditions:
        return []
    stmt = (
        select(Ticket)
        .where(or_(*conditions), Ticket.status.in_(OPEN), Ticket.merged_into_id.is_(None))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
