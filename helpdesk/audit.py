"""The audit log: who did what, when, to which record."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import now_local


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_local, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[str | None] = mapped_column(Text)

    @property
    def detail_data(self) -> Any:
        return json.loads(self.detail) if self.detail else None


def record(
    action: str,
    entity: str,
    entity_id: Any = None,
    summary: str = "",
    detail: Any = None,
    user_id: int | None = None,
) -> AuditLog:
    """Add an audit entry to the session (committed with the change it describes)."""
    entry = AuditLog(
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        summary=summary[:500],
        detail=None if detail is None else json.dumps(detail, ensure_ascii=False, default=str),
        user_id=user_id,
    )
    db.session.add(entry)
    return entry
