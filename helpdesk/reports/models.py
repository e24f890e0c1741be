"""Organisation settings, report drafts and issued reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now_local

ORGANISATION_KEYS = (
    "parent_agency",
    "agency",
    "agency_name",
    "document_symbol",
    "place",
    "recipient",
    "system_name",
    "signer_title",
    "signer_name",
    "distribution",
)


class OrgSetting(db.Model):
    __tablename__ = "org_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ReportDraft(db.Model):
    """A month's report settings and paragraph overrides before it is issued."""

    __tablename__ = "report_drafts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    report_date: Mapped[date | None]
    number: Mapped[str | None] = mapped_column(String(20))
    signer_title: Mapped[str | None] = mapped_column(String(120))
    signer_name: Mapped[str | None] = mapped_column(String(120))
    overrides: Mapped[str] = mapped_column(Text, default="{}")  # JSON: paragraph key -> text
    updated_at: Mapped[datetime] = mapped_column(default=now_local, onupdate=now_local)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class IssuedReport(db.Model):
    """An immutable snapshot of an issued report."""

    __tablename__ = "issued_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    number: Mapped[str | None] = mapped_column(String(20))
    report_date: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=now_local)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snapshot: Mapped[str] = mapped_column(Text)  # JSON of the figures and final text
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
