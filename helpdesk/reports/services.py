"""Drafts, paragraph overrides and issuing, per reporting period. Services flush; the caller
commits.

A report is kept under its period's code (``2023-09``, ``2026-Q3``, ``2026-H1``, ``2026-9M``,
``2026``) in the ``month`` column of drafts and issued reports: every code fits its 7 characters
and the codes of different periods never collide, so a month keeps its key of before periods.
Issuing a period locks the statistics of each of its months (a month already locked, by its own
report, keeps its lock); unlocking is per month, on the statistics pages, as before.
"""

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
from ..periods import PeriodError, ReportPeriod, first_working_day_after
from ..stats.models import CityStat, UnitStat
from ..textutil import nfc
from ..timeutil import now_local, today_local
from .builder import MonthFigures, ReportError, build_period
from .document import ReportDocument
from .models import IssuedReport, OrgSetting, ReportDraft
from .text import ReportSettings, compose, paragraph_label

MAX_PARAGRAPH = 6000


class AlreadyIssued(ReportError):
    """The period's report has been issued: it can no longer change."""


class BadPeriod(ReportError):
    """Not a period code, or a period that has not started."""


def parse_period(code: str | ReportPeriod) -> ReportPeriod:
    """The period of a code (``2026-Q3``); BadPeriod with the reason otherwise."""
    if isinstance(code, ReportPeriod):
        return code
    try:
        return ReportPeriod.parse(code)
    except PeriodError as exc:
        raise BadPeriod(f"Kỳ báo cáo không hợp lệ: {exc}.") from exc


def check_started(period: ReportPeriod, today: date | None = None) -> None:
    """Refuse a period that has not started (nothing can be reported on it yet)."""
    today = today or today_local()
    if period.is_future(today):
        raise BadPeriod(
            f"{period.title} chưa bắt đầu (từ ngày {period.first_day:%d/%m/%Y}); "
            "chưa thể lập báo cáo."
        )


def figures_of(code: str | ReportPeriod) -> MonthFigures:
    """Every figure of the period's report; ReportError for a malformed or future period, or
    one without statistics."""
    period = parse_period(code)
    check_started(period)
    return build_period(period)


class StaleDraft(ReportError):
    """The draft changed since the form was shown; ``changes`` says what."""

    def __init__(self, message: str, changes: list[str] | None = None):
        super().__init__(message)
        self.changes = changes or []


def get_draft(code: str) -> ReportDraft | None:
    return db.session.get(ReportDraft, code)


@dataclass(frozen=True)
class IssuedSummary:
    """What pages show of an issued report (never its PDF bytes or snapshot)."""

    id: int
    month: str  # the period's code
    number: str | None
    report_date: date
    issued_at: datetime
    issued_by: str | None
    sha256: str
    size: int

    @property
    def period(self) -> ReportPeriod:
        return ReportPeriod.parse(self.month)


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


def issued_summary(code: str) -> IssuedSummary | None:
    found = _summaries(IssuedReport.month == code)
    return found[0] if found else None


def issued_reports() -> list[IssuedSummary]:
    """Every issued report, the latest period first (a year after its last quarter)."""
    return sorted(_summaries(), key=lambda r: r.period.sort_key, reverse=True)


def issued_months(months) -> list[str]:
    """Those of the months that have an issued month report, in order (one query)."""
    months = list(months)
    found = set(
        db.session.scalars(select(IssuedReport.month).where(IssuedReport.month.in_(months)))
    )
    return [m for m in months if m in found]


def draft_codes() -> list[str]:
    """The codes of every saved draft (one query)."""
    return list(db.session.scalars(select(ReportDraft.month)))


def get_issued(code: str) -> IssuedReport | None:
    return db.session.scalar(select(IssuedReport).where(IssuedReport.month == code))


def draft_overrides(draft: ReportDraft | None) -> dict[str, str]:
    if draft is None or not draft.overrides:
        return {}
    data = json.loads(draft.overrides)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def default_date(code: str | ReportPeriod) -> date:
    """A report's date when nobody set one: the first working day after its period."""
    return first_working_day_after(parse_period(code))


def settings_for(
    draft: ReportDraft | None, report_date: date | None = None, default: date | None = None
) -> ReportSettings:
    """The draft's settings; the date is ``report_date``, else the draft's, else ``default``
    (the first working day after the period; the command line's is today)."""
    if default is None:
        default = default_date(draft.month) if draft is not None else today_local()
    return ReportSettings(
        report_date=report_date or (draft.report_date if draft else None) or default,
        number=draft.number if draft else None,
        signer_title=draft.signer_title if draft else None,
        signer_name=draft.signer_name if draft else None,
        overrides=draft_overrides(draft),
    )


def build_document(
    code: str | ReportPeriod,
    report_date: date | None = None,
    figures: MonthFigures | None = None,
    *,
    default_date: date | None = None,
) -> ReportDocument:
    """The period's report as it stands: figures from the database, the draft's settings.

    The date is ``report_date``, else the draft's, else ``default_date``, else the first working
    day after the period."""
    period = parse_period(code)
    figures = figures or figures_of(period)
    default = default_date or first_working_day_after(period)
    return compose(figures, settings_for(get_draft(period.code), report_date, default))


