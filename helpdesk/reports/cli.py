"""``flask --app app report build | issue``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

report_cli = AppGroup("report", help="Build and issue monthly reports.")

FORMATS = ("pdf", "html", "docx")


def _month(_ctx, _param, value: str) -> str:
    from ..timeutil import parse_month

    try:
        parse_month(value)
    except ValueError as exc:
        raise click.BadParameter("expected YYYY-MM, e.g. 2023-09") from exc
    return value


def _date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("expected YYYY-MM-DD, e.g. 2023-09-29") from exc


@report_cli.command("build")
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--date", "report_date", callback=_date, help="The report's date (default: today).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: from the output file's extension, else pdf).",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
def build(month: str, report_date: date | None, fmt: str | None, output: str) -> None:
    """Build a month's report from the database (with the draft's overrides)."""
    from .builder import ReportError
    from .render import render_html, render_pdf
    from .services import build_document
    from .word import render_docx

    suffix = Path(output).suffix.lower().lstrip(".")
    fmt = fmt or (suffix if suffix in FORMATS else "pdf")
    try:
        doc = build_document(month, report_date)
    except ReportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if fmt == "pdf":
        data = render_pdf(doc)
    elif fmt == "docx":
        data = render_docx(doc)
    else:
        data = render_html(doc).encode("utf-8")
    Path(output).write_bytes(data)
    click.echo(f"wrote {output} ({fmt}, {len(data):,} bytes)")


@report_cli.command("issue")
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--user", "username", default=None, help="Username recorded as the issuer.")
@click.option("--output", type=click.Path(dir_okay=False), help="Also write the issued PDF here.")
def issue(month: str, username: str | None, output: str | None) -> None:
    """Issue a month's report: store the PDF and its SHA-256, lock the month's statistics."""
    from sqlalchemy import select

    from ..auth.models import User
    from ..extensions import db
    from .builder import ReportError
    from .services import issue as issue_report

    actor_id = None
    if username:
        actor_id = db.session.scalar(select(User.id).where(User.username == username))
        if actor_id is None:
            click.echo(f"error: no user {username!r}", err=True)
            sys.exit(1)
    try:
        issued = issue_report(month, actor_id)
        db.session.commit()
    except ReportError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if output:
        Path(output).write_bytes(issued.pdf)
    click.echo(f"issued {month}: {len(issued.pdf):,} bytes, sha256 {issued.sha256}")
