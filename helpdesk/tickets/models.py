"""Support request categories, tickets and their history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, event, text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import db
from ..textutil import FOLDED_WORD, fold
from ..timeutil import now_local
from ..units.models import Unit

AUDIENCES = ("citizen", "agency")
AUDIENCE_LABELS = {"citizen": "Công dân", "agency": "Cơ quan, đơn vị"}
CHANNELS = ("phone", "zalo", "email", "walk_in", "web", "other")
CHANNEL_LABELS = {
    "phone": "Điện thoại",
    "zalo": "Zalo",
    "email": "Email",
    "walk_in": "Trực tiếp",
    "web": "Cổng thông tin",
    "other": "Khác",
}
STATUSES = ("open", "in_progress", "waiting", "forwarded", "resolved", "closed")
STATUS_LABELS = {
    "open": "Mới",
    "in_progress": "Đang xử lý",
    "waiting": "Chờ người yêu cầu",
    "forwarded": "Đã chuyển đơn vị",
    "resolved": "Đã giải quyết",
    "closed": "Đã đóng",
}
# How the caller felt at the end of the call; no value: not asked.
SATISFACTIONS = ("satisfied", "neutral", "unsatisfied")
SATISFACTION_LABELS = {
    "satisfied": "Hài lòng",
    "neutral": "Bình thường",
    "unsatisfied": "Không hài lòng",
}


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (CheckConstraint("audience IN ('citizen', 'agency')", name="audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    audience: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(200))
    report_phrase: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(default=0)
    due_days: Mapped[int] = mapped_column(default=3)  # working days to resolve
    # Working minutes to a first response (taken in hand, forwarded, answered); none: no target.
    response_minutes: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)


class CannedAnswer(db.Model):
    """A canned answer (câu trả lời mẫu) operators insert while answering.

    ``category_codes``: the categories it serves, ``|``-separated as in the ``answers`` file
    (empty: every category); checked against the categories when imported or edited."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    category_codes: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    uses: Mapped[int] = mapped_column(default=0, server_default="0")
    search_text: Mapped[str] = mapped_column(String(500), default="", server_default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    @property
    def categories(self) -> list[str]:
        return [c for c in self.category_codes.split("|") if c]

    def serves(self, category_code: str | None) -> bool:
        return not self.category_codes or category_code in self.categories


@event.listens_for(CannedAnswer, "before_insert")
@event.listens_for(CannedAnswer, "before_update")
def _answer_search_text(_mapper, _connection, answer: CannedAnswer) -> None:
    # Each word after a space: the picker matches words by their start ("tre" finds "trễ" and
    # "trên"; "uoi" finds nothing, though "người" ends with it).
    words = FOLDED_WORD.findall(fold(f"{answer.title} {answer.text}"))
    answer.search_text = (" " + " ".join(words))[:500]


class TicketCounter(db.Model):
    """The last reference number given in a month (``HT-2309-0042``)."""

    __tablename__ = "ticket_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'in_progress', 'waiting', 'forwarded', 'resolved', 'closed')",
            name="status",
        ),
        CheckConstraint("audience IN ('citizen', 'agency')", name="audience"),
        CheckConstraint(
            "satisfaction IN ('satisfied', 'neutral', 'unsatisfied')", name="satisfaction"
        ),
        Index("ix_tickets_month_audience_category", "opened_month", "audience", "category_id"),
        Index("ix_tickets_status_opened", "status", "opened_at"),
        Index("ix_tickets_unit_opened", "unit_id", "opened_at"),
        Index("ix_tickets_phone_opened", "requester_phone", "opened_at"),
        # The duplicates of a ticket. Partial (0013): almost every ticket has none, and a full
        # index's statistics then make a lookup look like a scan to SQLite's planner.
        Index(
            "ix_tickets_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    opened_month: Mapped[str] = mapped_column(String(7))
    channel: Mapped[str] = mapped_column(String(10), default="phone")
    audience: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    requester_name: Mapped[str | None] = mapped_column(String(120))
    requester_phone: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    forwarded_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    dossier_code: Mapped[str | None] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    # fold(requester_name + summary): what word search matches, accent-insensitively. Kept in step
    # by the mapper events below; a trigram index (pg_trgm) can serve it when the table grows.
    search_text: Mapped[str] = mapped_column(String(430), default="", server_default="")
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    due_date: Mapped[date | None] = mapped_column(index=True)  # the day of due_at
    # Service level (tickets.sla): the moment it must be resolved, in working time from
    # opened_at; time spent waiting for the caller (status "waiting", since paused_at) is added
    # back as paused_minutes when the wait ends. A late ticket is worked on under a promise.
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    response_due_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    promised_at: Mapped[datetime | None]
    progress_note: Mapped[str | None] = mapped_column(Text)
    # When it was last forwarded, and the unit's own due time from then.
    forwarded_at: Mapped[datetime | None]
    unit_due_at: Mapped[datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(12))  # SATISFACTIONS, or not asked
    # A duplicate (another call about the same matter) closed into the ticket it repeats: still
    # one contact (lượt) in every count, never again an open or late request. merged_status is
    # the status it had, restored by unmerging.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    merged_status: Mapped[str | None] = mapped_column(String(12))
    merged_at: Mapped[datetime | None]
    # Set for tickets that came from an import: opened_at|phone|category (FORMATS.md natural key).
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_local)
    updated_at: Mapped[datetime] = mapped_column(default=now_local, onupdate=now_local)
    version: Mapped[int] = mapped_column(default=1)

    category: Mapped[Category] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    forwarded_unit: Mapped[Unit | None] = relationship(foreign_keys=[forwarded_unit_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    operator: Mapped[User | None] = relationship(foreign_keys=[operator_id])
    merged_into: Mapped[Ticket | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id], lazy="select"
    )

    __mapper_args__ = {"version_id_col": version}


class TicketEvent(db.Model):
    """One entry of a ticket's timeline: a field change, a transition or an internal note."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=now_local)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(12))  # created, change, status, note
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


Ticket.events = relationship(
    TicketEvent, order_by=TicketEvent.id, cascade="all, delete-orphan", lazy="select"
)


def ticket_search_text(name: str | None, summary: str | None) -> str:
    """The folded words a ticket is found by (name and summary)."""
    return fold(f"{name or ''} {summary or ''}")[:430]


@event.listens_for(Ticket, "before_insert")
@event.listens_for(Ticket, "before_update")
def _refresh_search_text(_mapper, _connection, target: Ticket) -> None:
    text = ticket_search_text(target.requester_name, target.summary)
    if target.search_text != text:
        target.search_text = text
