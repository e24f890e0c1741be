"""Paragraph overrides, stale drafts and issuing, on the fixture month."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.extensions import db
from helpdesk.reports import services
from helpdesk.reports.models import IssuedReport
from helpdesk.stats.models import MonthLock

MONTH = "2023-09"


def _paragraph(key: str) -> str:
    return services.build_document(MONTH, date(2023, 9, 29)).paragraphs()[key].text


def _version() -> int:
    draft = services.get_draft(MONTH)
    return draft.version if draft else 0


def test_override_then_reset_a_paragraph(demo_app, make_user):
    user = make_user("supervisor")
    generated = _paragraph("s14_population")
    new = "Tính đến ngày 30/9/2023 đã thực hiện tổng **70.000** lượt khai thác."
    services.set_paragraph(MONTH, "s14_population", new, version=0, actor_id=user.id)
    db.session.commit()
    doc = services.build_document(MONTH, date(2023, 9, 29))
    block = doc.paragraphs()["s14_population"]
    assert block.text == new and block.overridden and block.generated == generated
    assert "đã thực hiện tổng 70.000 lượt khai thác." in doc.plain_text()
    assert "67.086" not in doc.plain_text()
    # Other paragraphs keep their generated text.
    assert not doc.paragraphs()["s1_summary"].overridden

    # The PDF carries the override (bold markers become bold, not asterisks).
    import pdfplumber

    from helpdesk.reports.render import render_pdf

    with pdfplumber.open(io.BytesIO(render_pdf(doc))) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
    assert "70.000" in text and "**" not in text

    services.reset_paragraph(MONTH, "s14_population", version=_version(), actor_id=user.id)
    db.session.commit()
    assert _paragraph("s14_population") == generated
    assert services.draft_overrides(services.get_draft(MONTH)) == {}
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "report").order_by(AuditLog.id)
    ).all()
    assert actions == ["report_override", "report_reset"]


def test_saving_the_generated_text_is_no_override(demo_app):
    generated = _paragraph("closing")
    services.set_paragraph(MONTH, "closing", generated, version=0, actor_id=None)
    db.session.commit()
    assert services.draft_overrides(services.get_draft(MONTH)) == {}


def test_typed_line_breaks_and_bullet_marks_are_tidied(demo_app):
    services.set_paragraph(
        MONTH, "s2_support", "- Hỗ trợ 200 lượt\r\ncông dân;  ", version=0, actor_id=None
    )
    db.session.commit()
    block = services.build_document(MONTH, date(2023, 9, 29)).paragraphs()["s2_support"]
    assert block.text == "Hỗ trợ 200 lượt công dân;"
    assert block.plain == "- Hỗ trợ 200 lượt công dân;"


def test_unknown_paragraph_is_refused(demo_app):
    with pytest.raises(services.ReportError):
        services.set_paragraph(MONTH, "no_such_key", "x", version=0, actor_id=None)


def test_a_stale_form_is_refused_with_what_changed(demo_app):
    services.set_paragraph(MONTH, "closing", "Kính báo cáo./.", version=0, actor_id=None)
    db.session.commit()
    with pytest.raises(services.StaleDraft) as caught:
        services.set_paragraph(MONTH, "opening", "Mở đầu khác.", version=0, actor_id=None)
    assert "Đoạn đã sửa: Câu kết" in caught.value.changes
    db.session.rollback()
    assert "opening" not in services.draft_overrides(services.get_draft(MONTH))


def test_issue_stores_an_immutable_snapshot_and_locks_the_month(demo_app, make_user):
    user = make_user("supervisor")
    services.save_settings(
        MONTH,
        report_date=date(2023, 9, 29),
        number="123",
        signer_title=None,
        signer_name=None,
        version=0,
        actor_id=user.id,
    )
    services.set_paragraph(MONTH, "closing", "Trân trọng báo cáo./.", version=1, actor_id=user.id)
    db.session.commit()
    issued = services.issue(MONTH, user.id)
    db.session.commit()

    row = db.session.scalar(select(IssuedReport).where(IssuedReport.month == MONTH))
    assert row.sha256 == hashlib.sha256(row.pdf).hexdigest()
    assert row.pdf.startswith(b"%PDF-") and row.number == "123"
    assert db.session.get(MonthLock, MONTH) is not None
    snapshot = json.loads(row.snapshot)
    assert snapshot["settings"]["overrides"] == {"closing": "Trân trọng báo cáo./."}
    assert "Số: 123/BC-STTTT" in snapshot["text"]
    assert snapshot["figures"]["payment"]["amount"] == 749_104_899
    # The stored document renders again exactly as issued, whatever happens to the data later.
    doc = services.issued_document(MONTH)
    assert doc.plain_text() == snapshot["text"]
    assert issued.id == row.id

    # Issued: the draft can no longer change.
    with pytest.raises(services.AlreadyIssued):
        services.set_paragraph(MONTH, "opening", "x", version=None, actor_id=user.id)


def test_issuing_twice_gives_one_report(demo_app):
    services.issue(MONTH, None)
    db.session.commit()
    with pytest.raises(services.AlreadyIssued, match="đã được phát hành"):
        services.issue(MONTH, None)
    db.session.rollback()
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 1


def test_two_supervisors_issuing_at_once_get_one_report(demo_app):
    """Both build the PDF, both insert: the unique month lets exactly one through."""
    barrier = threading.Barrier(2, timeout=60)
    outcomes: list[str] = []

    def slow_render(doc):
        from helpdesk.reports.render import render_pdf

        data = render_pdf(doc)
        barrier.wait()  # both have checked "not issued yet" and built their PDF
        return data

    def worker():
        with demo_app.app_context():
            try:
                services.issue(MONTH, None, render=slow_render)
                db.session.commit()
                outcomes.append("issued")
            except services.AlreadyIssued:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(outcomes) == ["issued", "refused"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 1
    assert db.session.get(MonthLock, MONTH) is not None


def test_a_failed_pdf_build_leaves_nothing_behind(demo_app):
    def broken(_doc):
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        services.issue(MONTH, None, render=broken)
    db.session.rollback()
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0
    assert db.session.get(MonthLock, MONTH) is None
    assert (
        db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.entity == "report")) == 0
    )


def test_a_month_without_statistics_cannot_be_issued(demo_app):
    with pytest.raises(services.ReportError, match="chưa có số liệu"):
        services.issue("2023-07", None)
    db.session.rollback()
    assert db.session.get(MonthLock, "2023-07") is None


def test_issue_refuses_a_draft_changed_since_it_was_reviewed(demo_app):
    services.set_paragraph(MONTH, "closing", "Khác./.", version=0, actor_id=None)
    db.session.commit()
    with pytest.raises(services.StaleDraft):
        services.issue(MONTH, None, version=0)
    db.session.rollback()
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0
