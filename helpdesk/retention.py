"""Personal data retention (Nghị định 13/2023/NĐ-CP): erase citizens' data from old tickets.

After RETENTION_MONTHS, a ticket keeps everything the dashboard and the monthly reports count
(when it was opened and closed, audience, category, unit, channel, status, operator, due date)
and loses everything that can identify or describe a person:

- ``requester_name``, ``requester_phone`` and ``dossier_code`` (a dossier code leads to a named
  person in the procedure system) are set to NULL;
- the free texts ``details`` and ``resolution_note`` are set to NULL, and ``summary`` becomes the
  category's label (operators type names and phone numbers into these);
- the timeline keeps its entries (who changed what, when) but loses every note and the old and
  new values of the fields above; audit entries about the ticket lose those values too;
- ``import_key`` (``opened_at|phone|category``) becomes ``anon:<id>``. The importer matches a
  re-imported row of an anonymised ticket by opened_at and category instead, counts it as
  unchanged and never writes its personal data back: re-imports stay idempotent.

The cut-off is the first day of a month, so a month's tickets are erased all at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import String, and_, case, cast, func, literal, select, update

from .audit import AuditLog, record
from .extensions import db
from .timeutil import now_local, today_local

# Ticket columns erased outright, and the timeline fields whose values are erased with them.
ERASED_COLUMNS = ("requester_name", "requester_phone", "dossier_code", "details", "resolution_note")
PERSONAL_FIELDS = (*ERASED_COLUMNS, "summary")
ERASED_MARK = "[đã xóa]"
ANON_KEY_PREFIX = "anon:"

retention_cli = AppGroup("retention", help="Erase personal data kept longer than allowed.")


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    tickets: int
    months: list[str]
    events: int
    audit_entries: int
    dry_run: bool


def cutoff_for(months: int, today: date | None = None) -> datetime:
    """The first day of the month ``months`` months before this one (local time)."""
    if months < 1:
        raise ValueError("the retention period is at least 1 month")
    today = today or today_local()
    index = today.year * 12 + (today.month - 1) - months
    return datetime(index // 12, index % 12 + 1, 1)


def apply_retention(
    cutoff: datetime, actor_id: int | None = None, dry_run: bool = False
) -> RetentionResult:
    """Erase the personal data of every ticket opened before ``cutoff``. Flush, never commit."""
    from .tickets.models import Category, Ticket, TicketEvent, ticket_search_text

    due = and_(Ticket.opened_at < cutoff, Ticket.anonymised_at.is_(None))
    ids = select(Ticket.id).where(due)
    tickets, months = _count_by_month(due)
    if dry_run or not tickets:
        return RetentionResult(cutoff, tickets, months, 0, 0, dry_run)

    refs = [
        ref for ref in db.session.scalars(select(Ticket.ref).where(due)) if ref
    ]  # for the audit entries, before the tickets are marked
    events = db.session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids))
        .values(
            note=None,
            old_value=case(
                (TicketEvent.field.in_(PERSONAL_FIELDS), None), else_=TicketEvent.old_value
            ),
            new_value=case(
                (TicketEvent.field.in_(PERSONAL_FIELDS), None), else_=TicketEvent.new_value
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    audit_entries = _scrub_audit(refs)
    now = now_local()
    # One UPDATE per category: the summary becomes the label, and the search text follows it
    # (a bulk UPDATE skips the mapper events that keep search_text in step).
    for category_id, label in db.session.execute(select(Category.id, Category.label)):
        db.session.execute(
            update(Ticket)
            .where(due, Ticket.category_id == category_id)
            .values(
                **dict.fromkeys(ERASED_COLUMNS),
                summary=label,
                search_text=ticket_search_text(None, label),
                import_key=case(
                    (Ticket.import_key.is_(None), None),
                    else_=literal(ANON_KEY_PREFIX) + cast(Ticket.id, String),
                ),
                anonymised_at=now,
                updated_at=now,
                version=Ticket.version + 1,  # an edit form opened before this is stale
            )
            .execution_options(synchronize_session=False)
        )
    record(
        "retention",
        "ticket",
        None,
        f"Xóa dữ liệu cá nhân của {tickets} yêu cầu tiếp nhận trước {cutoff:%d/%m/%Y}",
        detail={
            "cutoff": cutoff.date().isoformat(),
            "tickets": tickets,
            "months": months,
            "events": events,
            "audit_entries": audit_entries,
        },
        user_id=actor_id,
    )
    db.session.flush()
    db.session.expire_all()
    return RetentionResult(cutoff, tickets, months, events, audit_entries, False)


def _count_by_month(due) -> tuple[int, list[str]]:
    from .tickets.models import Ticket

    rows = db.session.execute(
        select(Ticket.opened_month, func.count())
        .where(due)
        .group_by(Ticket.opened_month)
        .order_by(Ticket.opened_month)
    ).all()
    return sum(n for _m, n in rows), [m for m, _n in rows]


def _scrub_audit(refs: list[str]) -> int:
    """Replace the personal values in audit details about these tickets with a mark."""
    changed = 0
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        stmt = select(AuditLog).where(
            AuditLog.entity == "ticket",
            AuditLog.entity_id.in_(chunk),
            AuditLog.detail.is_not(None),
        )
        for entry in db.session.scalars(stmt):
            data = entry.detail_data
            if isinstance(data, dict) and any(k in data for k in PERSONAL_FIELDS):
                for key in PERSONAL_FIELDS:
                    if key in data:
                        data[key] = ERASED_MARK
                entry.detail = json.dumps(data, ensure_ascii=False)
                changed += 1
    db.session.flush()
    return changed


@retention_cli.command("apply")
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Keep personal data this many months (default: RETENTION_MONTHS).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be erased; write nothing.")
def retention_apply(months: int | None, dry_run: bool) -> None:
    """Erase names, phone numbers and free text of tickets older than the retention period."""
    months = months or current_app.config["RETENTION_MONTHS"]
    cutoff = cutoff_for(months)
    result = apply_retention(cutoff, dry_run=dry_run)
    span = f" ({result.months[0]} .. {result.months[-1]})" if result.months else ""
    if dry_run:
        db.session.rollback()
        click.echo(
            f"dry run: {result.tickets} ticket(s) opened before {cutoff:%Y-%m-%d}{span} "
            "would be anonymised; nothing was written."
        )
        return
    db.session.commit()
    click.echo(
        f"anonymised {result.tickets} ticket(s) opened before {cutoff:%Y-%m-%d}{span}; "
        f"{result.events} timeline entries and {result.audit_entries} audit entries scrubbed."
    )
