"""``flask mail send | scan | digest``: the outbox worker and the notices it sends.

Run by cron or a systemd timer (README): ``send`` every minute (or ``send --loop``), ``scan``
every 15 minutes, ``digest`` on working-day mornings. Each is its own transaction boundary.
"""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from ..extensions import db
from ..timeutil import now_local

mail_cli = AppGroup("mail", help="Send the e-mail outbox and queue notices.")


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running, sending every --every seconds.")
@click.option("--every", default=30, show_default=True, help="Seconds between runs (--loop).")
@click.option("--batch", default=100, show_default=True, help="Messages per SMTP connection.")
def send(loop: bool, every: int, batch: int) -> None:
    """Send the messages that are due; a failure is retried later, never lost."""
    from .sender import send_batch

    while True:
        total_sent = 0
        while True:
            # Committed after the claim and after each message: a crash resends one at most.
            result = send_batch(now_local(), batch, checkpoint=db.session.commit)
            db.session.commit()
            total_sent += result.sent
            for error in result.errors:
                click.echo(error, err=True)
            if result.sent + result.retrying + result.failed < batch or result.errors:
                break
        click.echo(
            f"sent {total_sent}, retrying {result.retrying}, failed {result.failed}"
            if total_sent or result.retrying or result.failed
            else "nothing to send"
        )
        if not loop:
            if result.errors:
                sys.exit(1)
            return
        time.sleep(max(every, 1))


@mail_cli.command("scan")
def scan() -> None:
    """Queue the due-soon and late notices (each once per ticket, user and due time)."""
    from .notify import scan_due

    counts = scan_due(now_local())
    db.session.commit()
    click.echo(f"queued: due soon {counts['due_soon']}, late {counts['late']}")


@mail_cli.command("digest")
def digest() -> None:
    """Queue the morning digest of late requests per unit (once a day)."""
    from .notify import queue_digest

    now = now_local()
    count = queue_digest(now.date(), now)
    db.session.commit()
    click.echo(f"queued: {count} digest(s)")
