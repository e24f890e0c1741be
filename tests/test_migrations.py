"""One Alembic head, and the migrated schema equals the models (no drift)."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from helpdesk.extensions import db
from helpdesk.tickets.fulltext import include_name

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_single_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_models_match_migrations(app):
    with db.engine.connect() as conn:
        # The word-search index (SQL of revision 0004) is left out, as migrations/env.py does.
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_schema_built_by_migrations_has_every_table(app):
    inspector = db.inspect(db.engine)
    tables = set(inspector.get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables
