"""Migrations keep the data: down to the first revision and back up on a populated database."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from helpdesk.extensions import db

TABLES = ("tickets", "ticket_events", "units", "unit_stats", "audit_log")


def _counts() -> dict[str, int]:
    return {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608


def test_downgrade_and_upgrade_keep_every_row(demo_app):
    before = _counts()
    assert before["ticket_events"] > 0
    db.session.remove()
    downgrade(revision="0001")
    upgrade()
    db.session.remove()
    assert _counts() == before


def test_upgrading_to_unit_lifetimes_leaves_units_open_ended(demo_app):
    """An existing database (before 0005) upgrades with open-ended lifetimes, nothing else."""
    columns = "id, code, level, kind, name, parent_id, position, active"
    query = sa.text(f"SELECT {columns} FROM units ORDER BY id")  # noqa: S608
    before = db.session.execute(query).all()
    db.session.remove()
    downgrade(revision="0004_tickets_words")
    upgrade()
    db.session.remove()
    assert db.session.execute(query).all() == before
    lifetimes = sa.text(
        "SELECT count(*) FROM units WHERE valid_from IS NOT NULL OR valid_to IS NOT NULL"
    )
    assert db.session.scalar(lifetimes) == 0
    assert db.session.scalar(sa.text("SELECT count(*) FROM unit_successors")) == 0
    assert _counts()["units"] == len(before)


def test_the_service_levels_migration_keeps_tickets_their_events_and_word_search(demo_app):
    """0011 rebuilds `tickets` on SQLite (a CHECK cannot be altered there): every row, every
    timeline entry and the word index's triggers survive; old tickets get a due time."""
    from helpdesk.tickets.queries import TicketFilter, filtered_tickets

    before = _counts()
    search = select_count = sa.select(sa.func.count()).select_from(
        filtered_tickets(TicketFilter(q="khai sinh")).subquery()
    )
    found = db.session.scalar(search)
    assert found > 0
    db.session.remove()
    downgrade(revision="0010_answers_satisfaction")
    upgrade()
    db.session.remove()
    assert _counts() == before
    assert db.session.scalar(select_count) == found
    missing = sa.text("SELECT count(*) FROM tickets WHERE due_date IS NOT NULL AND due_at IS NULL")
    assert db.session.scalar(missing) == 0
    # The new status is accepted, and a new ticket is found by its words (triggers in place).
    first = db.session.scalar(sa.text("SELECT min(id) FROM tickets"))
    db.session.execute(
        sa.text("UPDATE tickets SET status = 'waiting', summary = 'xyzzy kiểm thử', "
                "search_text = 'xyzzy kiem thu' WHERE id = :id"),
        {"id": first},
    )  # fmt: skip
    db.session.commit()
    words = sa.select(sa.func.count()).select_from(
        filtered_tickets(TicketFilter(q="xyzzy")).subquery()
    )
    assert db.session.scalar(words) == 1


def test_the_service_levels_migration_runs_again_after_a_half_done_attempt(demo_app):
    """SQLite keeps each DDL statement as it runs: an attempt that stopped half way (columns
    added, the new table created) must not stop the next one."""
    before = _counts()
    db.session.remove()
    downgrade(revision="0010_answers_satisfaction")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tickets ADD COLUMN due_at TIMESTAMP")
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("CREATE TABLE tickets_rebuilt (id INTEGER)")
    upgrade()
    db.session.remove()
    assert _counts() == before
    assert "tickets_rebuilt" not in sa.inspect(db.engine).get_table_names()
