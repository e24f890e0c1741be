"""A unit's answers to a forwarded request: answer, resolve, or send back with a reason.

Each needs the ticket forwarded to one of the actor's units (desk staff may record a unit's
answer for it, e.g. one given by phone). They flush; the request commits.
"""

from __future__ import annotations

from datetime import datetime

from ..auth.models import User
from ..extensions import db
from ..textutil import nfc
from ..tickets import sla
from ..tickets.models import Ticket
from ..tickets.services import TicketError, TicketForbidden, _change, _event, check_version
from ..tickets.visibility import can_see

ACTIONS = ("answer", "resolve", "return")


def _check(ticket: Ticket, actor: User, text: str | None, empty: str) -> str:
    if not can_see(actor, ticket):
        raise TicketForbidden("Yêu cầu không chuyển tới đơn vị của bạn.")
    if ticket.status != "forwarded":
        raise TicketError("Yêu cầu không còn chờ đơn vị trả lời.", "text")
    text = (nfc(text) or "").strip()
    if not text:
        raise TicketError(empty, "text")
    return text


def unit_act(
    ticket: Ticket,
    action: str,
    text: str | None,
    actor: User,
    expected_version: int | None,
    seen_event_id: int | None,
    now: datetime,
) -> None:
    """``answer``: the unit's answer goes on the timeline, the ticket stays with the unit;
    ``resolve``: the answer settles it (resolved, the desk closes it after calling back);
    ``return``: not the unit's matter, back to the desk (in progress) with the reason."""
    check_version(ticket, expected_version, seen_event_id)
    if action == "answer":
        text = _check(ticket, actor, text, "Nhập nội dung trả lời.")
        _event(ticket, actor.id, "unit_answer", note=text)
        sla.mark_responded(ticket, now)
    elif action == "resolve":
        text = _check(ticket, actor, text, "Ghi kết quả giải quyết.")
        if (ticket.resolution_note or None) != text:
            _change(ticket, actor.id, "resolution_note", ticket.resolution_note, text)
        ticket.resolution_note = text
        ticket.resolved_at = now
        ticket.status = "resolved"
        _event(ticket, actor.id, "status", field="status", old_value="forwarded",
               new_value="resolved", note=f"Đơn vị giải quyết: {text}")  # fmt: skip
    elif action == "return":
        text = _check(ticket, actor, text, "Ghi lý do trả lại.")
        ticket.status = "in_progress"
        ticket.unit_due_at = None
        _event(ticket, actor.id, "returned", note=text)
        _event(ticket, actor.id, "status", field="status", old_value="forwarded",
               new_value="in_progress")  # fmt: skip
    else:
        raise TicketError("Thao tác không hợp lệ.", "text")
    db.session.flush()
