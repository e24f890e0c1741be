"""Backups: create one, restore it into an empty database, and find every table identical."""

from __future__ import annotations

import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.models import Ticket

from .conftest import IS_PG, PASSWORD, login, make_app

SUFFIX = ".dump" if IS_PG else ".sqlite3"


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table (alembic_version included), ordered by primary key."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    tables = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            tables[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return tables


def new_database(databases) -> sa.Engine:
    """A brand-new database with nothing in it, not even tables."""
    url = databases.create(databases.new_name("restore"))
    return make_app(url)


def test_backup_then_restore_into_an_empty_database(demo_app, databases, tmp_path):
    before = snapshot(db.engine)
    assert len(before["tickets"]) == 419 and before["alembic_version"]
    backup = tmp_path / f"helpdesk{SUFFIX}"

    made = demo_app.test_cli_runner().invoke(args=["backup", "create", "--output", str(backup)])

    assert made.exit_code == 0, made.output
    assert backup.stat().st_size > 10_000
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup")) is not None

    target = new_database(databases)
    with target.app_context():
        restored = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
        assert restored.exit_code == 0, restored.output
        after = snapshot(db.engine)
        # Every table and every row is there; the one addition is the audit entry of the restore.
        assert after.keys() == before.keys()
        extra = after["audit_log"][len(before["audit_log"]) :]
        assert after["audit_log"][: len(before["audit_log"])] == before["audit_log"]
        assert [row[3] for row in extra] == ["restore"]
        for name in before:
            if name != "audit_log":
                assert after[name] == before[name], name
        # The restored database is a working one: sequences continue, people can sign in.
        user = User(username="sau.khoi.phuc", full_name="Sau khôi phục", role="operator")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        assert user.id > max(row[0] for row in before["users"])
        assert login(target.test_client(), "sau.khoi.phuc").status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_restore_into_a_migrated_but_empty_database(demo_app, databases, tmp_path, app_factory):
    backup = tmp_path / f"helpdesk{SUFFIX}"
    assert (
        demo_app.test_cli_runner().invoke(args=["backup", "create", "-o", str(backup)]).exit_code
        == 0
    )
    tickets = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    target = app_factory("empty")  # `flask db upgrade` was run, nothing written

    result = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])

    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == tickets


def test_restore_refuses_a_database_with_data_unless_forced(demo_app, app_factory, tmp_path):
    source = app_factory("demo")
    backup = tmp_path / f"other{SUFFIX}"
    db.session.add(User(username="chi.o.ban.sao", full_name="Chỉ ở bản sao", role="operator"))
    db.session.commit()
    assert (
        source.test_cli_runner().invoke(args=["backup", "create", "-o", str(backup)]).exit_code == 0
    )

    with demo_app.app_context():
        before = snapshot(db.engine)
        refused = demo_app.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
        assert refused.exit_code == 1
        assert "not empty" in refused.output and "tickets (419)" in refused.output
        assert snapshot(db.engine) == before

        forced = demo_app.test_cli_runner().invoke(
            args=["backup", "restore", "--force", str(backup)]
        )
        assert forced.exit_code == 0, forced.output
        assert db.session.scalar(sa.select(User).where(User.username == "chi.o.ban.sao"))


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["backup", "restore", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    junk = tmp_path / f"junk{SUFFIX}"
    junk.write_bytes(b"PGDMP but not really" + bytes(range(256)) * 20)
    bad = runner.invoke(args=["backup", "restore", str(junk)])
    assert bad.exit_code == 1
    assert "not a" in bad.output
    assert "Traceback" not in bad.output


def test_default_output_goes_to_the_backup_folder(app_factory, tmp_path):
    app = app_factory(BACKUP_DIR=str(tmp_path / "sao-luu"))
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    [written] = (tmp_path / "sao-luu").iterdir()
    assert written.name.startswith("helpdesk-") and written.suffix == SUFFIX
    assert str(written) in result.output
