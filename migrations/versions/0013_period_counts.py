"""kept counts for the dashboard's period figures (dimensions, unit x category, resolution
minutes, on-time), kept by triggers; a partial index over the unresolved tickets

Revision ID: 0013_period_counts
Revises: 0012_ticket_counts
Create Date: 2026-12-04 06:30:00

Four more tables kept by triggers on ``tickets`` in the ticket's own transaction, as 0012's
(helpdesk/tickets/counts.py says what each holds). Each row of a table adds up the tickets of
its key that meet its condition; an insert adds the ticket's share, a delete takes it away, an
update takes the old share away and adds the new one (on PostgreSQL table by table, the lower
key first). What depends on the current time (late, overdue) is counted live, over the
unresolved tickets only, which the partial index ``ix_tickets_unresolved_month`` holds.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_period_counts"
down_revision = "0012_ticket_counts"
branch_labels = None
depends_on = None

UNRESOLVED = "('open', 'in_progress', 'waiting', 'forwarded')"

# Minutes from opening to resolution, as helpdesk/dashboard/queries.py computed them.
MINUTES = {
    "sqlite": "CAST(CAST((julianday({r}.resolved_at) - julianday({r}.opened_at)) * 86400 + 0.5 "
    "AS INTEGER) / 60 AS INTEGER)",
    "postgresql": "CAST(floor(date_part('epoch', {r}.resolved_at - {r}.opened_at) / 60) "
    "AS INTEGER)",
}
OVERFLOW = 525600  # a year or more: one row

ON_TIME = [
    ("on_time", "CASE WHEN {r}.resolved_at <= {r}.due_at THEN 1 ELSE 0 END"),
    ("late", "CASE WHEN {r}.resolved_at > {r}.due_at THEN 1 ELSE 0 END"),
]
RESOLVED_ON_TIME = (
    "{r}.merged_into_id IS NULL AND {r}.due_at IS NOT NULL AND {r}.resolved_at IS NOT NULL"
)
ON_TIME_SOURCES = ("opened_month", "merged_into_id", "due_at", "resolved_at")

# table: (keys [(column, expression, PostgreSQL type)], values [(column, expression)],
#         condition for a ticket to be counted (None: every ticket), ticket columns read)
TABLES = {
    "ticket_dimension_counts": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("channel", "{r}.channel", "varchar"),
            ("status", "{r}.status", "varchar"),
            ("operator_key", "coalesce({r}.operator_id, 0)", "integer"),
            ("satisfaction_key", "coalesce({r}.satisfaction, '')", "varchar"),
        ],
        [
            ("n", "1"),
            ("same_day", "CASE WHEN {r}.resolved_at IS NOT NULL AND date({r}.resolved_at) = "
             "date({r}.opened_at) THEN 1 ELSE 0 END"),
        ],
        None,
        ("opened_month", "channel", "status", "operator_id", "satisfaction", "resolved_at",
         "opened_at"),
    ),
    "ticket_unit_category_counts": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("unit_key", "coalesce({r}.unit_id, 0)", "integer"),
            ("category_id", "{r}.category_id", "integer"),
            ("satisfaction_key", "coalesce({r}.satisfaction, '')", "varchar"),
        ],
        [("n", "1")],
        None,
        ("opened_month", "unit_id", "category_id", "satisfaction"),
    ),
    "ticket_minute_counts": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("minutes", f"min(max({{minutes}}, -{OVERFLOW}), {OVERFLOW})", "integer"),
        ],
        [("n", "1")],
        "{r}.status IN ('resolved', 'closed') AND {r}.resolved_at IS NOT NULL",
        ("opened_month", "status", "resolved_at", "opened_at"),
    ),
    # On-time counts by category, by unit (the unit forwarded to, else the unit concerned)
    # and by operator: what the dashboard breaks them down by, one table each.
    "ticket_on_time_categories": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("category_id", "{r}.category_id", "integer"),
        ],
        ON_TIME,
        RESOLVED_ON_TIME,
        ("category_id", *ON_TIME_SOURCES),
    ),
    "ticket_on_time_units": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("unit_key", "coalesce({r}.forwarded_unit_id, {r}.unit_id, 0)", "integer"),
        ],
        ON_TIME,
        RESOLVED_ON_TIME,
        ("forwarded_unit_id", "unit_id", *ON_TIME_SOURCES),
    ),
    "ticket_on_time_operators": (
        [
            ("month", "{r}.opened_month", "varchar"),
            ("operator_key", "coalesce({r}.operator_id, 0)", "integer"),
        ],
        ON_TIME,
        RESOLVED_ON_TIME,
        ("operator_id", *ON_TIME_SOURCES),
    ),
}  # fmt: skip

# The live part: unresolved tickets of a period (overdue, open in time or late).
UNRESOLVED_INDEX = (
    "opened_month", "status", "category_id", "unit_id", "forwarded_unit_id", "operator_id",
    "due_at", "paused_at", "resolved_at", "merged_into_id",
)  # fmt: skip


def _expr(template: str, row: str, dialect: str) -> str:
    minutes = MINUTES[dialect].format(r=row)
    text = template.replace("{minutes}", minutes).format(r=row)
    if dialect == "postgresql":  # min/max of two values
        text = text.replace("min(max(", "least(greatest(")
    return text


def _keys(table: str) -> list[str]:
    return [name for name, _e, _t in TABLES[table][0]]


def _values(table: str) -> list[str]:
    return [name for name, _e in TABLES[table][1]]


def _row(table: str, row: str, dialect: str, sign: int) -> list[str]:
    keys, values, _when, _sources = TABLES[table]
    parts = [_expr(e, row, dialect) for _n, e, _t in keys]
    parts += [f"{'-' if sign < 0 else ''}({_expr(e, row, dialect)})" for _n, e in values]
    return parts


def _upsert_set(table: str, dialect: str) -> str:
    prefix = f"{table}." if dialect == "postgresql" else ""
    return ", ".join(f"{v} = {prefix}{v} + excluded.{v}" for v in _values(table))


def _sqlite_add(table: str, row: str, sign: int) -> str:
    _keys_, _values_, when, _sources = TABLES[table]
    condition = _expr(when, row, "sqlite") if when else "1"
    columns = ", ".join(_keys(table) + _values(table))
    return (
        f"INSERT INTO {table} ({columns}) SELECT {', '.join(_row(table, row, 'sqlite', sign))} "
        f"WHERE {condition} ON CONFLICT ({', '.join(_keys(table))}) "
        f"DO UPDATE SET {_upsert_set(table, 'sqlite')};"
    )


def _trigger_name(table: str) -> str:
    return "ticket_counts_" + table.removeprefix("ticket_").removesuffix("_counts")


def _sqlite_up() -> list[str]:
    statements = []
    for table, (_k, _v, _w, sources) in TABLES.items():
        name = _trigger_name(table)
        changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in sources)
        statements += [
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON tickets BEGIN "
            f"{_sqlite_add(table, 'new', 1)} END",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON tickets BEGIN "
            f"{_sqlite_add(table, 'old', -1)} END",
            f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(sources)} ON tickets "
            f"WHEN {changed} BEGIN {_sqlite_add(table, 'old', -1)} "
            f"{_sqlite_add(table, 'new', 1)} END",
        ]
    return statements


def _sqlite_down() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {_trigger_name(table)}_{event}"
        for table in TABLES
        for event in ("insert", "delete", "update")
    ]


def _pg_up() -> list[str]:
    statements = []
    for table, (keys, values, _when, _sources) in TABLES.items():
        params = [f"k_{n} {t}" for n, _e, t in keys] + [f"d_{n} integer" for n, _e in values]
        columns = ", ".join(_keys(table) + _values(table))
        arguments = ", ".join([f"k_{n}" for n, _e, _t in keys] + [f"d_{n}" for n, _e in values])
        statements.append(
            f"CREATE FUNCTION ticket_counts_add_{table}({', '.join(params)}) RETURNS void "
            f"LANGUAGE sql AS $$ INSERT INTO {table} ({columns}) VALUES ({arguments}) "
            f"ON CONFLICT ({', '.join(_keys(table))}) DO UPDATE SET "
            f"{_upsert_set(table, 'postgresql')} $$"
        )
    parts = []
    for table, (keys, _values_, when, _sources) in TABLES.items():

        def call(row: str, sign: int, table=table) -> str:
            return f"PERFORM ticket_counts_add_{table}({', '.join(_row(table, row, 'postgresql', sign))});"  # noqa: E501

        def counted(row: str, when=when) -> str:
            return f"({_expr(when, row, 'postgresql')})" if when else "true"

        old_key = ", ".join(_expr(e, "OLD", "postgresql") for _n, e, _t in keys)
        new_key = ", ".join(_expr(e, "NEW", "postgresql") for _n, e, _t in keys)
        everything_old = ", ".join(_row(table, "OLD", "postgresql", 1))
        everything_new = ", ".join(_row(table, "NEW", "postgresql", 1))
        parts.append(
            f"IF TG_OP = 'INSERT' THEN IF {counted('NEW')} THEN {call('NEW', 1)} END IF; "
            f"ELSIF TG_OP = 'DELETE' THEN IF {counted('OLD')} THEN {call('OLD', -1)} END IF; "
            f"ELSIF ({counted('OLD')}, {everything_old}) IS DISTINCT FROM "
            f"({counted('NEW')}, {everything_new}) THEN "
            f"  IF ({old_key}) < ({new_key}) THEN "
            f"    IF {counted('OLD')} THEN {call('OLD', -1)} END IF; "
            f"    IF {counted('NEW')} THEN {call('NEW', 1)} END IF; "
            f"  ELSE "
            f"    IF {counted('NEW')} THEN {call('NEW', 1)} END IF; "
            f"    IF {counted('OLD')} THEN {call('OLD', -1)} END IF; "
            f"  END IF; "
            "END IF;"
        )
    sources = sorted({c for *_rest, cols in TABLES.values() for c in cols})
    statements += [
        "CREATE FUNCTION ticket_period_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN " + " ".join(parts) + " RETURN NULL; END $$",
        # Named after 0012's trigger: PostgreSQL fires a table's triggers in name order, so
        # every change takes 0012's tables first, then these.
        "CREATE TRIGGER ticket_counts_period AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(sources)} ON tickets FOR EACH ROW "
        "EXECUTE FUNCTION ticket_period_counts_apply()",
        "CREATE FUNCTION ticket_period_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN " + " ".join(f"DELETE FROM {t};" for t in TABLES) + " RETURN NULL; END $$",
        "CREATE TRIGGER ticket_counts_period_truncate AFTER TRUNCATE ON tickets "
        "FOR EACH STATEMENT EXECUTE FUNCTION ticket_period_counts_clear()",
    ]
    return statements


def _pg_down() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS ticket_counts_period_truncate ON tickets",
        "DROP FUNCTION IF EXISTS ticket_period_counts_clear()",
        "DROP TRIGGER IF EXISTS ticket_counts_period ON tickets",
        "DROP FUNCTION IF EXISTS ticket_period_counts_apply()",
    ]
    for table, (keys, values, _when, _sources) in TABLES.items():
        types = [t for _n, _e, t in keys] + ["integer"] * len(values)
        statements.append(f"DROP FUNCTION IF EXISTS ticket_counts_add_{table}({', '.join(types)})")
    return statements


def _fill(table: str, dialect: str) -> str:
    keys, values, when, _sources = TABLES[table]
    key_exprs = [_expr(e, "tickets", dialect) for _n, e, _t in keys]
    sums = [f"sum({_expr(e, 'tickets', dialect)})" for _n, e in values]
    columns = ", ".join(_keys(table) + _values(table))
    where = f"WHERE {_expr(when, 'tickets', dialect)} " if when else ""
    return (
        f"INSERT INTO {table} ({columns}) SELECT {', '.join(key_exprs + sums)} FROM tickets "
        f"{where}GROUP BY {', '.join(key_exprs)}"
    )


def _column(name: str, pg_type: str | None = None) -> sa.Column:
    kind = sa.String(length=12) if pg_type == "varchar" else sa.Integer()
    return sa.Column(name, kind, nullable=False, autoincrement=False)


def upgrade():
    for table, (keys, values, _when, _sources) in TABLES.items():
        op.create_table(
            table,
            *[_column(n, t) for n, _e, t in keys],
            *[_column(n) for n, _e in values],
            sa.PrimaryKeyConstraint(*[n for n, _e, _t in keys], name=op.f(f"pk_{table}")),
        )
    dialect = op.get_bind().dialect.name
    op.create_index(
        "ix_tickets_unresolved_month",
        "tickets",
        list(UNRESOLVED_INDEX),
        sqlite_where=sa.text(f"status IN {UNRESOLVED}"),
        postgresql_where=sa.text(f"status IN {UNRESOLVED}"),
    )
    # The duplicates of a ticket: only the tickets that have a merged_into_id (a full index's
    # statistics make SQLite's planner take a lookup of one ticket's duplicates for a scan).
    op.drop_index("ix_tickets_merged_into_id", table_name="tickets")
    op.create_index(
        "ix_tickets_merged_into_id",
        "tickets",
        ["merged_into_id"],
        sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        postgresql_where=sa.text("merged_into_id IS NOT NULL"),
    )
    if dialect == "postgresql":
        # Writers wait while the tables are filled, so no change falls between fill and trigger.
        op.execute("LOCK TABLE tickets IN SHARE ROW EXCLUSIVE MODE")
    for statement in {"sqlite": _sqlite_up, "postgresql": _pg_up}.get(dialect, list)():
        op.execute(statement)
    for table in TABLES:
        op.execute(_fill(table, dialect))


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _sqlite_down, "postgresql": _pg_down}.get(dialect, list)():
        op.execute(statement)
    op.drop_index("ix_tickets_unresolved_month", table_name="tickets")
    op.drop_index("ix_tickets_merged_into_id", table_name="tickets")
    op.create_index("ix_tickets_merged_into_id", "tickets", ["merged_into_id"])
    for table in reversed(list(TABLES)):
        op.drop_table(table)
