"""``flask tokens create|list|revoke``: API tokens from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..auth.models import User
from ..extensions import db
from ..timeutil import now_local
from . import tokens as token_service
from .models import ApiToken

tokens_cli = AppGroup("tokens", help="API tokens (docs/API.md).")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="", help="A label to recognise the token by.")
@click.option("--days", default=token_service.DEFAULT_DAYS, show_default=True, type=int)
def create(username: str, name: str, days: int) -> None:
    """Make a token for USERNAME and print it alone on standard output (shown once)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        click.echo(f"no user {username}", err=True)
        sys.exit(1)
    try:
        row, secret = token_service.create_token(user, name, days)
    except token_service.TokenError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(secret)
    click.echo(f"token {row.id} for {user.username}, expires {row.expires_at:%Y-%m-%d}", err=True)


@tokens_cli.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
def list_tokens(username: str | None) -> None:
    """One line per token: id, user, name, prefix, created, expires, last used, state."""
    user_id = None
    if username:
        user_id = db.session.scalar(
            select(User.id).where(func.lower(User.username) == username.lower())
        )
        if user_id is None:
            click.echo(f"no user {username}", err=True)
            sys.exit(1)
    now = now_local()
    for t in token_service.tokens_of(user_id):
        used = t.last_used_at.isoformat(sep=" ") if t.last_used_at else "-"
        click.echo(
            f"{t.id}\t{t.user.username}\t{t.name or '-'}\t{t.prefix}…\t"
            f"{t.created_at:%Y-%m-%d}\t{t.expires_at:%Y-%m-%d}\t{used}\t{t.state(now)}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """End token TOKEN_ID at once."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        click.echo(f"no token {token_id}", err=True)
        sys.exit(1)
    if not token_service.revoke(row, None):
        click.echo(f"token {token_id} had already ended", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"token {token_id} revoked")
