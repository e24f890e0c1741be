"""Drafts, paragraph overrides and issuing. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..auth.models import User
from ..extensions import db
from ..stats.models import CityStat, UnitStat
from ..textutil import nfc
from ..timeutil import now_local, parse_month, today_local
from .builder import MonthFigures, ReportError, build_month, month_label
from .document import ReportDocument
from .models import IssuedReport, OrgSetting, ReportDraft
from .text import ReportSettings, compose, paragraph_label

MAX_PARAGRAPH = 6000


class AlreadyIssued(ReportError):
    """The month's report has been issued: it can no longer change."""


class StaleDraft(ReportError):
    """The draft changed since the form was shown; ``changes`` says what."""

    def __init__(self, message: str, changes: list[str] | None = None):
        super().__init__(message)
        self.changes = changes or []


def get_draft(month: str) -> ReportDraft | None:
    return db.session.get(ReportDraft, month)


@dataclass(frozen=True)
class IssuedSummary:
    """What pages show of an issued report (never its PDF bytes or snapshot)."""

    id: int
    month: str
    number: str | None
    report_date: date
    issued_at: datetime
    issued_by: str | None
    sha256: str
    size: int


def _summaries(*where) -> list[IssuedSummary]:
    stmt = (
        select(
            IssuedReport.id,
            IssuedReport.month,
            IssuedReport.number,
            IssuedReport.report_date,
            IssuedReport.issued_at,
            User.full_name,
            IssuedReport.sha256,
            func.length(IssuedReport.pdf),
        )
        .outerjoin(User, User.id == IssuedReport.issued_by_id)
        .where(*where)
        .order_by(IssuedReport.month.desc())
    )
    return [IssuedSummary(*row) for row in db.session.execute(stmt)]


def issued_summary(month: str) -> IssuedSummary | None:
    found = _summaries(IssuedReport.month == month)
    return found[0] if found else None


def issued_reports() -> list[IssuedSummary]:
    return _summaries()


def get_issued(month: str) -> IssuedReport | None:
    return db.session.scalar(select(IssuedReport).where(IssuedReport.month == month))


def draft_overrides(draft: ReportDraft | None) -> dict[str, str]:
    if draft is None or not draft.overrides:
        return {}
    data = json.loads(draft.overrides)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def settings_for(draft: ReportDraft | None, report_date: date | None = None) -> ReportSettings:
    """The draft's settings; the date defaults to ``report_date`` or today."""
    return ReportSettings(
        report_date=report_date or (draft.report_date if draft else None) or today_local(),
        number=draft.number if draft else None,
        signer_title=draft.signer_title if draft else None,
        signer_name=draft.signer_name if draft else None,
        overrides=draft_overrides(draft),
    )


def build_document(
    month: str, report_date: date | None = None, figures: MonthFigures | None = None
) -> ReportDocument:
    """The month's report as it stands: figures from the database, the draft's settings."""
    figures = figures or build_month(month)
    return compose(figures, settings_for(get_draft(month), report_date))


def issued_document(month: str) -> ReportDocument | None:
    """The document exactly as issued (from the snapshot), or None if the month is not issued."""
    snapshot = db.session.scalar(select(IssuedReport.snapshot).where(IssuedReport.month == month))
    return ReportDocument.from_dict(json.loads(snapshot)["document"]) if snapshot else None


def months_with_statistics() -> list[str]:
    """Every month with unit statistics or city figures, newest first."""
    months = select(UnitStat.month).distinct().union(select(CityStat.month).distinct())
    return sorted(db.session.scalars(months), reverse=True)


def _ensure_not_issued(month: str) -> None:
    issued = issued_summary(month)
    if issued is not None:
        raise AlreadyIssued(
            f"Báo cáo tháng {month_label(month)} đã được phát hành lúc "
            f"{issued.issued_at:%H:%M %d/%m/%Y}; không thể sửa nữa."
        )


def _draft_for_update(month: str, version: int | None) -> ReportDraft:
    """The month's draft (created on first save), refusing a stale form."""
    parse_month(month)
    _ensure_not_issued(month)
    draft = get_draft(month)
    current = draft.version if draft else 0
    if version is not None and version != current:
        raise StaleDraft(
            "Bản nháp vừa được người khác thay đổi; nội dung mới nhất đang hiển thị. "
            "Vui lòng xem lại rồi lưu lại.",
            _describe(draft),
        )
    if draft is None:
        draft = ReportDraft(month=month, overrides="{}")
        db.session.add(draft)
    return draft


def _describe(draft: ReportDraft | None) -> list[str]:
    """What the draft holds now, for the stale-form message."""
    if draft is None:
        return []
    lines = [
        f"Ngày báo cáo: {draft.report_date:%d/%m/%Y}" if draft.report_date else "",
        f"Số: {draft.number}" if draft.number else "",
        f"Người ký: {draft.signer_title or ''} {draft.signer_name or ''}".strip()
        if draft.signer_title or draft.signer_name
        else "",
    ]
    lines += [f"Đoạn đã sửa: {paragraph_label(key)}" for key in draft_overrides(draft)]
    return [line for line in lines if line]


