"""ticket counts per month, unit, category, channel, status and audience, kept by triggers

Revision ID: 0012_ticket_counts
Revises: 0011_service_levels
Create Date: 2026-12-04 06:00:00

The triggers are SQL outside the models (helpdesk/tickets/counts.py says what they keep). They
fire in the transaction of the change to ``tickets``: a rolled-back change leaves the counts as
they were. The table is filled from the tickets at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_ticket_counts"
down_revision = "0011_service_levels"
branch_labels = None
depends_on = None

KEY = "month, category_id, unit_key, channel, status, audience"


def _values(row: str) -> str:
    return (
        f"{row}.opened_month, {row}.category_id, coalesce({row}.unit_id, 0), "
        f"{row}.channel, {row}.status, {row}.audience"
    )


def _changed(old: str = "old", new: str = "new") -> str:
    # IS NOT: null-safe on SQLite (unit_id may be null); PostgreSQL says IS DISTINCT FROM.
    columns = ("opened_month", "category_id", "unit_id", "channel", "status", "audience")
    return " OR ".join(f"{old}.{c} IS NOT {new}.{c}" for c in columns)


def _sqlite_add(row: str, delta: int) -> str:
    return (
        f"INSERT INTO ticket_counts ({KEY}, n) VALUES ({_values(row)}, {delta}) "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + {delta};"
    )


SQLITE_UP = [
    "CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets BEGIN "
    + _sqlite_add("new", 1)
    + " END",
    "CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets BEGIN "
    + _sqlite_add("old", -1)
    + " END",
    "CREATE TRIGGER ticket_counts_update AFTER UPDATE OF "
    "opened_month, category_id, unit_id, channel, status, audience ON tickets "
    f"WHEN {_changed()} BEGIN " + _sqlite_add("old", -1) + " " + _sqlite_add("new", 1) + " END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ticket_counts_update",
    "DROP TRIGGER IF EXISTS ticket_counts_delete",
    "DROP TRIGGER IF EXISTS ticket_counts_insert",
]

PG_UP = [
    # One upsert per side. An update takes its two rows in key order, so two tickets moving
    # in opposite directions at once wait for each other instead of deadlocking.
    "CREATE FUNCTION ticket_counts_add(m varchar, c integer, u integer, ch varchar, "
    "st varchar, a varchar, delta integer) RETURNS void LANGUAGE sql AS $$ "
    f"INSERT INTO ticket_counts ({KEY}, n) VALUES (m, c, u, ch, st, a, delta) "
    f"ON CONFLICT ({KEY}) DO UPDATE SET n = ticket_counts.n + EXCLUDED.n $$",
    "CREATE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN "
    f"  PERFORM ticket_counts_add({_values('NEW')}, 1); "
    "ELSIF TG_OP = 'DELETE' THEN "
    f"  PERFORM ticket_counts_add({_values('OLD')}, -1); "
    f"ELSIF ({_values('OLD')}) IS DISTINCT FROM ({_values('NEW')}) THEN "
    f"  IF ({_values('OLD')}) < ({_values('NEW')}) THEN "
    f"    PERFORM ticket_counts_add({_values('OLD')}, -1); "
    f"    PERFORM ticket_counts_add({_values('NEW')}, 1); "
    "  ELSE "
    f"    PERFORM ticket_counts_add({_values('NEW')}, 1); "
    f"    PERFORM ticket_counts_add({_values('OLD')}, -1); "
    "  END IF; "
    "END IF; RETURN NULL; END $$",
    "CREATE TRIGGER ticket_counts_maintain AFTER INSERT OR DELETE OR UPDATE OF "
    "opened_month, category_id, unit_id, channel, status, audience ON tickets "
    "FOR EACH ROW EXECUTE FUNCTION ticket_counts_apply()",
    "CREATE FUNCTION ticket_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM ticket_counts; RETURN NULL; END $$",
    "CREATE TRIGGER ticket_counts_truncate AFTER TRUNCATE ON tickets "
    "FOR EACH STATEMENT EXECUTE FUNCTION ticket_counts_clear()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS ticket_counts_truncate ON tickets",
    "DROP FUNCTION IF EXISTS ticket_counts_clear()",
    "DROP TRIGGER IF EXISTS ticket_counts_maintain ON tickets",
    "DROP FUNCTION IF EXISTS ticket_counts_apply()",
    "DROP FUNCTION IF EXISTS ticket_counts_add(varchar, integer, integer, varchar, varchar, "
    "varchar, integer)",
]

FILL = (
    f"INSERT INTO ticket_counts ({KEY}, n) "
    "SELECT opened_month, category_id, coalesce(unit_id, 0), channel, status, audience, "
    "count(*) FROM tickets "
    "GROUP BY opened_month, category_id, coalesce(unit_id, 0), channel, status, audience"
)


def upgrade():
    op.create_table(
        "ticket_counts",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("category_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "category_id",
            "unit_key",
            "channel",
            "status",
            "audience",
            name=op.f("pk_ticket_counts"),
        ),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Writers wait while the table is filled, so no change falls between fill and trigger.
        op.execute("LOCK TABLE tickets IN SHARE ROW EXCLUSIVE MODE")
    for statement in {"sqlite": SQLITE_UP, "postgresql": PG_UP}.get(dialect, []):
        op.execute(statement)
    op.execute(FILL)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}.get(dialect, []):
        op.execute(statement)
    op.drop_table("ticket_counts")
