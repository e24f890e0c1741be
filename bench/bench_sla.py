"""Time the service-level arithmetic a page does: due times and what is left of them.

    .venv/bin/python bench/bench_sla.py [--database-url sqlite:////tmp/bench200k.sqlite3]

Prints the median and the slowest of ``--runs`` runs (milliseconds) of: a due time (``add``,
1 and 20 working days), working minutes between two moments a day, a month and three years
apart (``between``: the late backlog of an old month), the due states of a page of 50 tickets
three years late (what the ticket list formats), and, with a database, reading the calendar
(once per request). Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)

    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.sla import due_state
    from helpdesk.workcal.worktime import WorkCalendar

    start = datetime(2026, 12, 4, 16, 0)
    rows = []

    def fresh() -> WorkCalendar:  # a request's calendar: its year counts start empty
        return WorkCalendar()

    rows.append(("add: 1 working day", timed(lambda: fresh().add(start, 450), args.runs)))
    rows.append(("add: 20 working days", timed(lambda: fresh().add(start, 9000), args.runs)))
    for label, span in (("a day", 1), ("a month", 30), ("three years", 3 * 365)):
        then = start - timedelta(days=span)
        rows.append(
            (f"between: {label}", timed(lambda t=then: fresh().between(t, start), args.runs))
        )

    tickets = [
        Ticket(
            status="open",
            opened_at=datetime(2023, 9, 1, 8, 0) + timedelta(hours=i),
            due_at=datetime(2023, 9, 6, 8, 0) + timedelta(hours=i),
        )
        for i in range(50)
    ]

    def page():
        calendar = fresh()
        for ticket in tickets:
            due_state(ticket, start, calendar)

    rows.append(("due states: 50 tickets 3 years late", timed(page, args.runs)))

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ.setdefault("SECRET_KEY", "bench")
        from helpdesk import create_app
        from helpdesk.workcal.services import load_calendar

        app = create_app()
        with app.app_context():
            rows.append(("read the calendar (one query)", timed(load_calendar, args.runs)))

    width = max(len(label) for label, _ in rows)
    print(f"{'operation':<{width}}  median ms  slowest ms")
    for label, (median, slowest) in rows:
        print(f"{label:<{width}}  {median:9.3f}  {slowest:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
