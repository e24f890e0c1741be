"""Time the monthly report of the fixture month: builder, text, charts, WeasyPrint, DOCX.

    .venv/bin/python bench/bench_report.py                      # a fresh SQLite with the demo data
    .venv/bin/python bench/bench_report.py --runs 9 --database-url postgresql://...  # existing data

Prints the median (and min/max) of each stage over --runs runs after one warm-up, the builder's
SQL query count, and the load average (other work on a shared machine skews the numbers).
Target (issue 5) on a 2-core machine: the PDF under 1.5 s, the builder under 10 % of it, and a
constant number of SQL queries whatever the number of units.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _app(url: str):
    from helpdesk import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-only", "RATELIMIT_ENABLED": False}
    )


def _load_demo(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from helpdesk.cli import DEMO_DIR
    from helpdesk.extensions import db
    from helpdesk.imports import run_import
    from helpdesk.imports.engine import collect_files
    from helpdesk.units.models import Unit

    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count(Unit.id))):
            report = run_import(collect_files([DEMO_DIR]))
            assert report.ok, [str(e) for e in report.errors]


CPU: dict[int, list[float]] = {}  # id(wall samples) -> CPU samples of the same runs


def _time(fn, runs: int) -> tuple[list[float], object]:
    """Wall-clock samples (and, on the side, this process's CPU time for the same runs)."""
    fn()  # warm-up: imports, font lookups, parsed stylesheets
    samples, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[id(samples)] = cpu
    return samples, result


def _line(label: str, samples: list[float], note: str = "") -> float:
    median = statistics.median(samples)
    cpu = statistics.median(CPU.get(id(samples), [0.0]))
    print(
        f"{label:<34} median {median * 1000:7.1f} ms  min {min(samples) * 1000:7.1f}"
        f"  max {max(samples) * 1000:7.1f}  cpu {cpu * 1000:7.1f}  {note}"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--month", default="2023-09")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'report-bench.sqlite3'}"
    app = _app(url)
    _load_demo(app)

    from sqlalchemy import event

    from helpdesk.extensions import db
    from helpdesk.reports import charts
    from helpdesk.reports.builder import build_month
    from helpdesk.reports.render import chart_sources, render_html, render_pdf
    from helpdesk.reports.services import settings_for
    from helpdesk.reports.text import compose
    from helpdesk.reports.word import render_docx

    month, runs = args.month, args.runs
    with app.app_context():
        statements = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        figures = build_month(month)
        event.remove(db.engine, "before_cursor_execute", listener)
        settings = settings_for(None, date(2023, 9, 29))

        print(f"report {month} on {url.split(':')[0]}, {runs} runs, load {os.getloadavg()}")
        builder = _line(
            "builder (SQL + dataclasses)",
            _time(lambda: build_month(month), runs)[0],
            f"{len(statements)} queries",
        )
        _line("text (sentences, overrides)", _time(lambda: compose(figures, settings), runs)[0])
        doc = compose(figures, settings)

        def cold_charts():
            charts.chart_svg.cache_clear()
            return chart_sources(doc)

        _line("charts, cold (matplotlib, 3 SVG)", _time(cold_charts, runs)[0])
        chart_sources(doc)
        weasy, pdf = _time(lambda: render_pdf(doc), runs)
        weasy = _line("WeasyPrint (template + PDF)", weasy, f"{len(pdf):,} bytes")

        def whole(cold: bool):
            if cold:
                charts.chart_svg.cache_clear()
            return render_pdf(compose(build_month(month), settings))

        total_cold = _line("PDF end to end, charts cold", _time(lambda: whole(True), runs)[0])
        total = _line("PDF end to end, charts cached", _time(lambda: whole(False), runs)[0])
        _line("HTML (standalone)", _time(lambda: render_html(doc), runs)[0])
        _line("DOCX (python-docx, PNG charts)", _time(lambda: render_docx(doc), runs)[0])

    print()
    print(
        f"PDF end to end: {total_cold:.3f} s with cold charts, {total:.3f} s with cached charts"
        f" (target < 1.5 s)"
    )
    print(
        f"builder share: {builder / total_cold:.1%} of the cold PDF, {builder / weasy:.1%} of"
        f" WeasyPrint (target < 10 %)"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