def issued_document(code: str) -> ReportDocument | None:
    """The document exactly as issued (from the snapshot), or None if it is not issued."""
    snapshot = db.session.scalar(select(IssuedReport.snapshot).where(IssuedReport.month == code))
    return ReportDocument.from_dict(json.loads(snapshot)["document"]) if snapshot else None


def months_with_statistics() -> list[str]:
    """Every month with unit statistics or city figures, newest first."""
    months = select(UnitStat.month).distinct().union(select(CityStat.month).distinct())
    return sorted(db.session.scalars(months), reverse=True)


def _ensure_not_issued(period: ReportPeriod) -> None:
    issued = issued_summary(period.code)
    if issued is not None:
        raise AlreadyIssued(
            f"Báo cáo {period.label} đã được phát hành lúc "
            f"{issued.issued_at:%H:%M %d/%m/%Y}; không thể sửa nữa."
        )


def _draft_for_update(code: str, version: int | None) -> ReportDraft:
    """The period's draft (created on first save), refusing a stale form."""
    period = parse_period(code)
    check_started(period)
    _ensure_not_issued(period)
    draft = get_draft(period.code)
    current = draft.version if draft else 0
    if version is not None and version != current:
        raise StaleDraft(
            "Bản nháp vừa được người khác thay đổi; nội dung mới nhất đang hiển thị. "
            "Vui lòng xem lại rồi lưu lại.",
            _describe(draft),
        )
    if draft is None:
        draft = ReportDraft(month=period.code, overrides="{}")
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
    lines += [
        f"Đoạn {'đã bỏ' if not text else 'đã sửa'}: {paragraph_label(key)}"
        for key, text in draft_overrides(draft).items()
    ]
    return [line for line in lines if line]


def save_settings(
    code: str,
    *,
    report_date: date,
    number: str | None,
    signer_title: str | None,
    signer_name: str | None,
    version: int | None,
    actor_id: int | None,
) -> ReportDraft:
    """Set the report date, number and signer of the period's draft."""
    draft = _draft_for_update(code, version)
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
            draft.month,
            f"Thiết lập báo cáo {ReportPeriod.parse(draft.month).label}",
            detail=changed,
            user_id=actor_id,
        )
    return draft


def set_paragraph(
    code: str,
    key: str,
    text: str | None,
    *,
    version: int | None,
    actor_id: int | None,
    omit: bool = False,
) -> ReportDraft:
    """Override one generated paragraph; an empty or unchanged text restores the generated one.
    ``omit``: remove the paragraph from the report (stored as an empty override)."""
    draft = _draft_for_update(code, version)
    period = ReportPeriod.parse(draft.month)
    generated = build_document(period).paragraphs()
    if key not in generated:
        raise ReportError(f"Đoạn văn này không có trong báo cáo {period.label}.")
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
    if omit:
        overrides[key] = ""
    elif not text or text == generated[key].generated:
        overrides.pop(key, None)
    else:
        overrides[key] = text
    draft.overrides = json.dumps(overrides, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    if before != overrides.get(key):
        action = "report_override" if key in overrides else "report_reset"
        verb = "Sửa" if key in overrides else "Khôi phục"
        if omit:
            action, verb = "report_omit", "Bỏ"
        record(
            action,
            "report",
            period.code,
            f"{verb} đoạn «{paragraph_label(key)}» báo cáo {period.label}",
            detail={"key": key, "before": before, "after": overrides.get(key)},
            user_id=actor_id,
        )
    return draft


def reset_paragraph(
    code: str, key: str, *, version: int | None, actor_id: int | None
) -> ReportDraft:
    """Restore the generated text of one paragraph."""
    return set_paragraph(code, key, None, version=version, actor_id=actor_id)


def issue(
    code: str, actor_id: int | None, *, version: int | None = None, render=None
) -> IssuedReport:
    """Issue the period's report: store an immutable snapshot with its PDF, lock the statistics
    of each of its months (one already locked keeps its lock).

    The PDF is built before anything is written, so a failed build leaves nothing behind.
    Two supervisors issuing at once get one report: the unique code refuses the second.
    """
    from ..stats.services import lock_month, lock_months
    from .render import render_pdf

    period = parse_period(code)
    check_started(period)
    month = period.code
    _ensure_not_issued(period)
    draft = get_draft(month)
    if version is not None and version != (draft.version if draft else 0):
        raise StaleDraft(
            "Bản nháp vừa được người khác thay đổi; vui lòng xem lại trước khi phát hành.",
            _describe(draft),
        )
    figures = build_period(period)
    settings = settings_for(draft, default=first_working_day_after(period))
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
    except IntegrityError as exc:  # another supervisor issued the period a moment ago
        raise AlreadyIssued(f"Báo cáo {period.label} vừa được người khác phát hành.") from exc
    reason = f"Phát hành báo cáo {period.label}"
    if period.is_month:
        lock_month(month, actor_id, reason)
        locked = [month]
    else:
        locked = lock_months(period.months, actor_id, reason)
    record(
        "report_issue",
        "report",
        month,
        f"Phát hành báo cáo {period.label}"
        + (f", số {settings.number}" if settings.number else ""),
        detail={"sha256": digest, "bytes": len(pdf), "locked_months": locked},
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
