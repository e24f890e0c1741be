"""``flask counts check | rebuild``: the ticket counts the database keeps (tickets.counts).

``check`` compares them with a fresh count of the tickets and exits 1 on any difference;
``rebuild`` makes them again (after a restore from an old backup, or a hand-made repair that
bypassed the triggers). Each is its own transaction boundary.
"""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from ..extensions import db

counts_cli = AppGroup("counts", help="Check or rebuild the ticket counts kept per month.")


@counts_cli.command("check")
def check() -> None:
    """Compare the kept counts with a fresh count; exit 1 if any combination differs."""
    from .counts import differences

    found = differences()
    db.session.rollback()
    if not found:
        click.echo("ticket counts agree with the tickets")
        return
    for d in found[:50]:
        key = " / ".join(str(k) for k in d.key)
        click.echo(f"{d.table}: {key}: kept {d.stored}, counted {d.counted}")
    if len(found) > 50:
        click.echo(f"... and {len(found) - 50} more")
    click.echo(f"{len(found)} row(s) differ: run `flask counts rebuild`", err=True)
    sys.exit(1)


@counts_cli.command("rebuild")
def rebuild_command() -> None:
    """Make the kept counts again from the tickets (writers, and on PostgreSQL the
    dashboard, wait until it is done)."""
    from .counts import rebuild

    started = time.monotonic()
    rows = rebuild()
    db.session.commit()
    click.echo(f"rebuilt {rows} row(s) in {time.monotonic() - started:.1f} s")
