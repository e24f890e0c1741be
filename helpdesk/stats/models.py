"""Monthly statistics from the procedure system (section 1 of the report)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..units.models import Unit

# The figures of a unit_stats row, in file order. None means "not reported", never zero.
UNIT_STAT_FIELDS = (
    "received",
    "online",
    "signed_results",
    "payment_procedures",
    "payment_transactions",
    "payment_amount",
    "fee_transactions",
    "fee_amount",
)


class UnitStat(db.Model):
    __tablename__ = "unit_stats"
    __table_args__ = (UniqueConstraint("month", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    received: Mapped[int | None] = mapped_column(BigInteger)
    online: Mapped[int | None] = mapped_column(BigInteger)
    signed_results: Mapped[int | None] = mapped_column(BigInteger)
    payment_procedures: Mapped[int | None] = mapped_column(BigInteger)
    payment_transactions: Mapped[int | None] = mapped_column(BigInteger)
    payment_amount: Mapped[int | None] = mapped_column(BigInteger)
    fee_transactions: Mapped[int | None] = mapped_column(BigInteger)
    fee_amount: Mapped[int | None] = mapped_column(BigInteger)

    unit: Mapped[Unit] = relationship()


class CityStat(db.Model):
    __tablename__ = "city_stats"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    population_lookups: Mapped[int | None] = mapped_column(BigInteger)
    population_matched: Mapped[int | None] = mapped_column(BigInteger)
    population_as_of: Mapped[date | None]


class Activity(db.Model):
    """One of the other support-work bullets of a month's report, in order."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)


class ControlTotal(db.Model):
    """A level total typed in by a supervisor, checked against the sum of the units."""

    __tablename__ = "control_totals"
    __table_args__ = (UniqueConstraint("month", "level", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    level: Mapped[str] = mapped_column(String(12))
    field: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(BigInteger)


class MonthLock(db.Model):
    """A month whose report has been issued: its statistics are read-only."""

    __tablename__ = "month_locks"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    locked_at: Mapped[datetime]
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
