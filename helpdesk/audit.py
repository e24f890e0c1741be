"""The audit log: who did what, when, to which record.

Every action and entity code has a Vietnamese label (the log page shows no internal codes).
An import records one entry per changed row and one entry for the import itself; they share a
``batch`` key, so the log page shows the import once with its rows counted, one click away.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import now_local

# The entry that stands for a whole batch (an import); the others of its batch are its rows.
BATCH_HEAD = "import"

ACTION_LABELS = {
    "create": "Tạo mới",
    "update": "Cập nhật",
    "delete": "Xóa",
    "activate": "Kích hoạt",
    "deactivate": "Vô hiệu hóa",
    "lockout": "Khóa tạm do sai mật khẩu",
    "reset_password": "Đặt lại mật khẩu",
    "change_role": "Đổi vai trò",
    "end_session": "Kết thúc một phiên đăng nhập",
    "end_sessions": "Kết thúc các phiên đăng nhập",
    "enable_2fa": "Bật xác thực hai bước",
    "disable_2fa": "Tắt xác thực hai bước",
    "reset_2fa": "Đặt lại xác thực hai bước",
    "use_recovery_code": "Dùng mã khôi phục",
    "new_recovery_codes": "Tạo mã khôi phục mới",
    "token_create": "Tạo khóa API",
    "token_revoke": "Thu hồi khóa API",
    "lock": "Khóa số liệu tháng",
    "unlock": "Mở khóa số liệu tháng",
    "stat_edit": "Sửa số liệu",
    "control_totals": "Sửa tổng kiểm tra",
    "activity_add": "Thêm hoạt động",
    "activity_edit": "Sửa hoạt động",
    "activity_delete": "Xóa hoạt động",
    "activity_move": "Đổi thứ tự hoạt động",
    "end": "Kết thúc đơn vị",
    "reopen": "Mở lại đơn vị",
    "import": "Nhập tệp",
    "import_add": "Nhập tệp: thêm mới",
    "import_update": "Nhập tệp: cập nhật",
    "import_replace": "Nhập tệp: thay danh sách",
    "export": "Xuất danh sách",
    "report_settings": "Thiết lập báo cáo",
    "report_override": "Sửa đoạn báo cáo",
    "report_reset": "Khôi phục đoạn báo cáo",
    "report_omit": "Bỏ đoạn báo cáo",
    "report_issue": "Ban hành báo cáo",
    "ticket_merge": "Gộp yêu cầu trùng",
    "ticket_unmerge": "Tách yêu cầu đã gộp",
    "ticket_issued_add": "Thêm yêu cầu vào tháng đã ban hành báo cáo",
    "ticket_issued_change": "Sửa yêu cầu của tháng đã ban hành báo cáo",
    "retention": "Hết hạn lưu trữ: xóa thông tin cá nhân",
    "backup": "Sao lưu",
    "restore": "Khôi phục từ bản sao lưu",
    "retry": "Gửi lại",
}
ENTITY_LABELS = {
    "user": "Người dùng",
    "session": "Phiên đăng nhập",
    "category": "Nhóm yêu cầu",
    "answer": "Câu trả lời mẫu",
    "organisation": "Thông tin cơ quan",
    "unit": "Đơn vị",
    "unit_stat": "Số liệu đơn vị",
    "city_stat": "Số liệu toàn thành phố",
    "activities": "Hoạt động trong tháng",
    "month": "Số liệu tháng",
    "ticket": "Yêu cầu hỗ trợ",
    "report": "Báo cáo",
    "import": "Tệp nhập",
    "database": "Cơ sở dữ liệu",
    "calendar": "Lịch làm việc",
    "mail": "Thư thông báo",
}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code.replace("_", " "))


def entity_label(code: str) -> str:
    return ENTITY_LABELS.get(code, code.replace("_", " "))


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
    # Entries written together by one import share this key (migration 0006).
    batch: Mapped[str | None] = mapped_column(String(40), index=True)

    @property
    def detail_data(self) -> Any:
        return json.loads(self.detail) if self.detail else None

    @property
    def action_label(self) -> str:
        return action_label(self.action)

    @property
    def entity_label(self) -> str:
        return entity_label(self.entity)

    @property
    def summary_text(self) -> str:
        """The summary without internal codes: entries written before every code had a label
        said ``deactivate hoa.nt`` or ``Nhập mới unit_stat 2023-09 11311``."""
        text = self.summary or ""
        head, _, rest = text.partition(" ")
        if head == self.action and head in ACTION_LABELS and rest:
            return f"{ACTION_LABELS[head]} {rest}"
        return _CODED.sub(lambda m: f"{m.group(1)} {entity_label(m.group(2)).lower()}", text)


_CODED = re.compile(r"^(Nhập mới|Cập nhật) (" + "|".join(ENTITY_LABELS) + r")\b")


@dataclass
class _Batch:
    key: str
    recorded: int = 0


_current_batch: ContextVar[_Batch | None] = ContextVar("audit_batch", default=None)


@contextmanager
def batch() -> Iterator[_Batch]:
    """Group the entries recorded inside (an import's rows and the import's own entry)."""
    group = _Batch(uuid.uuid4().hex)
    token = _current_batch.set(group)
    try:
        yield group
    finally:
        _current_batch.reset(token)


def record(
    action: str,
    entity: str,
    entity_id: Any = None,
    summary: str = "",
    detail: Any = None,
    user_id: int | None = None,
) -> AuditLog:
    """Add an audit entry to the session (committed with the change it describes)."""
    group = _current_batch.get()
    if group is not None:
        group.recorded += 1
    entry = AuditLog(
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        summary=summary[:500],
        detail=None if detail is None else json.dumps(detail, ensure_ascii=False, default=str),
        user_id=user_id,
        batch=None if group is None else group.key,
    )
    db.session.add(entry)
    return entry


def record_edit(
    entity: str, key: str, summary: str, before: dict, after: dict, user_id: int | None
) -> AuditLog:
    """Audit an admin's create (``before`` empty) or update: the fields that changed, old/new."""
    diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    return record(
        "update" if before else "create", entity, key, summary, detail=diff, user_id=user_id
    )
