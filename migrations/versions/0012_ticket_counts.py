"""ticket counts per month, unit, category, channel, status and audience (and two roll-ups
for the trend), kept by triggers

Revision ID: 0012_ticket_counts
Revises: 0011_service_levels
Create Date: 2026-12-04 06:00:00

The triggers are SQL outside the models (helpdesk/tickets/counts.py says what they keep). They
fire in the transaction of the change to ``tickets``: a rolled-back change leaves the counts as
they were. The tables are filled from the tickets at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_ticket_counts"
down_revision = "0011_service_levels"
branch_labels = None
depends_on = None

# Each kept table: its key columns, and the ticket's expression of each (``{row}``: new or
# old). ticket_counts first: every trigger takes the tables in this order.
TABLES = {
    "ticket_counts": (
        ("month", "{row}.opened_month"),
        ("category_id", "{row}.category_id"),
        ("unit_key", "coalesce({row}.unit_id, 0)"),
        ("channel", "{row}.channel"),
        ("status", "{row}.status"),
        ("audience", "{row}.audience"),
    ),
    "ticket_trend_counts": (
        ("month", "{row}.opened_month"),
        ("audience", "{row}.audience"),
        ("category_id", "{row}.category_id"),
    ),
    "ticket_unit_counts": (
        ("month", "{row}.opened_month"),
        ("unit_key", "coalesce({row}.unit_id, 0)"),
    ),
}
# The ticket columns each table's key is made of (an UPDATE OF them fires its trigger).
SOURCES = {
    "ticket_counts": ("opened_month", "category_id", "unit_id", "channel", "status", "audience"),
    "ticket_trend_counts": ("opened_month", "audience", "category_id"),
    "ticket_unit_counts": ("opened_month", "unit_id"),
}


def _keys(table: str) -> str:
    return ", ".join(name for name, _expr in TABLES[table])


def _values(table: str, row: str) -> str:
    return ", ".join(expr.format(row=row) for _name, expr in TABLES[table])


def _changed(table: str, sqlite: bool) -> str:
    same = "IS NOT" if sqlite else "IS DISTINCT FROM"
    return " OR ".join(f"old.{c} {same} new.{c}" for c in SOURCES[table])


def _sqlite_add(table: str, row: str, delta: int) -> str:
    return (
        f"INSERT INTO {table} ({_keys(table)}, n) VALUES ({_values(table, row)}, {delta}) "
        f"ON CONFLICT ({_keys(table)}) DO UPDATE SET n = n + {delta};"
    )


def _sqlite_up() -> list[str]:
    statements = []
    for table in TABLES:
        short = table.removeprefix("ticket_").removesuffix("_counts")  # counts, trend, unit
        name = "ticket_counts" if short == "counts" else f"ticket_counts_{short}"
        statements += [
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON tickets BEGIN "
            + _sqlite_add(table, "new", 1) + " END",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON tickets BEGIN "
            + _sqlite_add(table, "old", -1) + " END",
            f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(SOURCES[table])} "
            f"ON tickets WHEN {_changed(table, True)} BEGIN "
            + _sqlite_add(table, "old", -1) + " " + _sqlite_add(table, "new", 1) + " END",
        ]  # fmt: skip
    return statements


def _sqlite_down() -> list[str]:
    names = ["ticket_counts", "ticket_counts_trend", "ticket_counts_unit"]
    return [f"DROP TRIGGER IF EXISTS {n}_{op}" for n in names for op in ("insert", "delete", "update")]


def _pg_apply() -> str:
    """One PL/pgSQL trigger for the three tables: on an update, each table whose key changed
    moves one from the old row to the new, the lower key first."""
    parts = []
    for table in TABLES:
        add_new = f"PERFORM ticket_counts_add_{table}({_values(table, 'NEW')}, 1);"
        add_old = f"PERFORM ticket_counts_add_{table}({_values(table, 'OLD')}, -1);"
        parts.append(
            f"IF TG_OP = 'INSERT' THEN {add_new} "
            f"ELSIF TG_OP = 'DELETE' THEN {add_old} "
            f"ELSIF ({_values(table, 'OLD')}) IS DISTINCT FROM ({_values(table, 'NEW')}) THEN "
            f"  IF ({_values(table, 'OLD')}) < ({_values(table, 'NEW')}) THEN {add_old} {add_new} "
            f"  ELSE {add_new} {add_old} END IF; "
            "END IF;"
        )
    return (
        "CREATE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + " ".join(parts)
        + " RETURN NULL; END $$"
    )


PG_TYPES = {"month": "varchar", "category_id": "integer", "unit_key": "integer",
            "channel": "varchar", "status": "varchar", "audience": "varchar"}  # fmt: skip


def _pg_up() -> list[str]:
    statements = []
    for table in TABLES:
        names = [name for name, _expr in TABLES[table]]
        params = ", ".join(f"k_{n} {PG_TYPES[n]}" for n in names)
        statements.append(
            f"CREATE FUNCTION ticket_counts_add_{table}({params}, delta integer) RETURNS void "
            f"LANGUAGE sql AS $$ INSERT INTO {table} ({_keys(table)}, n) "
            f"VALUES ({', '.join('k_' + n for n in names)}, delta) "
            f"ON CONFLICT ({_keys(table)}) DO UPDATE SET n = {table}.n + EXCLUDED.n $$"
        )
    columns = sorted({c for cols in SOURCES.values() for c in cols})
    statements += [
        _pg_apply(),
        "CREATE TRIGGER ticket_counts_maintain AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(columns)} ON tickets FOR EACH ROW EXECUTE FUNCTION ticket_counts_apply()",
        "CREATE FUNCTION ticket_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + " ".join(f"DELETE FROM {table};" for table in TABLES)
        + " RETURN NULL; END $$",
        "CREATE TRIGGER ticket_counts_truncate AFTER TRUNCATE ON tickets "
        "FOR EACH STATEMENT EXECUTE FUNCTION ticket_counts_clear()",
    ]
    return statements


def _pg_down() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS ticket_counts_truncate ON tickets",
        "DROP FUNCTION IF EXISTS ticket_counts_clear()",
        "DROP TRIGGER IF EXISTS ticket_counts_maintain ON tickets",
        "DROP FUNCTION IF EXISTS ticket_counts_apply()",
    ]
    for table in TABLES:
        types = ", ".join(PG_TYPES[name] for name, _expr in TABLES[table])
        statements.append(f"DROP FUNCTION IF EXISTS ticket_counts_add_{table}({types}, integer)")
    return statements


def _fill(table: str) -> str:
    expressions = [expr.format(row="tickets") for _name, expr in TABLES[table]]
    return (
        f"INSERT INTO {table} ({_keys(table)}, n) SELECT {', '.join(expressions)}, count(*) "
        f"FROM tickets GROUP BY {', '.join(expressions)}"
    )


def upgrade():
    key = sa.PrimaryKeyConstraint
    op.create_table(
        'ticket_counts',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('unit_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        key('month', 'category_id', 'unit_key', 'channel', 'status', 'audience',
            name=op.f('pk_ticket_counts')),
    )  # fmt: skip
    op.create_table(
        'ticket_trend_counts',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        key('month', 'audience', 'category_id', name=op.f('pk_ticket_trend_counts')),
    )
    op.create_table(
        'ticket_unit_counts',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('unit_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        key('month', 'unit_key', name=op.f('pk_ticket_unit_counts')),
    )
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        # Writers wait while the tables are filled, so no change falls between fill and trigger.
        op.execute("LOCK TABLE tickets IN SHARE ROW EXCLUSIVE MODE")
    for statement in {'sqlite': _sqlite_up, 'postgresql': _pg_up}.get(dialect, list)():
        op.execute(statement)
    for table in TABLES:
        op.execute(_fill(table))


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': _sqlite_down, 'postgresql': _pg_down}.get(dialect, list)():
        op.execute(statement)
    op.drop_table('ticket_unit_counts')
    op.drop_table('ticket_trend_counts')
    op.drop_table('ticket_counts')
