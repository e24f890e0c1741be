"""tickets: the words of the search text stored (PostgreSQL), their GIN index on the column

Revision ID: 0014_stored_words
Revises: 0013_period_counts
Create Date: 2026-12-04 09:10:00

0004 indexed the expression ``helpdesk_words(search_text)``. The index finds the tickets of a
rare word, but a frequent one ("hạn" in a tenth of the tickets) is read in list order with the
expression as a filter, one PL/pgSQL call and one regular expression per row read: half a second
for a capped count at ten million tickets. A stored generated column holds the words once, at
write time; the filter is then a plain array containment, and the planner's statistics are the
column's own (most common elements included).

PostgreSQL only: on SQLite the FTS5 index of 0004 serves search. The column is not in the models
(no ARRAY type on SQLite); migrations/env.py and tests/test_migrations.py leave it out of the
comparison (helpdesk.tickets.fulltext.include_name).

Adding the column rewrites the table and its indexes (an ACCESS EXCLUSIVE lock for the time it
takes: bench/README.md gives the time at ten million tickets).
"""

from alembic import op

revision = "0014_stored_words"
down_revision = "0013_period_counts"
branch_labels = None
depends_on = None

PG_UP = [
    "ALTER TABLE tickets ADD COLUMN search_words text[] "
    "GENERATED ALWAYS AS (helpdesk_words(search_text)) STORED",
    "DROP INDEX IF EXISTS ix_tickets_words",
    "CREATE INDEX ix_tickets_words ON tickets USING gin (search_words)",
    "ANALYZE tickets",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_tickets_words",
    "ALTER TABLE tickets DROP COLUMN IF EXISTS search_words",
    "CREATE INDEX ix_tickets_words ON tickets USING gin (helpdesk_words(search_text))",
    "ANALYZE tickets",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWN:
            op.execute(statement)
