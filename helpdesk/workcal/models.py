"""The admins' table of announced days off and make-up working days (ngày làm bù)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now_local

KINDS = ("off", "work")
KIND_LABELS = {"off": "Nghỉ", "work": "Làm bù"}


class CalendarChange(db.Model):
    """A range of days announced as days off, or as make-up working days, beyond the law's
    public holidays (Tết 2026: 14–22/2 off). Ranges never overlap (services check it)."""

    __tablename__ = "calendar_changes"
    __table_args__ = (
        CheckConstraint("kind IN ('off', 'work')", name="kind"),
        CheckConstraint("end_date >= start_date", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    start_date: Mapped[date] = mapped_column(index=True)
    end_date: Mapped[date]
    kind: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=now_local)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """``Nghỉ: Tết Bính Ngọ (14/02/2026–22/02/2026)``, as the audit log names it."""
        return (
            f"{self.kind_label}: {self.name} ({self.start_date:%d/%m/%Y}–{self.end_date:%d/%m/%Y})"
        )
