"""Time the lookups a repeat call makes, on a generated history (bench/generate.py).

    .venv/bin/python bench/generate.py --tickets 200000 --months 24 \
        --database-url sqlite:////tmp/bench200k.sqlite3
    .venv/bin/python bench/bench_lookups.py --database-url sqlite:////tmp/bench200k.sqlite3

Prints, for each lookup, the median and the slowest of ``--runs`` runs (milliseconds) and the
number of SQL statements: the caller's history (full number), callers by the last six digits
(a suffix match no index serves), the open requests of a caller or dossier, the ticket list
searched by six digits, and the canned-answer picker. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench")

    from sqlalchemy import event, func, select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.tickets.answers import find_answers
    from helpdesk.tickets.merging import open_duplicates
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.queries import TicketFilter, ticket_page
    from helpdesk.tickets.services import caller_history, callers_ending_with

    app = create_app()
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        row = db.session.execute(
            select(Ticket.requester_phone, Ticket.dossier_code)
            .where(Ticket.requester_phone.is_not(None), Ticket.dossier_code.is_not(None))
            .order_by(Ticket.id.desc())
            .limit(1)
        ).first()
        if row is None:
            print("no ticket with a phone and a dossier code: run bench/generate.py first")
            return 1
        phone, dossier = row
        tail = phone[-6:]
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        cases = [
            ("caller history (full number)", lambda: caller_history(phone)),
            ("callers ending with 6 digits", lambda: callers_ending_with(tail)),
            ("open requests, caller or dossier", lambda: open_duplicates(phone, dossier)),
            ("ticket list, q = 6 digits", lambda: ticket_page(TicketFilter(q=tail), per_page=50)),
            ("canned answers, category + words", lambda: find_answers("late_dossier", "ho so")),
        ]
        print(f"{db.engine.dialect.name}, {total:,} tickets, {args.runs} runs each")
        print(f"{'lookup':<36} {'median ms':>10} {'max ms':>8} {'queries':>8}")
        for name, run in cases:
            times = []
            for _ in range(args.runs):
                statements.clear()
                db.session.expire_all()
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1000)
            print(
                f"{name:<36} {statistics.median(times):>10.1f} {max(times):>8.1f} "
                f"{len(statements):>8}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
