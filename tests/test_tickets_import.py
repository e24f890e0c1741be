"""Importing a support log kept elsewhere (the ``tickets`` file kind of FORMATS.md)."""

from sqlalchemy import func, select

from helpdesk.cli import DEMO_DIR
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.imports.engine import collect_files
from helpdesk.tickets.models import Ticket, TicketEvent
from helpdesk.tickets.queries import filtered_tickets

HEADER = (
    "opened_at,channel,audience,category,requester_name,requester_phone,unit_code,"
    "dossier_code,summary,status,resolved_at,operator\n"
)


def _count(model=Ticket) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _tickets_file() -> tuple[str, bytes]:
    return ("tickets.csv", (DEMO_DIR / "tickets.csv").read_bytes())


def test_fixture_imports_419_tickets_and_twice_duplicates_nothing(app):
    first = run_import(collect_files([DEMO_DIR]))
    assert first.ok, [str(e) for e in first.errors]
    tickets = next(f for f in first.files if f.kind == "tickets")
    assert (tickets.added, tickets.updated, tickets.unchanged) == (419, 0, 0)
    assert _count() == 419 and _count(TicketEvent) == 419
    refs = set(db.session.scalars(select(Ticket.ref)))
    second = run_import(collect_files([DEMO_DIR]))
    assert second.ok
    tickets = next(f for f in second.files if f.kind == "tickets")
    assert (tickets.added, tickets.updated, tickets.unchanged) == (0, 0, 419)
    assert _count() == 419 and _count(TicketEvent) == 419
    assert set(db.session.scalars(select(Ticket.ref))) == refs


def test_imported_tickets_are_normalised_and_searchable(demo_app):
    ticket = db.session.scalar(select(Ticket).where(Ticket.requester_phone == "0962820561"))
    assert ticket.dossier_code == "000.50.36.H26-230801-0285"
    assert ticket.search_text == "dinh quang long tra cuu trang thai ho so"
    assert ticket.due_date is not None and ticket.opened_month == "2023-08"
    found = db.session.scalars(filtered_tickets({"q": "000.50.36.H26-230801-0285"})).unique()
    assert [t.id for t in found] == [ticket.id]


def test_reimport_into_the_demo_database_changes_nothing(demo_app):
    report = run_import([_tickets_file()])
    assert report.ok
    assert report.files[0].unchanged == 419 and report.files[0].added == 0
    assert _count() == 419


def test_bad_rows_are_listed_and_nothing_is_written(demo_app):
    before, events = _count(), _count(TicketEvent)
    rows = [
        "2023-10-02T08:00:00,phone,citizen,dossier_status,Good Row,0912345678,305,,Ok,closed,,",
        "2023-10-02T08:05:00,phone,citizen,dossier_status,A,0912 345,305,,x,closed,,",
        "2023-10-02T08:10:00,phone,citizen,dossier_status,B,0912345679,305,000.12-1,x,closed,,",
        "2023-10-02T08:15:00,phone,citizen,no_such_category,C,0912345670,305,,x,closed,,",
        "2099-01-01T08:00:00,phone,citizen,dossier_status,D,0912345671,305,,x,closed,,",
        "2023-10-02T08:20:00,phone,citizen,dossier_status,E,0912345672,99999,,x,closed,,",
        "2023-10-02T08:25:00,fax,citizen,dossier_status,F,0912345673,305,,x,closed,,",
        "2023-10-02T08:30:00,phone,agency,dossier_status,G,0912345674,305,,x,closed,,",
        "2023-10-02T08:35:00,phone,citizen,dossier_status,H,0912345675,305,,x,closed,,nobody",
        "2023-10-02T08:00:00,phone,citizen,dossier_status,Dup,0912345678,305,,x,closed,,",
    ]
    content = (HEADER + "\n".join(rows) + "\n").encode()
    report = run_import([("tickets.csv", content)])
    assert not report.ok
    where = {(e.line, e.column) for e in report.errors}
    assert where >= {
        (3, "requester_phone"),
        (4, "dossier_code"),
        (5, "category"),
        (6, "opened_at"),
        (7, "unit_code"),
        (8, "channel"),
        (9, "category"),
        (10, "operator"),
        (11, "opened_at"),
    }
    assert not any(e.line == 2 for e in report.errors)
    messages = {e.line: e.reason for e in report.errors}
    assert "0912 345" in messages[3] and "ở tương lai" in messages[6]
    assert "dòng 2" in messages[11]
    db.session.rollback()
    assert _count() == before and _count(TicketEvent) == events
