"""Retention of personal data: old tickets lose names, phones and free text; every figure stays."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.cli import DEMO_DIR
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.imports.engine import collect_files
from helpdesk.models import Category, Ticket, TicketEvent
from helpdesk.retention import ERASED_MARK, apply_retention, cutoff_for
from helpdesk.timeutil import month_of, now_local

from .conftest import login

# Everything the dashboard and the monthly report count a ticket by.
COUNTED = (
    "opened_month",
    "audience",
    "category_id",
    "unit_id",
    "forwarded_unit_id",
    "status",
    "channel",
    "operator_id",
    "assignee_id",
)
KEPT = (*COUNTED, "id", "ref", "opened_at", "resolved_at", "closed_at", "due_date", "created_at")


def aggregates() -> dict[str, list[tuple]]:
    """The counts the reports are made of, computed in SQL, one GROUP BY per dimension."""
    result = {}
    for column in COUNTED:
        col = getattr(Ticket, column)
        rows = db.session.execute(
            sa.select(Ticket.opened_month, col, sa.func.count())
            .group_by(Ticket.opened_month, col)
            .order_by(Ticket.opened_month, col)
        )
        result[column] = [tuple(r) for r in rows]
    cols = [getattr(Ticket, c) for c in COUNTED]
    full = db.session.execute(sa.select(*cols, sa.func.count()).group_by(*cols).order_by(*cols))
    result["all"] = [tuple(r) for r in full]
    resolved = db.session.execute(
        sa.select(
            Ticket.opened_month,
            sa.func.count(Ticket.resolved_at),
            sa.func.count(Ticket.closed_at),
            sa.func.count(Ticket.due_date),
        )
        .group_by(Ticket.opened_month)
        .order_by(Ticket.opened_month)
    )
    result["resolution"] = [tuple(r) for r in resolved]
    return result


def kept_columns() -> list[tuple]:
    cols = [getattr(Ticket, c) for c in KEPT]
    return [tuple(r) for r in db.session.execute(sa.select(*cols).order_by(Ticket.id))]


def every_text_in_the_database() -> str:
    """Every text value of every table, joined: what a person reading a dump would see."""
    parts = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)):
            parts.extend(str(v) for v in row if v)
    return "\n".join(parts)


def personal_values() -> tuple[set[str], set[str]]:
    names = db.session.scalars(sa.select(Ticket.requester_name).where(Ticket.requester_name != ""))
    phones = db.session.scalars(
        sa.select(Ticket.requester_phone).where(Ticket.requester_phone != "")
    )
    return set(names), set(phones)


def add_recent_ticket(**fields) -> Ticket:
    """A ticket of last week, typed in by an operator (not imported)."""
    category = db.session.scalars(sa.select(Category).order_by(Category.id)).first()
    opened = now_local() - timedelta(days=7)
    ticket = Ticket(
        ref="HT-TEST-0001",
        opened_at=opened,
        opened_month=month_of(opened),
        audience=category.audience,
        category=category,
        requester_name="Trần Thị Gần Đây",
        requester_phone="0987654321",
        summary="Chị Gần Đây hỏi về hồ sơ",
        details="Gọi lại số 0987 654 321",
        status="open",
        **fields,
    )
    db.session.add(ticket)
    db.session.commit()
    return ticket


def test_cutoff_is_the_first_day_of_a_month():
    assert cutoff_for(36, date(2026, 11, 27)) == datetime(2023, 11, 1)
    assert cutoff_for(1, date(2026, 1, 31)) == datetime(2025, 12, 1)
    assert cutoff_for(12, date(2026, 12, 1)) == datetime(2025, 12, 1)
    with pytest.raises(ValueError):
        cutoff_for(0)


def test_figures_identical_and_personal_data_gone(demo_app):
    recent = add_recent_ticket()
    names, phones = personal_values()
    assert len(names) > 50 and len(phones) > 50  # the demo data set holds real-looking ones
    august = sa.select(Ticket).where(Ticket.opened_month == "2023-08")
    later = sa.select(Ticket).where(Ticket.opened_month > "2023-08")
    kept_names = {t.requester_name for t in db.session.scalars(later)} - {None}
    kept_phones = {t.requester_phone for t in db.session.scalars(later)} - {None}
    before_figures, before_rows = aggregates(), kept_columns()

    # The cut-off splits the demo data: August goes, September and last week stay.
    result = apply_retention(datetime(2023, 9, 1), actor_id=None)
    db.session.commit()

    assert result.tickets == 199
    assert result.months == ["2023-08"]
    assert aggregates() == before_figures
    assert kept_columns() == before_rows
    dump = every_text_in_the_database()
    gone = (names - kept_names) | (phones - kept_phones)
    assert len(gone) > 50
    assert [v for v in gone if v in dump] == []
    assert all(v in dump for v in kept_names | kept_phones)
    for ticket in db.session.scalars(august):
        assert ticket.requester_name is None and ticket.requester_phone is None
        assert ticket.details is None and ticket.resolution_note is None
        assert ticket.dossier_code is None
        assert ticket.summary == ticket.category.label
        assert ticket.anonymised_at is not None
        assert ticket.import_key == f"anon:{ticket.id}"
        assert ticket.version >= 2  # a form opened before the erasure is now stale
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Ticket).where(Ticket.anonymised_at.is_not(None))
        )
        == 199
    )
    db.session.refresh(recent)
    assert recent.requester_phone == "0987654321" and recent.anonymised_at is None
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "retention"))
    assert entry.detail_data["tickets"] == 199
    assert entry.detail_data["cutoff"] == "2023-09-01"


def test_timeline_and_audit_values_scrubbed(demo_app):
    ticket = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).first()
    ticket.events.append(
        TicketEvent(
            kind="change",
            field="requester_phone",
            old_value="0912 000 111",
            new_value="0912 000 222",
        )  # fmt: skip
    )
    ticket.events.append(
        TicketEvent(kind="change", field="status", old_value="Mới", new_value="Đã đóng")
    )
    ticket.events.append(TicketEvent(kind="note", note="Anh Khúc Thừa Mỹ, nhà số 5"))
    db.session.add(
        AuditLog(
            action="import_update",
            entity="ticket",
            entity_id=ticket.ref,
            summary=f"Cập nhật {ticket.ref} từ tệp",
            detail='{"requester_name": ["Khúc Thừa Mỹ", "Khúc Thừa Mĩ"], '
            '"status": ["open", "closed"]}',
        )
    )
    db.session.commit()

    apply_retention(datetime(2023, 10, 1))
    db.session.commit()

    events = db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    assert [e.kind for e in events][-3:] == ["change", "change", "note"]  # entries kept
    phone, status, note = events[-3:]
    assert (phone.old_value, phone.new_value) == (None, None)
    assert (status.old_value, status.new_value) == ("Mới", "Đã đóng")  # not personal: kept
    assert note.note is None
    entry = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.entity_id == ticket.ref, AuditLog.action == "import_update"
        )
    )
    assert entry.detail_data == {"requester_name": ERASED_MARK, "status": ["open", "closed"]}
    dump = every_text_in_the_database()
    for value in ("Khúc Thừa", "0912 000 111", "0912 000 222"):
        assert value not in dump


def test_running_twice_changes_nothing_more(demo_app):
    apply_retention(datetime(2023, 10, 1))
    db.session.commit()
    again = apply_retention(datetime(2023, 10, 1))
    db.session.commit()
    assert again.tickets == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action == "retention")
        )
        == 1
    )


def test_reimport_after_erasure_adds_nothing_and_restores_nothing(demo_app):
    names, phones = personal_values()
    apply_retention(datetime(2023, 10, 1))
    db.session.commit()
    figures = aggregates()

    report = run_import(collect_files([DEMO_DIR]))

    assert report.ok, [str(e) for e in report.errors]
    tickets = next(f for f in report.files if f.kind == "tickets")
    assert (tickets.added, tickets.updated, tickets.unchanged) == (0, 0, 419)
    assert any("đã xóa dữ liệu cá nhân" in w for w in report.warnings)
    assert aggregates() == figures
    dump = every_text_in_the_database()
    assert not [v for v in names | phones if v in dump]


def test_cli_dry_run_then_apply(demo_app):
    runner = demo_app.test_cli_runner()
    before = aggregates()
    dry = runner.invoke(args=["retention", "apply", "--months", "24", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "419 ticket(s)" in dry.output and "nothing was written" in dry.output
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Ticket).where(Ticket.anonymised_at.is_not(None))
        )
        == 0
    )

    done = runner.invoke(args=["retention", "apply", "--months", "24"])

    assert done.exit_code == 0, done.output
    assert "anonymised 419 ticket(s)" in done.output
    db.session.expire_all()
    assert aggregates() == before
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Ticket)
            .where(Ticket.requester_phone.is_not(None))
        )
        == 0
    )
    refused = runner.invoke(args=["retention", "apply", "--months", "0"])
    assert refused.exit_code == 2


def test_cli_uses_the_retention_setting(app_factory):
    app = app_factory("demo", RETENTION_MONTHS=1200)  # a century: nothing is old enough
    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "anonymised 0 ticket(s)" in result.output


def test_dashboard_and_report_figures_identical_after_erasure(demo_app):
    """The figures the supervisors and the City read, built by their own builders."""
    from helpdesk.dashboard.queries import build_month as dashboard_month
    from helpdesk.dashboard.queries import build_trend
    from helpdesk.reports.builder import build_month as report_month

    today = date(2023, 10, 16)
    months = ("2023-08", "2023-09")
    before = {m: (dashboard_month(m, today), build_trend(m)) for m in months}
    report_before = report_month("2023-09")
    assert before["2023-09"][0].total.value == 220  # the builders see the demo tickets

    result = apply_retention(datetime(2023, 10, 1))
    db.session.commit()
    db.session.expire_all()

    assert result.tickets == 419
    assert {m: (dashboard_month(m, today), build_trend(m)) for m in months} == before
    assert report_month("2023-09") == report_before


def test_anonymised_tickets_still_open_and_cannot_be_found_by_phone(demo_app):
    ticket = db.session.scalars(
        sa.select(Ticket).where(Ticket.requester_phone.is_not(None)).order_by(Ticket.id)
    ).first()
    ticket_id, name, phone = ticket.id, ticket.requester_name, ticket.requester_phone
    client = demo_app.test_client()
    login(client, "thang.vd", "Thang-Demo-2023")
    ref = ticket.ref
    assert ref in client.get(f"/yeu-cau/?q={phone}").get_data(as_text=True)

    apply_retention(datetime(2023, 10, 1))
    db.session.commit()

    page = client.get(f"/yeu-cau/{ticket_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert name not in html and phone not in html and ref in html
    assert ref not in client.get(f"/yeu-cau/?q={phone}").get_data(as_text=True)
