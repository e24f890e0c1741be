"""service levels: due times in working time, waiting status, unit staff, e-mail outbox

Revision ID: 0011_service_levels
Revises: 0010_answers_satisfaction
Create Date: 2026-12-04 04:00:00

Adding "waiting" to the tickets' status CHECK: PostgreSQL swaps the constraint; SQLite cannot
alter a CHECK, so the table is rebuilt by SQLite's own recipe (create the new table from the
old one's SQL, copy, drop, rename) and its indexes and the word-index triggers of 0004 are
re-created from the SQL they were stored with. migrations/env.py turns foreign keys off
around migrations, so dropping the old table does not cascade to ticket_events.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_service_levels"
down_revision = "0010_answers_satisfaction"
branch_labels = None
depends_on = None

OLD_STATUSES = "'open', 'in_progress', 'forwarded', 'resolved', 'closed'"
NEW_STATUSES = "'open', 'in_progress', 'waiting', 'forwarded', 'resolved', 'closed'"
DASHBOARD = [  # ix_tickets_month_dashboard as 0010 made it
    "opened_month",
    "status",
    "channel",
    "operator_id",
    "unit_id",
    "category_id",
    "opened_at",
    "resolved_at",
    "due_date",
    "satisfaction",
]
TICKET_COLUMNS = [
    sa.Column("due_at", sa.DateTime(), nullable=True),
    sa.Column("response_due_at", sa.DateTime(), nullable=True),
    sa.Column("responded_at", sa.DateTime(), nullable=True),
    sa.Column("paused_at", sa.DateTime(), nullable=True),
    sa.Column("paused_minutes", sa.Integer(), server_default="0", nullable=False),
    sa.Column("promised_at", sa.DateTime(), nullable=True),
    sa.Column("progress_note", sa.Text(), nullable=True),
    sa.Column("forwarded_at", sa.DateTime(), nullable=True),
    sa.Column("unit_due_at", sa.DateTime(), nullable=True),
]


def _sqlite_swap_status_check(old: str, new: str) -> None:
    conn = op.get_bind()
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tickets'"
    ).scalar_one()
    if table_sql.count(old) != 1:
        raise RuntimeError("tickets: the status CHECK is not the one this migration expects")
    others = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'tickets' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
        )
    ]
    conn.exec_driver_sql("DROP TABLE IF EXISTS tickets_rebuilt")  # an earlier attempt's
    head, rest = table_sql.split("(", 1)
    if head.strip().strip('"').split()[-1].strip('"') != "tickets":
        raise RuntimeError(f"tickets: unexpected table SQL {head!r}")
    conn.exec_driver_sql("CREATE TABLE tickets_rebuilt (" + rest.replace(old, new))
    conn.exec_driver_sql("INSERT INTO tickets_rebuilt SELECT * FROM tickets")
    conn.exec_driver_sql("DROP TABLE tickets")
    conn.exec_driver_sql("ALTER TABLE tickets_rebuilt RENAME TO tickets")
    for statement in others:  # indexes first, then the word-index triggers
        conn.exec_driver_sql(statement)


def _swap_status_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_swap_status_check(old, new)
    else:
        op.drop_constraint(op.f("ck_tickets_status"), "tickets", type_="check")
        op.create_check_constraint(op.f("ck_tickets_status"), "tickets", f"status IN ({new})")


def _check_sqlite_table() -> None:
    """Before anything is written (SQLite commits each DDL statement at once): the table is
    the one this migration knows how to rebuild."""
    table_sql = (
        op.get_bind()
        .exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tickets'")
        .scalar_one()
    )
    if table_sql.count(OLD_STATUSES) != 1:
        raise RuntimeError("tickets: the status CHECK is not the one this migration expects")


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _check_sqlite_table()
    # Plain ADD COLUMNs (no batch copy); the rebuild below carries them over. A column already
    # there is an earlier attempt's (SQLite keeps each DDL statement): it is kept, not re-added.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("tickets")}
    for column in TICKET_COLUMNS:
        if column.name not in present:
            op.add_column("tickets", column)
    _swap_status_check(OLD_STATUSES, NEW_STATUSES)
    # Tickets from before: due at the end of the working day of their due date (17:00 with the
    # default working hours; a new due time is worked out whenever the ticket's date or
    # category changes).
    op.execute(
        "UPDATE tickets SET due_at = datetime(due_date || ' 17:00:00') WHERE due_date IS NOT NULL"
        if sqlite
        else "UPDATE tickets SET due_at = due_date + time '17:00' WHERE due_date IS NOT NULL"
    )
    op.create_index("ix_tickets_due_at", "tickets", ["due_at"])
    # The dashboard's covering index gains the due time (on-time rates, index-only as before).
    op.drop_index("ix_tickets_month_dashboard", table_name="tickets")
    op.create_index(
        "ix_tickets_month_dashboard",
        "tickets",
        DASHBOARD + ["due_at", "paused_at", "forwarded_unit_id", "merged_into_id"],
    )

    op.add_column("categories", sa.Column("response_minutes", sa.Integer(), nullable=True))
    # 0 days meant "the same day" in whole days; in working time it cannot be met.
    op.execute("UPDATE categories SET due_days = 1 WHERE due_days < 1")
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "users", sa.Column("mail_off", sa.String(length=200), server_default="", nullable=False)
    )
    op.create_table(
        "user_units",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_user_units_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_units_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "unit_id", name=op.f("pk_user_units")),
    )
    op.create_index(op.f("ix_user_units_unit_id"), "user_units", ["unit_id"])
    op.create_table(
        "calendar_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('off', 'work')", name=op.f("ck_calendar_changes_kind")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_calendar_changes_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_changes")),
    )
    op.create_index(op.f("ix_calendar_changes_start_date"), "calendar_changes", ["start_date"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_mail_outbox_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_outbox_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_outbox_dedupe_key")),
    )
    op.create_index(
        "ix_mail_outbox_pending", "mail_outbox", ["sent_at", "failed_at", "next_try_at"]
    )


def downgrade():
    op.drop_index("ix_mail_outbox_pending", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index(op.f("ix_calendar_changes_start_date"), table_name="calendar_changes")
    op.drop_table("calendar_changes")
    op.drop_index(op.f("ix_user_units_unit_id"), table_name="user_units")
    op.drop_table("user_units")
    op.execute("UPDATE users SET role = 'operator' WHERE role = 'unit_staff'")
    op.execute("ALTER TABLE users DROP COLUMN mail_off")
    op.execute("ALTER TABLE users DROP COLUMN email")
    op.execute("ALTER TABLE categories DROP COLUMN response_minutes")
    op.drop_index("ix_tickets_month_dashboard", table_name="tickets")
    op.create_index("ix_tickets_month_dashboard", "tickets", DASHBOARD)
    op.drop_index("ix_tickets_due_at", table_name="tickets")
    op.execute("UPDATE tickets SET status = 'in_progress' WHERE status = 'waiting'")
    _swap_status_check(NEW_STATUSES, OLD_STATUSES)
    for column in reversed(TICKET_COLUMNS):
        op.execute(f"ALTER TABLE tickets DROP COLUMN {column.name}")
