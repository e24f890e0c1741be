"""The e-mail outbox: every notification is a row first, sent later by ``flask mail send``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now_local

KIND_LABELS = {
    "forwarded": "Chuyển tới đơn vị",
    "assigned": "Được giao",
    "due_soon": "Sắp đến hạn",
    "late": "Quá hạn",
    "digest": "Bản tin sáng",
}


class OutboxMail(db.Model):
    """One message to one address. Saved in the transaction of what caused it, so a rolled-back
    change sends nothing and a committed one is never lost; the worker sends, retries with a
    growing delay, and gives up after ``MAIL_MAX_ATTEMPTS`` (admins see it and may retry)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_pending", "sent_at", "failed_at", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # One message per (kind, ticket, recipient, occasion): a scan run twice sends once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_local)
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=now_local)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # gave up (or the server refused the address for good)
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "failed"
        return "retrying" if self.attempts else "pending"
