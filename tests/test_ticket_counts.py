"""The ticket counts the database keeps (tickets.counts, migration 0012) always equal a fresh
count: after random creates, edits, bulk updates, deletes, merges and rolled-back changes, on
SQLite and PostgreSQL alike; and the commands that check and rebuild them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update

from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets.counts import (
    TicketCount,
    TicketTrendCount,
    TicketUnitCount,
    differences,
    rebuild,
)
from helpdesk.tickets.models import Category, Ticket
from helpdesk.units.models import Unit

CHANNELS = ["phone", "zalo", "email", "walk_in", "web", "other"]
STATUSES = ["open", "in_progress", "waiting", "forwarded", "resolved", "closed"]
MONTHS = ["2023-08", "2023-09", "2025-08"]

# One operation on the tickets: (kind, a pick of ticket, a pick of value, another pick).
operation = st.tuples(
    st.sampled_from(
        ["create", "create_service", "status", "channel", "unit", "no_unit", "category",
         "month", "bulk_status", "bulk_unit", "delete", "merge", "noop_edit", "resolve",
         "unresolve", "due", "satisfaction", "operator", "forward", "bulk_resolve"]
    ),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)  # fmt: skip


def _kept_total(model=TicketCount) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(model.n), 0))))


def _pick(seq, i):
    return seq[i % len(seq)]


def _apply(kind: str, a: int, b: int, c: int, ids: list[int], units, categories, operators=(1,)):
    from helpdesk.tickets.services import TicketValues, create_ticket

    if kind == "create":
        category = _pick(categories, b)
        month = _pick(MONTHS, c)
        opened = datetime.fromisoformat(f"{month}-15 09:00") + timedelta(minutes=a)
        unit = None if a % 5 == 0 else _pick(units, a)
        db.session.add(
            Ticket(
                ref=f"HT-T{len(ids):05d}-{a}-{b}",
                opened_at=opened,
                opened_month=month,
                channel=_pick(CHANNELS, b),
                audience=category.audience,
                category_id=category.id,
                unit_id=unit.id if unit else None,
                status=_pick(STATUSES, c),
                summary="Kiểm tra số đếm",
            )
        )
        db.session.flush()
        return
    if kind == "create_service":
        values = TicketValues(
            category=_pick(categories, b),
            channel=_pick(CHANNELS, c),
            unit=None if b % 4 == 0 else _pick(units, c),
            requester_phone="0901234567",
        )
        create_ticket(values, None, close=a % 2 == 0, now=datetime(2025, 8, 20, 9, 0))
        return
    if not ids:
        return
    ticket = db.session.get(Ticket, _pick(ids, a))
    if ticket is None:
        return
    if kind == "status":
        ticket.status = _pick(STATUSES, b)
    elif kind == "channel":
        ticket.channel = _pick(CHANNELS, b)
    elif kind == "unit":
        ticket.unit_id = _pick(units, b).id
    elif kind == "no_unit":
        ticket.unit_id = None
    elif kind == "category":
        category = _pick(categories, b)
        ticket.category_id = category.id
        ticket.audience = category.audience
    elif kind == "month":
        month = _pick(MONTHS, b)
        ticket.opened_month = month
        ticket.opened_at = datetime.fromisoformat(f"{month}-10 10:00")
    elif kind == "resolve":
        # Within the hour, the day, the month or over a year: every histogram bucket.
        minutes = [b % 60, 60 + b % 1380, 1440 + b * 7, 600_000 + b][c % 4]
        ticket.status = "resolved" if c % 2 else "closed"
        ticket.resolved_at = ticket.opened_at + timedelta(minutes=minutes)
    elif kind == "unresolve":
        ticket.status = "open"
        ticket.resolved_at = None if b % 3 else ticket.resolved_at  # reopened, kept or not
    elif kind == "due":
        ticket.due_at = None if b % 5 == 0 else ticket.opened_at + timedelta(hours=b % 100)
    elif kind == "satisfaction":
        ticket.satisfaction = [None, "satisfied", "neutral", "unsatisfied"][b % 4]
    elif kind == "operator":
        ticket.operator_id = None if b % 3 == 0 else _pick(operators, b)
    elif kind == "forward":
        ticket.forwarded_unit_id = None if b % 4 == 0 else _pick(units, b).id
    elif kind == "bulk_resolve":
        db.session.execute(
            update(Ticket)
            .where(Ticket.id % 6 == b % 6)
            .values(status="closed", resolved_at=Ticket.opened_at)
            .execution_options(synchronize_session=False)
        )
    elif kind == "noop_edit":
        ticket.summary = f"Sửa nội dung {b}"  # no counted column: nothing moves
    elif kind == "bulk_status":
        # A Core UPDATE of many rows at once, as retention's bulk update does.
        db.session.execute(
            update(Ticket)
            .where(Ticket.id % 7 == b % 7)
            .values(status=_pick(STATUSES, c))
            .execution_options(synchronize_session=False)
        )
    elif kind == "bulk_unit":
        db.session.execute(
            update(Ticket)
            .where(Ticket.id % 5 == b % 5)
            .values(unit_id=None if c % 3 == 0 else _pick(units, c).id)
            .execution_options(synchronize_session=False)
        )
    elif kind == "delete":
        db.session.execute(delete(Ticket).where(Ticket.id == ticket.id, ~_has_events(ticket.id)))
    elif kind == "merge":
        into = db.session.get(Ticket, _pick(ids, b))
        if into is not None and into.id != ticket.id:
            ticket.merged_status = ticket.status
            ticket.status = "closed"
            ticket.merged_into_id = into.id
    db.session.flush()


def _has_events(ticket_id: int):
    from helpdesk.tickets.models import TicketEvent

    return select(TicketEvent.id).where(TicketEvent.ticket_id == ticket_id).exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(st.tuples(operation, st.booleans()), min_size=1, max_size=12),
)
def test_kept_counts_equal_a_fresh_count_after_random_changes(demo_app, steps):
    units = list(db.session.scalars(select(Unit).order_by(Unit.id).limit(40)))
    categories = list(db.session.scalars(select(Category).order_by(Category.id)))
    operators = list(db.session.scalars(select(User.id).order_by(User.id)))
    for (kind, a, b, c), commit in steps:
        ids = list(db.session.scalars(select(Ticket.id).order_by(Ticket.id)))
        before = _kept_total()
        _apply(kind, a, b, c, ids, units, categories, operators)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
            assert _kept_total() == before  # a rolled-back change moved no count
        db.session.expire_all()
        assert differences() == [], (kind, commit)
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    assert [_kept_total(m) for m in (TicketCount, TicketTrendCount, TicketUnitCount)] == [
        tickets
    ] * 3


@pytest.mark.parametrize("model", [TicketCount, TicketTrendCount, TicketUnitCount])
def test_the_demo_data_is_counted_from_the_start(demo_app, model):
    assert differences() == []
    kept = db.session.execute(select(model.month, func.sum(model.n)).group_by(model.month)).all()
    fresh = db.session.execute(
        select(Ticket.opened_month, func.count()).group_by(Ticket.opened_month)
    ).all()
    assert sorted((m, int(n)) for m, n in kept) == sorted(fresh)
    assert dict(fresh)["2023-09"] > 0


def test_a_ticket_without_a_unit_is_counted_under_unit_key_zero(demo_app):
    ticket = db.session.scalar(select(Ticket).where(Ticket.unit_id.is_not(None)).limit(1))
    key = dict(month=ticket.opened_month, category_id=ticket.category_id, channel=ticket.channel,
               status=ticket.status, audience=ticket.audience)  # fmt: skip

    def kept(unit_key):
        return db.session.scalar(
            select(func.coalesce(func.sum(TicketCount.n), 0)).filter_by(unit_key=unit_key, **key)
        )

    none_before, unit_before = kept(0), kept(ticket.unit_id)
    unit_id = ticket.unit_id
    ticket.unit_id = None
    db.session.commit()
    assert (kept(0), kept(unit_id)) == (none_before + 1, unit_before - 1)


def test_check_and_rebuild_commands(demo_app):
    runner = demo_app.test_cli_runner()
    assert runner.invoke(args=["counts", "check"]).exit_code == 0
    # A hand-made change that bypasses the triggers (or a restore of an old table) is found...
    db.session.execute(text("UPDATE ticket_counts SET n = n + 3 WHERE month = '2023-09'"))
    first = "SELECT min(unit_key) FROM ticket_unit_counts WHERE month = '2023-08'"
    db.session.execute(
        text(f"DELETE FROM ticket_unit_counts WHERE month = '2023-08' AND unit_key = ({first})")
    )
    db.session.commit()
    result = runner.invoke(args=["counts", "check"])
    assert result.exit_code == 1
    assert "ticket_counts: 2023-09" in result.output and "counted" in result.output
    assert "row(s) differ" in result.output
    assert [d.table for d in differences()].count("ticket_unit_counts") == 1
    # ...and mended.
    result = runner.invoke(args=["counts", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert runner.invoke(args=["counts", "check"]).exit_code == 0
    assert differences() == []


def test_rebuild_drops_the_emptied_rows(demo_app):
    ticket = db.session.scalar(select(Ticket).limit(1))
    ticket.channel = "other" if ticket.channel != "other" else "web"
    db.session.commit()
    rebuild()
    db.session.commit()
    for model in (TicketCount, TicketTrendCount, TicketUnitCount):
        assert not db.session.scalar(select(func.count()).select_from(model).where(model.n == 0))
    assert differences() == []


def test_rebuild_writes_each_table_in_key_order(demo_app):
    """A month's rows lie together on disk after a rebuild (the dashboard reads a period's
    rows of each table): the physical order (PostgreSQL's ctid, SQLite's rowid) is key order."""
    from helpdesk.tickets.counts import KEPT

    rebuild()
    db.session.commit()
    physical = "ctid" if db.engine.dialect.name == "postgresql" else "rowid"
    for kept in KEPT:
        table = kept.model.__table__
        keys = ", ".join(c.name for c in table.primary_key.columns)
        rows = db.session.execute(text(f"SELECT {keys} FROM {table.name} ORDER BY {physical}"))
        rows = [tuple(r) for r in rows]
        assert len(rows) > 1 and rows == sorted(rows), table.name


@pytest.mark.parametrize("by", ["channel", "status", "audience", "category", "unit"])
def test_the_api_counts_read_the_kept_counts_and_agree_with_the_tickets(demo_app, by):
    """The API's counts for a kept dimension come from ticket_counts (one row per
    combination), and equal the tickets counted one by one."""
    from sqlalchemy import event

    from helpdesk.api.counts import _rows
    from helpdesk.auth.models import User
    from helpdesk.tickets.queries import TicketFilter, ticket_conditions

    supervisor = db.session.scalar(select(User).where(User.role == "supervisor").limit(1))
    statements = []

    def capture(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(statement)

    where = ticket_conditions(TicketFilter(month="2023-09"))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        rows = _rows(by, "2023-09", where, supervisor)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert any("FROM ticket_counts" in s for s in statements)
    assert not any("FROM tickets" in s for s in statements)
    assert sum(r["count"] for r in rows) == db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.opened_month == "2023-09")
    )
