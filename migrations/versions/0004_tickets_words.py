"""tickets: word index for search (SQLite FTS5 + triggers, PostgreSQL GIN over the words)

Revision ID: 0004_tickets_words
Revises: 0003_dashboard_index
Create Date: 2026-11-27 10:00:00

The objects are SQL, outside the models: migrations/env.py and tests/test_migrations.py leave
them out of the model comparison (helpdesk.tickets.fulltext.include_name).
"""
from alembic import op

revision = '0004_tickets_words'
down_revision = '0003_dashboard_index'
branch_labels = None
depends_on = None

SQLITE_UP = [
    # External content: the words live once, in tickets.search_text; the index is rebuilt from
    # it and kept in step by the triggers (an UPDATE that leaves search_text alone costs nothing).
    "CREATE VIRTUAL TABLE tickets_fts USING fts5("
    "search_text, content='tickets', content_rowid='id', tokenize='unicode61')",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF search_text ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS tickets_fts_update",
    "DROP TRIGGER IF EXISTS tickets_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_fts_insert",
    "DROP TABLE IF EXISTS tickets_fts",
]
PG_UP = [
    # The words of the folded text as an array, exactly as SQLite's FTS5 splits them. PL/pgSQL
    # so the planner never inlines it, COST so it knows a per-row call is dear: rare words are
    # then read through the index, frequent ones in list order with the call as a filter.
    "CREATE FUNCTION helpdesk_words(text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT "
    "PARALLEL SAFE COST 1000 AS $$ BEGIN "
    "RETURN array_remove(regexp_split_to_array($1, '[^0-9a-z]+'), ''); END $$",
    "CREATE INDEX ix_tickets_words ON tickets USING gin (helpdesk_words(search_text))",
    # Statistics of the indexed expression: without them the planner guesses every word rare.
    "ANALYZE tickets",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_tickets_words",
    "DROP FUNCTION IF EXISTS helpdesk_words(text)",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': SQLITE_UP, 'postgresql': PG_UP}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': SQLITE_DOWN, 'postgresql': PG_DOWN}.get(dialect, []):
        op.execute(statement)
