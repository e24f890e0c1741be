"""Backups: ``flask --app app backup create`` and ``backup restore``.

SQLite: the file is copied with SQLite's online backup API, a consistent snapshot even while
the app writes. PostgreSQL: ``pg_dump --format=custom``, restored with ``pg_restore`` in a single
transaction (all or nothing). A restore goes into an empty database only (a freshly created
one, or one where ``flask db upgrade`` made the tables and nothing was written), unless
``--force`` is given: restoring over live data is a decision, not an accident.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import URL, make_url

from .audit import record
from .extensions import db
from .timeutil import now_local

backup_cli = AppGroup("backup", help="Back up the database and restore a backup.")


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """The database the app is configured for."""

    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @property
    def sqlite_path(self) -> Path:
        if not self.url.database or self.url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return Path(self.url.database)

    def pg_env(self) -> dict[str, str]:
        """libpq settings for pg_dump/pg_restore; the password never goes on a command line."""
        env = dict(os.environ)
        for name, value in (
            ("PGHOST", self.url.host),
            ("PGPORT", self.url.port),
            ("PGUSER", self.url.username),
            ("PGPASSWORD", self.url.password),
            ("PGDATABASE", self.url.database),
            ("PGSSLMODE", self.url.query.get("sslmode")),
        ):
            if value:
                env[name] = str(value)
        return env


def current_target() -> Target:
    target = Target(make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]))
    if not (target.is_sqlite or target.is_postgres):
        raise BackupError(f"unsupported database: {target.url.get_backend_name()}")
    return target


def default_output(target: Target) -> Path:
    stamp = now_local().strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if target.is_sqlite else "dump"
    folder = current_app.config.get("BACKUP_DIR") or Path(current_app.instance_path) / "backups"
    return Path(folder) / f"helpdesk-{stamp}.{suffix}"


def create_backup(target: Target, output: Path) -> Path:
    """Write a consistent copy of the whole database to ``output``.

    The copy holds citizens' personal data: the file is made readable by its owner only (0600)
    before a byte is written, and a folder made for it is the owner's only (0700).
    """
    output.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        # Created empty with its final mode: SQLite and pg_dump write into it and keep the mode.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        if target.is_sqlite:
            source = sqlite3.connect(f"file:{target.sqlite_path}?mode=ro", uri=True)
            copy = sqlite3.connect(partial)
            try:
                with copy:
                    source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            _run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 f"--file={partial}"],
                target,
            )  # fmt: skip
        os.chmod(partial, 0o600)  # whatever the umask or the tool did
        partial.replace(output)  # a backup file is either complete or absent
    finally:
        partial.unlink(missing_ok=True)
    return output


def check_backup(target: Target, backup: Path) -> None:
    """Refuse a file that is not a backup of this kind of database."""
    if not backup.is_file():
        raise BackupError(f"{backup}: no such file")
    if target.is_sqlite:
        try:
            conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
            try:
                ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{backup}: not an SQLite backup ({exc})") from None
        if not ok or "alembic_version" not in tables:
            raise BackupError(f"{backup}: not a backup of this application, or damaged")
    else:
        listing = _run([_tool("pg_restore"), "--list", str(backup)], target, check=False)
        if listing.returncode != 0:
            raise BackupError(f"{backup}: not a pg_dump custom-format file")
        if " alembic_version" not in listing.stdout:
            raise BackupError(f"{backup}: not a backup of this application")


def rows_in_database() -> dict[str, int]:
    """Rows per table of the app's tables that exist (alembic_version aside)."""
    inspector = sa.inspect(db.engine)
    present = set(inspector.get_table_names())
    counts = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in present:
                counts[table.name] = conn.scalar(sa.select(sa.func.count()).select_from(table))
    return counts


def restore_backup(target: Target, backup: Path, force: bool = False) -> None:
    """Replace the database's content with the backup's; refuse a non-empty database."""
    check_backup(target, backup)
    filled = {name: n for name, n in rows_in_database().items() if n}
    if filled and not force:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items()))
        raise BackupError(
            "the database is not empty: " + listed + ". Restore into an empty database "
            "(create one and point DATABASE_URL at it), or use --force to replace this data."
        )
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old content
    if target.is_sqlite:
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        dest = sqlite3.connect(target.sqlite_path)
        try:
            source.backup(dest)  # page by page, in one transaction on the destination
        finally:
            dest.close()
            source.close()
    else:
        _run(
            [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={target.url.database}",
             str(backup)],
            target,
        )  # fmt: skip


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client)")
    return path


def _run(args: list[str], target: Target, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(  # noqa: S603 - fixed tool paths, arguments are not shell-parsed
        args, env=target.pg_env(), capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        tool = Path(args[0]).name
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")
    return done


@backup_cli.command("create")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: BACKUP_DIR or instance/backups, named by the time).",
)
def backup_create(output: Path | None) -> None:
    """Back up the whole database (SQLite online backup or pg_dump custom format)."""
    try:
        target = current_target()
        output = create_backup(target, output or default_output(target))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    size = output.stat().st_size
    record("backup", "database", None, f"Sao lưu cơ sở dữ liệu ({size} byte)",
           detail={"file": output.name, "bytes": size})  # fmt: skip
    db.session.commit()
    click.echo(f"backup written to {output} ({size} bytes)")


@backup_cli.command("restore")
@click.argument("backup", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the data of a database that is not empty.")
def backup_restore(backup: Path, force: bool) -> None:
    """Restore a backup into the (empty) database named by DATABASE_URL."""
    try:
        restore_backup(current_target(), backup, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    record("restore", "database", None, f"Khôi phục từ bản sao lưu {backup.name}",
           detail={"file": backup.name, "force": force})  # fmt: skip
    db.session.commit()
    click.echo(f"restored {backup}; run `flask --app app db upgrade` if it predates this version.")
