"""Time a cold ``flask report build`` (a new process each run) and say where its time goes.

    .venv/bin/python bench/bench_report_cold.py                 # the demo month, 10 runs
    .venv/bin/python bench/bench_report_cold.py --database-url sqlite:////tmp/demo.sqlite3 \
        --period 2023-09 --runs 10

First the whole command, ``--runs`` times, each in a new process (what a cron job or a
supervisor at the command line waits for): median, min and max wall time. Then one run of the
same steps inside one process, each timed on its own: starting Python and loading the app
(``create_app``), reading the figures and building the document, drawing the charts
(matplotlib, loaded then), loading WeasyPrint, and WeasyPrint's layout and drawing. The command
itself draws the charts in a forked process beside WeasyPrint's import and layout
(``render_pdf(charts_aside=True)``); the breakdown times them one after the other.

Without --database-url a scratch SQLite database is made with ``flask db upgrade`` and
``flask demo`` (the bundled months).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "app"]

STAGES = r"""
import os, sys, time
t0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
sys.path.insert(0, os.getcwd())
import app as app_module
mark("load the app (imports, create_app)")
with app_module.app.app_context():
    from helpdesk.reports.services import build_document, figures_of
    from helpdesk.timeutil import today_local
    figures = figures_of(sys.argv[1])
    doc = build_document(sys.argv[1], None, figures, default_date=today_local())
    mark("figures and the document")
    from helpdesk.reports import charts
    pictures = [(b.chart, p) for b in doc.blocks if b.chart for p in range(charts.parts(b.chart))]
    for chart, part in pictures:
        charts.chart_svg(chart, part)
    mark(f"{len(pictures)} charts (loading matplotlib included)")
    import weasyprint  # noqa: F401
    mark("load WeasyPrint")
    from helpdesk.reports.render import render_pdf
    render_pdf(doc)
    mark("WeasyPrint: layout and drawing (charts already drawn)")
previous = t0
for name, at in marks:
    print(f"{(at - previous) * 1000:.0f}\t{name}")
    previous = at
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--period", default="2023-09")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    scratch = tempfile.TemporaryDirectory()
    env = {**os.environ, "HELPDESK_DEMO": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{scratch.name}/demo.sqlite3"
        for command in (["db", "upgrade"], ["demo"]):
            subprocess.run([*FLASK, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    output = Path(scratch.name) / "report.pdf"
    build = [*FLASK, "report", "build", "--period", args.period, "--output", str(output)]
    subprocess.run(build, cwd=ROOT, env=env, check=True, capture_output=True)  # warm the disk
    load = os.getloadavg()[0]
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(build, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(
        f"flask report build --period {args.period}: median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s, max {max(times):.2f} s over {args.runs} runs "
        f"({output.stat().st_size:,} bytes; load average {load:.1f} → {os.getloadavg()[0]:.1f}; "
        f"{os.cpu_count()} cores)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STAGES, args.period],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - started
    print("\nThe same steps one after the other in one process (ms):")
    for line in done.stdout.splitlines():
        ms, name = line.split("\t")
        print(f"{int(ms):>6}  {name}")
    print(f"{total * 1000:>6.0f}  the whole process, Python's own start and exit included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
