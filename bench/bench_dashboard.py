"""Measure the supervisors' dashboard on a large database (see bench/generate.py).

    .venv/bin/python bench/bench_dashboard.py --database-url sqlite:////tmp/bench.sqlite3
    .venv/bin/python bench/bench_dashboard.py \
        --database-url postgresql://postgres@127.0.0.1:5432/bench --runs 50

Signs in as a supervisor through the real sign-in page, then requests the month view (the whole
request: access check, every query, template) ``--runs`` times after a warm-up, and prints the
median, 95th percentile and SQL query count; then the same for the builder alone, the trend
alone, the two chart SVGs (with the signed URL the page gives, and unsigned) and one export;
then the view of the month's quarter and of its year (``--periods``: other period codes).
Target: month view under 200 ms at the 95th percentile on a 2-core machine.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--month", default=None, help="YYYY-MM (default: newest month)")
    parser.add_argument(
        "--periods",
        nargs="*",
        default=None,
        help="period codes to measure besides the month (default: its quarter and its year)",
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--username", default="thang.vd")
    parser.add_argument("--password", default=None, help="default: the demo password")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    return args


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]


def measure(label: str, func, runs: int, warmup: int, engine) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def on_execute(_conn, _cursor, statement, *_a):
        statements.append(statement)

    for _ in range(warmup):
        func()
    times, cpu = [], []
    queries = set()
    for _ in range(runs):
        statements.clear()
        event.listen(engine, "before_cursor_execute", on_execute)
        started, started_cpu = time.perf_counter(), time.process_time()
        func()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        event.remove(engine, "before_cursor_execute", on_execute)
        queries.add(len(statements))
    print(
        f"{label:<38} median {statistics.median(times):6.1f} ms  p95 {p95(times):6.1f} ms  "
        f"min {min(times):6.1f} ms  (this process's CPU: median {statistics.median(cpu):6.1f} ms)"
        f"  runs {runs}  SQL queries {'/'.join(str(q) for q in sorted(queries))}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("HELPDESK_DEMO", "1")

    from sqlalchemy import func, select

    from helpdesk import create_app
    from helpdesk.cli import DEMO_PASSWORDS
    from helpdesk.dashboard.queries import build_month, build_period, build_trend
    from helpdesk.extensions import db
    from helpdesk.models import Ticket, Unit
    from helpdesk.timeutil import today_local

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    password = args.password or DEMO_PASSWORDS.get(args.username, (None, None, ""))[2]
    with app.app_context():
        engine = db.engine
        tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        units = db.session.scalar(select(func.count()).select_from(Unit))
        month = args.month or db.session.scalar(select(func.max(Ticket.opened_month)))
        in_month = db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.opened_month == month)
        )
    print(
        f"{engine.dialect.name}: {tickets:,} tickets, {units} units; month {month} "
        f"({in_month:,} tickets); {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )

    # Requests run outside any app context, as in production: each one gets its own context
    # and database session (and so loads the signed-in user again).
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": args.username, "password": password})
    if response.status_code != 302:
        print(f"sign-in as {args.username} failed ({response.status_code})", file=sys.stderr)
        return 1

    def get(url: str):
        def run():
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)

        return run

    def in_context(func):
        def run():
            with app.app_context():
                func()

        return run

    def builder():
        build_month(month, today_local())

    def trend():
        build_trend(month)

    runs = args.runs
    measure(f"GET /tong-hop/{month}", get(f"/tong-hop/{month}"), runs, args.warmup, engine)
    measure("build_month() alone", in_context(builder), runs, args.warmup, engine)
    measure("build_trend() alone", in_context(trend), runs, args.warmup, engine)
    few = max(5, runs // 3)
    page = client.get(f"/tong-hop/{month}").get_data(as_text=True)
    for chart in ("doi-tuong", "nhom"):
        signed = html.unescape(re.search(rf'<img src="([^"]*/{chart}\.svg\?d=[^"]+)"', page)[1])
        measure(f"GET .../bieu-do/{chart}.svg?d=signed", get(signed), few, 1, engine)
        url = f"/tong-hop/{month}/bieu-do/{chart}.svg"
        measure(f"GET .../bieu-do/{chart}.svg (unsigned)", get(url), few, 1, engine)
    url = f"/tong-hop/{month}/xuat/doi-tuong-nhom.xlsx"
    measure("GET .../xuat/doi-tuong-nhom.xlsx", get(url), few, 1, engine)

    # Longer periods: the same ten queries, over more months.
    year, mon = month.split("-")
    periods = (
        args.periods
        if args.periods is not None
        else [
            f"{year}-Q{(int(mon) - 1) // 3 + 1}",
            year,
        ]
    )
    for code in periods:
        measure(f"GET /tong-hop/{code}", get(f"/tong-hop/{code}"), runs, args.warmup, engine)

        def period_builder(code=code):
            build_period(code, today_local())

        measure(f"build_period({code!r}) alone", in_context(period_builder), few, 1, engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
