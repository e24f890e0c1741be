"""``flask --app app report build | issue`` for a month (``--month``) or any reporting period
(``--period``: ``YYYY-MM``, ``YYYY-Q1``..``Q4``, ``YYYY-H1``/``H2``, ``YYYY-9M``, ``YYYY``)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

report_cli = AppGroup("report", help="Build and issue monthly and periodic reports.")

FORMATS = ("pdf", "html", "docx")
PERIOD_HELP = (
    "The reporting period: YYYY-MM (month), YYYY-Q1..Q4 (quarter), YYYY-H1/H2 (six months), "
    "YYYY-9M (nine months) or YYYY (year)."
)


def _month(_ctx, _param, value: str | None) -> str | None:
    from ..timeutil import parse_month

    if value is None:
        return None
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


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _code(month: str | None, period: str | None) -> str:
    """The period's code from --month or --period (exactly one of them)."""
    if month is not None and period is not None:
        _fail("--month and --period cannot be used together; give one of them")
    if month is None and period is None:
        _fail("give the report's --period (or --month)")
    return month if month is not None else period


@report_cli.command("build")
@click.option("--month", callback=_month, help="The month, YYYY-MM (same as --period YYYY-MM).")
@click.option("--period", help=PERIOD_HELP)
@click.option("--date", "report_date", callback=_date, help="The report's date (default: today).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: from the output file's extension, else pdf).",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
def build(
    month: str | None, period: str | None, report_date: date | None, fmt: str | None, output: str
) -> None:
    """Build a period's report from the database (with the draft's settings and overrides)."""
    if _is_command_process():
        # A process that ends in a few seconds: cyclic garbage collection (WeasyPrint's import
        # and layout make hundreds of thousands of objects) costs time and frees nothing it
        # needs. Never in a test runner or a server.
        import gc

        gc.disable()
    from ..timeutil import today_local
    from .builder import ReportError, month_label
    from .render import render_html, render_pdf
    from .services import build_document, figures_of

    code = _code(month, period)
    suffix = Path(output).suffix.lower().lstrip(".")
    fmt = fmt or (suffix if suffix in FORMATS else "pdf")
    try:
        figures = figures_of(code)
        doc = build_document(code, report_date, figures, default_date=today_local())
    except ReportError as exc:
        _fail(str(exc))
    if figures.missing_months:
        missing = ", ".join(month_label(m) for m in figures.missing_months)
        click.echo(
            f"warning: chưa có số liệu tháng {missing}; báo cáo gồm các tháng có số liệu.",
            err=True,
        )
    if fmt == "pdf":
        data = render_pdf(doc, charts_aside=True)
    elif fmt == "docx":
        from .word import render_docx

        data = render_docx(doc)
    else:
        data = render_html(doc).encode("utf-8")
    Path(output).write_bytes(data)
    click.echo(f"wrote {output} ({fmt}, {len(data):,} bytes)")
    end_command_process()


def _is_command_process() -> bool:
    """This process is the ``flask`` command itself (its script, or ``python -m flask``), not a
    test runner, a server or a program calling the command in-process."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec is not None and spec.name == "flask.__main__") or (
        spec is None and Path(sys.argv[0]).name == "flask"
    )


def end_command_process() -> None:
    """End a finished one-off ``flask`` command at once, without the interpreter's teardown.

    Freeing every object and module of a process that loaded the app, WeasyPrint and matplotlib
    takes about half a second on a 2-core machine (measured: bench/bench_report_cold.py), a
    quarter of a cold report build. The output file is written and closed by then; the database
    connections are closed here and the output streams flushed. Nothing happens elsewhere (a
    test runner, a server, a program calling the command in-process): they go on as before.
    """
    if not _is_command_process():
        return
    import logging
    import os

    from ..extensions import db

    db.session.remove()
    db.engine.dispose()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@report_cli.command("issue")
@click.option("--month", callback=_month, help="The month, YYYY-MM (same as --period YYYY-MM).")
@click.option("--period", help=PERIOD_HELP)
@click.option("--user", "username", default=None, help="Username recorded as the issuer.")
@click.option("--output", type=click.Path(dir_okay=False), help="Also write the issued PDF here.")
def issue(month: str | None, period: str | None, username: str | None, output: str | None) -> None:
    """Issue a period's report: store the PDF and its SHA-256, lock its months' statistics."""
    from sqlalchemy import select

    from ..auth.models import User
    from ..extensions import db
    from ..stats.services import locked_months
    from .builder import ReportError, month_label
    from .services import issue as issue_report
    from .services import parse_period

    code = _code(month, period)
    actor_id = None
    if username:
        actor_id = db.session.scalar(select(User.id).where(User.username == username))
        if actor_id is None:
            _fail(f"no user {username!r}")
    try:
        report_period = parse_period(code)
        already = locked_months(report_period.months)
        issued = issue_report(report_period.code, actor_id)
        db.session.commit()
    except ReportError as exc:
        db.session.rollback()
        _fail(str(exc))
    if output:
        Path(output).write_bytes(issued.pdf)
    click.echo(f"issued {issued.month}: {len(issued.pdf):,} bytes, sha256 {issued.sha256}")
    if not report_period.is_month:
        now = [month_label(m) for m in report_period.months if m not in already]
        line = "locked months: " + (", ".join(now) or "none")
        if already:
            line += f" (already locked: {', '.join(month_label(m) for m in already)})"
        click.echo(line)