def save_settings(
    month: str,
    *,
    report_date: date,
    number: str | None,
    signer_title: str | None,
    signer_name: str | None,
    version: int | None,
    actor_id: int | None,
) -> ReportDraft:
    """Set the report date, number and signer of the month's draft."""
    draft = _draft_for_update(month, version)
    before = {
        "report_date": draft.report_date,
        "number": draft.number,
        "signer_title": draft.signer_title,
        "signer_name": draft.signer_name,
    }
    draft.report_date = report_date
    draft.number = nfc(number) or None
    draft.signer_title = nfc(signer_title) or None
    draft.signer_name = nfc(signer_name) or None
    after = {key: getattr(draft, key) for key in before}
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    db.session.flush()
    if changed:
        record(
            "report_settings",
            "report",
            month,
            f"Thiết lập báo cáo tháng {month_label(month)}",
            detail=changed,
            user_id=actor_id,
        )
    return draft


def set_paragraph(
    month: str, key: str, text: str | None, *, version: int | None, actor_id: int | None
) -> ReportDraft:
    """Override one generated paragraph; an empty or unchanged text restores the generated one."""
    draft = _draft_for_update(month, version)
    generated = build_document(month).paragraphs()
    if key not in generated:
        raise ReportError("Đoạn văn này không có trong báo cáo của tháng.")
    # One paragraph: line breaks typed in the box become spaces; a typed "- " or "+ " that the
    # layout adds anyway is dropped.
    text = " ".join((nfc(text) or "").split())
    marker = generated[key].prefix.strip()
    if marker and text.startswith(marker + " "):
        text = text[len(marker) :].lstrip()
    if len(text) > MAX_PARAGRAPH:
        raise ReportError(f"Đoạn văn dài quá {MAX_PARAGRAPH} ký tự.")
    overrides = draft_overrides(draft)
    before = overrides.get(key)
    if not text or text == generated[key].generated:
        overrides.pop(key, None)
    else:
        overrides[key] = text
    draft.overrides = json.dumps(overrides, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    if before != overrides.get(key):
        action = "report_override" if key in overrides else "report_reset"
        record(
            action,
            "report",
            month,
            f"{'Sửa' if key in overrides else 'Khôi phục'} đoạn «{paragraph_label(key)}» "
            f"báo cáo tháng {month_label(month)}",
            detail={"key": key, "before": before, "after": overrides.get(key)},
            user_id=actor_id,
        )
    return draft


def reset_paragraph(
    month: str, key: str, *, version: int | None, actor_id: int | None
) -> ReportDraft:
    """Restore the generated text of one paragraph."""
    return set_paragraph(month, key, None, version=version, actor_id=actor_id)


def issue(
    month: str, actor_id: int | None, *, version: int | None = None, render=None
) -> IssuedReport:
    """Issue the month's report: store an immutable snapshot with its PDF, lock the month.

    The PDF is built before anything is written, so a failed build leaves nothing behind.
    Two supervisors issuing at once get one report: the unique month refuses the second.
    """
    from ..stats.services import lock_month
    from .render import render_pdf

    parse_month(month)
    _ensure_not_issued(month)
    draft = get_draft(month)
    if version is not None and version != (draft.version if draft else 0):
        raise StaleDraft(
            "Bản nháp vừa được người khác thay đổi; vui lòng xem lại trước khi phát hành.",
            _describe(draft),
        )
    figures = build_month(month)
    settings = settings_for(draft)
    document = compose(figures, settings)
    pdf = (render or render_pdf)(document)
    digest = hashlib.sha256(pdf).hexdigest()
    snapshot = {
        "month": month,
        "settings": {
            "report_date": settings.report_date.isoformat(),
            "number": settings.number,
            "signer_title": settings.signer_title,
            "signer_name": settings.signer_name,
            "overrides": dict(settings.overrides),
        },
        "figures": asdict(figures),
        "document": document.to_dict(),
        "text": document.plain_text(),
    }
    issued = IssuedReport(
        month=month,
        number=settings.number,
        report_date=settings.report_date,
        issued_at=now_local(),
        issued_by_id=actor_id,
        snapshot=json.dumps(snapshot, ensure_ascii=False, default=str, sort_keys=True),
        pdf=pdf,
        sha256=digest,
    )
    db.session.add(issued)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another supervisor issued the month a moment ago
        raise AlreadyIssued(
            f"Báo cáo tháng {month_label(month)} vừa được người khác phát hành."
        ) from exc
    lock_month(month, actor_id, f"Phát hành báo cáo tháng {month_label(month)}")
    record(
        "report_issue",
        "report",
        month,
        f"Phát hành báo cáo tháng {month_label(month)}"
        + (f", số {settings.number}" if settings.number else ""),
        detail={"sha256": digest, "bytes": len(pdf)},
        user_id=actor_id,
    )
    return issued


def organisation_defaults() -> dict[str, str]:
    """The organisation's signer, shown as the placeholder of the draft's signer fields."""
    rows = db.session.execute(
        select(OrgSetting.key, OrgSetting.value).where(
            OrgSetting.key.in_(("signer_title", "signer_name"))
        )
    )
    return {key: value or "" for key, value in rows}
