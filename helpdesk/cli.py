"""Command line: ``flask --app app data import | users create | demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from .extensions import db

# The demo city: Hải Phòng in September 2023 (the seed report's month), then the same database
# moved onto the 2025 structure (merged departments, no districts) with August 2025.
DEMO_DIR = Path(__file__).resolve().parent / "demo" / "hp-2023-09"
DEMO_2025_DIR = Path(__file__).resolve().parent / "demo" / "hp-2025-08"
DEMO_DIRS = (DEMO_DIR, DEMO_2025_DIR)
DEMO_PASSWORDS = {
    # Demo only: printed by `flask demo`, never used outside the demo data set.
    "admin": ("admin", "Quản trị hệ thống", "Admin-Demo-2023"),
    "hoa.nt": ("operator", None, "Hoa-Demo-2023"),
    "tuan.pv": ("operator", None, "Tuan-Demo-2023"),
    "linh.dm": ("operator", None, "Linh-Demo-2023"),
    "thang.vd": ("supervisor", None, "Thang-Demo-2023"),
    "lan.ptt": ("unit_staff", None, "Lan-Demo-2025"),  # phường Lê Chân (hp-2025-08/users.csv)
}
# Admins sign in with a second factor (TOTP). The demo admin is enrolled with this demo-only
# secret, printed by `flask demo`: add it to an authenticator app, or print the current code
# with DEMO_CODE_COMMAND.
DEMO_TOTP_SECRETS = {"admin": "HAIPHONGDEMOADMINTWOFACTORSECRET"}
DEMO_CODE_COMMAND = ".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""

data_cli = AppGroup("data", help="Import data files.")
users_cli = AppGroup("users", help="Manage users.")


def print_report(report) -> None:
    for line in report.summary_lines():
        click.echo(line)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        click.echo(str(error), err=True)


@data_cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--dry-run", is_flag=True, help="Validate and show the changes; write nothing.")
def data_import(paths: tuple[str, ...], dry_run: bool) -> None:
    """Import files, or every known file in a directory, in one transaction."""
    from .imports import ImportFileError, run_import
    from .imports.engine import collect_files

    try:
        files = collect_files(paths)
    except ImportFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if not files:
        click.echo("no importable file found", err=True)
        sys.exit(1)
    report = run_import(files, dry_run=dry_run)
    db.session.commit()  # the command is its transaction (a refused or dry run wrote nothing)
    print_report(report)
    if not report.ok:
        click.echo(f"{len(report.errors)} error(s): nothing was written.", err=True)
        sys.exit(1)
    click.echo("dry run: nothing was written." if dry_run else "import complete.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["operator", "supervisor", "admin"]))
@click.option("--full-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username: str, role: str, full_name: str | None, password_stdin: bool) -> None:
    """Create a user; the password is prompted for, or read from standard input."""
    from .auth.services import UserError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(username, role, full_name, password)
    except UserError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@users_cli.command("reset-2fa")
@click.argument("username")
def users_reset_2fa(username: str) -> None:
    """Remove a user's second factor (a lost phone and no recovery code left) and end every
    session of theirs; an admin enrols again at the next sign-in. Audited."""
    from .auth.services import find_user
    from .auth.twofactor import turn_off

    user = find_user(username)
    if user is None:
        click.echo(f"error: no user {username}", err=True)
        sys.exit(1)
    ended = turn_off(user, actor=None)
    db.session.commit()
    click.echo(f"two-factor sign-in removed for {user.username}; {ended} session(s) ended")


def load_demo_users() -> None:
    """Create or reset the demo users: demo passwords, unlocked, the admin enrolled in 2FA."""
    from sqlalchemy import select

    from .auth.models import User
    from .timeutil import now_local

    for username, (role, full_name, password) in DEMO_PASSWORDS.items():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, role=role, full_name=full_name or username)
            db.session.add(user)
            db.session.flush()
        user.active = True
        user.failed_logins = 0
        user.locked_until = None
        user.set_password(password)
        secret = DEMO_TOTP_SECRETS.get(username)
        if secret:
            user.totp_secret = secret
            user.totp_enabled_at = now_local()
            user.totp_last_counter = None


def merge_demo_repeats() -> int:
    """Merge the demo's repeat calls about one dossier into the first call about it, as an
    operator would have (only calls already closed, so no status changes); return how many.
    Run again, it merges nothing more."""
    from datetime import timedelta

    from sqlalchemy import select

    from .auth.models import User
    from .tickets.merging import merge_ticket
    from .tickets.models import Ticket

    actor = db.session.scalar(select(User).where(User.username == "thang.vd"))
    if actor is None:
        return 0
    first: dict[str, Ticket] = {}
    merged = 0
    stmt = (
        select(Ticket).where(Ticket.dossier_code.is_not(None)).order_by(Ticket.opened_at, Ticket.id)
    )
    for ticket in db.session.scalars(stmt):
        earlier = first.setdefault(ticket.dossier_code, ticket)
        if earlier is ticket or ticket.merged_into_id or earlier.merged_into_id:
            continue
        if ticket.status == "closed":
            when = (ticket.closed_at or ticket.opened_at) + timedelta(minutes=5)
            merge_ticket(ticket, earlier, actor, ticket.version, None, when)
            merged += 1
    return merged


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load the bundled demo data sets (Hải Phòng 09/2023, then 08/2025) and the demo users."""
    from .imports import run_import
    from .imports.engine import collect_files

    for folder in DEMO_DIRS:  # in order: the 2025 files end the 2023 units
        click.echo(f"== {folder.name}")
        report = run_import(collect_files([folder]))
        print_report(report)
        if not report.ok:
            sys.exit(1)
    load_demo_users()
    merged = merge_demo_repeats()
    db.session.commit()
    if merged:
        click.echo(f"{merged} repeat calls about a dossier merged into the first call about it")
    click.echo("\nDemo users (demo passwords, change them for real use):")
    for username, (role, _n, password) in DEMO_PASSWORDS.items():
        click.echo(f"  {username:<10} {role:<11} {password}")
    for username, secret in DEMO_TOTP_SECRETS.items():
        click.echo(
            f"\n{username} also needs a code from an authenticator app (two-factor sign-in).\n"
            f"  Add this secret to the app (time-based):  {secret}\n"
            f"  or print the current code with:  {DEMO_CODE_COMMAND.format(secret=secret)}"
        )


def register_cli(app: Flask) -> None:
    from .reports.cli import report_cli

    app.cli.add_command(report_cli)
    app.cli.add_command(data_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo)
    from .mail.cli import mail_cli

    app.cli.add_command(mail_cli)
    from .tickets.cli import counts_cli

    app.cli.add_command(counts_cli)

    from .backup import backup_cli
    from .retention import retention_cli

    app.cli.add_command(backup_cli)
    app.cli.add_command(retention_cli)

    from .api.cli import tokens_cli

    app.cli.add_command(tokens_cli)
