"""Tickets as the API shows them: codes and usernames, never database ids; local ISO times.

Other features add their fields here (one function), so every endpoint shows the same ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import User
from ..tickets.models import Ticket, TicketEvent
from ..tickets.sla import is_late
from ..timeutil import TZ, now_local


def shows_personal(viewer: User) -> bool:
    """Whether ``viewer`` sees callers' names and phones: the roles that see them in the pages."""
    return viewer.has_role("operator")


def load_options():
    """What ``ticket_json`` reads, loaded with the tickets (no query per ticket)."""
    return (
        joinedload(Ticket.unit),
        joinedload(Ticket.forwarded_unit),
        joinedload(Ticket.assignee),
        joinedload(Ticket.operator),
        joinedload(Ticket.merged_into),
    )


def event_options():
    return (selectinload(Ticket.events).joinedload(TicketEvent.user),)


def _iso(value) -> str | None:
    """Dates as ``2023-09-29``; times in local time with its offset, ``2023-09-29T16:16:00+07:00``
    (RFC 3339, as the OpenAPI ``date-time`` format requires)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=TZ).isoformat()
    return value.isoformat()


def ticket_json(ticket: Ticket, viewer: User, events: bool = False) -> dict[str, Any]:
    personal = shows_personal(viewer)
    data: dict[str, Any] = {
        "ref": ticket.ref,
        "url": url_for("api.get_ticket", ref=ticket.ref, _external=True),
        "opened_at": _iso(ticket.opened_at),
        "channel": ticket.channel,
        "audience": ticket.audience,
        "category": ticket.category.code,
        "unit_code": ticket.unit.code if ticket.unit else None,
        "requester_name": ticket.requester_name if personal else None,
        "requester_phone": ticket.requester_phone if personal else None,
        "dossier_code": ticket.dossier_code,
        "summary": ticket.summary,
        "details": ticket.details,
        "status": ticket.status,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "operator": ticket.operator.username if ticket.operator else None,
        "due_date": _iso(ticket.due_date),
        "due_at": _iso(ticket.due_at),
        "response_due_at": _iso(ticket.response_due_at),
        "responded_at": _iso(ticket.responded_at),
        "paused": ticket.status == "waiting",
        "late": is_late(ticket, now_local()),
        "promised_at": _iso(ticket.promised_at),
        "progress_note": ticket.progress_note,
        "forwarded_at": _iso(ticket.forwarded_at),
        "unit_due_at": _iso(ticket.unit_due_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "resolution_note": ticket.resolution_note,
        "forwarded_unit_code": ticket.forwarded_unit.code if ticket.forwarded_unit else None,
        "satisfaction": ticket.satisfaction,
        "merged_into": ticket.merged_into.ref if ticket.merged_into_id else None,
        "version": ticket.version,
    }
    if events:
        data["events"] = [
            {
                "at": _iso(e.at),
                "kind": e.kind,
                "user": e.user.username if e.user else None,
                "field": e.field,
                "old_value": e.old_value if personal or e.field != "requester_phone" else None,
                "new_value": e.new_value if personal or e.field != "requester_phone" else None,
                "note": e.note,
            }
            for e in sorted(ticket.events, key=lambda e: (e.at, e.id))
        ]
    return data
