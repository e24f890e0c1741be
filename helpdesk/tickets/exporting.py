"""CSV and XLSX exports of exactly what the list shows for a filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from ..audit import record
from ..exports import csv_bytes, xlsx_bytes
from ..extensions import db
from .models import AUDIENCE_LABELS, CHANNEL_LABELS, STATUS_LABELS, Ticket
from .queries import (
    OPEN_STATUSES,
    TicketFilter,
    filtered_tickets,
    moment_of,
    sorted_tickets,
    with_list_relations,
)
from .sla import is_late

HEADERS = (
    "Mã yêu cầu",
    "Thời điểm tiếp nhận",
    "Kênh",
    "Đối tượng",
    "Nhóm yêu cầu",
    "Người yêu cầu",
    "Số điện thoại",
    "Đơn vị liên quan",
    "Mã hồ sơ",
    "Nội dung",
    "Trạng thái",
    "Người ghi nhận",
    "Người xử lý",
    "Hạn xử lý",
    "Quá hạn",
    "Chuyển tới đơn vị",
    "Thời điểm giải quyết",
    "Kết quả giải quyết",
)


def export_row(ticket: Ticket, today: date) -> list[Any]:
    overdue = ticket.status in OPEN_STATUSES and is_late(ticket, moment_of(today))
    return [
        ticket.ref,
        ticket.opened_at,
        CHANNEL_LABELS.get(ticket.channel, ticket.channel),
        AUDIENCE_LABELS.get(ticket.audience, ticket.audience),
        ticket.category.label,
        ticket.requester_name,
        ticket.requester_phone,
        ticket.unit.display if ticket.unit else None,
        ticket.dossier_code,
        ticket.summary,
        STATUS_LABELS.get(ticket.status, ticket.status),
        ticket.operator.full_name if ticket.operator else None,
        ticket.assignee.full_name if ticket.assignee else None,
        ticket.due_at,
        "Có" if overdue else "",
        ticket.forwarded_unit.display if ticket.forwarded_unit else None,
        ticket.resolved_at,
        ticket.resolution_note,
    ]


def _rows(flt: TicketFilter, today: date, counter: list[int]) -> Iterator[list[Any]]:
    from sqlalchemy.orm import joinedload

    stmt = with_list_relations(sorted_tickets(filtered_tickets(flt, today), flt.sort)).options(
        joinedload(Ticket.forwarded_unit)
    )
    # Streamed in batches: the export never holds every ORM object at once.
    for ticket in db.session.scalars(stmt.execution_options(yield_per=1000)):
        counter[0] += 1
        yield export_row(ticket, today)


def export_rows(flt: TicketFilter, fmt: str, today: date | None = None) -> tuple[bytes, int]:
    """The file's bytes and how many tickets it holds."""
    from ..timeutil import today_local

    today = today or today_local()
    counter = [0]
    rows = _rows(flt, today, counter)
    if fmt == "csv":
        payload = csv_bytes(HEADERS, rows)
    else:
        payload = xlsx_bytes(HEADERS, rows, title="Yêu cầu hỗ trợ")
    return payload, counter[0]


def export_tickets(flt: TicketFilter, fmt: str, actor_id: int | None) -> bytes:
    """Build the export file and write who exported what to the audit log."""
    payload, count = export_rows(flt, fmt)
    record(
        "export",
        "ticket",
        None,
        f"Xuất {count} yêu cầu hỗ trợ ({fmt.upper()})",
        detail={"format": fmt, "rows": count, "filter": flt.to_args(page=1)},
        user_id=actor_id,
    )
    db.session.flush()
    return payload
